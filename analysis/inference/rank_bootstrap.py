"""Dual bootstrap of the rank methods spearman and rho-a, with noise ceilings, exact and compiled.

Each RDM is sorted once (`sort_rdm`). A bootstrap sample then needs, per RDM, one walk along that
order for its weighted ranks (rank_kernels.doubled_ranks), and per ROI the pooled RDMs of
`boot_noise_ceiling` ranked again (rank_kernels.pooled_ranks). Pools are shared where rsatoolbox's
would rank the same: a pool of one subject is that subject's own ranks, scaling the subject counts
does not change a ranking, and the "both" and "pattern" variants of one sample share their image
weights, so a sample needs at most S + 2 sorts per ROI (the "rdm" variant, on all images, sorts
once per distinct subject draw for the whole run). Samples run in parallel threads; ROIs are taken
in chunks so that memory stays bounded whatever the study's size.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np

from ..errors import AnalysisError
from ..executor import current
from ..reading.store import StoredRow, active_store, check_free
from ..runtime import progress_bar, worker_count
from . import rank_kernels as kernels
from .moments import Moments, similarity
from .noise_ceiling import ceiling_bounds

CHUNK_BYTES = 1.5e9  # one chunk of ROIs' sorted subject RDMs (mapped) and their ranks, over
# all threads; several ROIs a chunk share one float conversion of the models' ranks per pass
SAMPLE_BYTES = 3e9  # the models' ranks of the samples of every running task
MAX_BLOCK = 16  # samples per task at most
SORTED_FOLDER = "rank-sorted"  # in the store: every RDM's sort order, by content key
MAX_IMAGES = 1 << 15  # a pair's two images share one int32 word with a tie flag


@dataclass(frozen=True)
class SortedRDM:
    """One RDM's pairs in ascending order of dissimilarity, one int32 word each:
    first image << 16 | second image, negative when the next pair has the same value (a tie)."""

    pairs: np.ndarray


@lru_cache(maxsize=1)
def _triangle(n_images: int) -> np.ndarray:
    rows, cols = np.triu_indices(n_images, 1)
    return (rows.astype(np.int32) << 16) | cols.astype(np.int32)


def sort_rdm(vector: np.ndarray, n_images: int) -> SortedRDM:
    """Sort an RDM vector once; every sample's weighted ranks walk this order."""
    if n_images > MAX_IMAGES:
        raise AnalysisError(
            "bootstrap",
            f"{n_images} images are too many for the rank bootstrap (at most "
            f"{MAX_IMAGES}); use corr",
        )
    vector = np.asarray(vector, dtype=np.float64)
    order = np.argsort(vector)
    pairs = _triangle(n_images)[order]
    values = vector[order]
    pairs[:-1][values[1:] == values[:-1]] |= np.int32(-(2**31))
    return SortedRDM(pairs)


@dataclass(frozen=True)
class SampleRanks:
    """Doubled weighted ranks of one resampling, over its active pairs."""

    weights: np.ndarray
    ranks: np.ndarray  # RDMs × active pairs
    sums: np.ndarray  # Σ w·r per RDM
    squares: np.ndarray  # Σ w·r² per RDM

    @property
    def total(self) -> float:
        return float(self.weights.sum())


def sample_ranks(rdms: list[SortedRDM], counts: np.ndarray) -> SampleRanks:
    """Doubled weighted ranks of every RDM under one sample's image counts."""
    counts = np.ascontiguousarray(counts, dtype=np.int32)
    row, column, drawn = kernels.slot_tables(counts)
    weights = kernels.active_weights(counts, drawn)
    active = weights.shape[0]
    # Row t's spare slot is row t + 1's first entry, which that row's walk then writes (every
    # active pair gets a rank); the last row's is one extra entry. Rows stay C-contiguous.
    flat = np.empty(len(rdms) * active + 1, dtype=np.int32)
    for t, rdm in enumerate(rdms):
        out = flat[t * active : (t + 1) * active + 1]
        kernels.doubled_ranks(rdm.pairs, counts, row, column, out)
    ranks = flat[:-1].reshape(len(rdms), active)
    sums = np.full(len(rdms), kernels.rank_sum(weights))
    return SampleRanks(weights, ranks, sums, kernels.rank_squares(ranks, weights))


def rank_similarity(total, sum_a, sum_b, square_a, square_b, cross, method: str):
    """Weighted spearman (Pearson of ranks) or rho-a from sums of doubled ranks.

    A constant pooled RDM gives 0, as in noise_ceiling.pooled_similarity_ranks.
    """
    covariance = total * cross - sum_a * sum_b
    with np.errstate(divide="ignore", invalid="ignore"):  # fewer than 3 images drawn: dropped later
        if method == "rho-a":
            return 12.0 * covariance / 4.0 / np.float64(total * (total**3 - total))
        norm = np.sqrt((total * square_a - sum_a**2) * (total * square_b - sum_b**2))
        return np.where(norm > 0, covariance / norm, 0.0)


class _RoiPools:
    """compare(pool, subject) for the pools of one ROI under one sample, each pool ranked once.

    `pooled_row` (int32) and `packed` (int64) are scratch space of one word per active pair for
    one pooled RDM's ranks and sort keys, reused by every pool.
    """

    def __init__(
        self,
        ranks: SampleRanks,
        subjects: slice,
        gram: np.ndarray,
        method: str,
        pooled_row: np.ndarray,
        packed: np.ndarray,
    ):
        self.ranks, self.subjects, self.gram, self.method = ranks, subjects, gram, method
        self.pooled_row, self.packed = pooled_row, packed
        self.cache: dict[tuple, tuple[float, float, np.ndarray]] = {}

    def similarity(self, pool: np.ndarray, subject: int) -> float:
        nonzero = np.flatnonzero(pool)
        sums = self.ranks.sums[self.subjects]
        squares = self.ranks.squares[self.subjects]
        if nonzero.size == 1:  # one subject's ranks, ranked again, are themselves
            t = nonzero[0]
            pooled = (sums[t], squares[t], self.gram[t])
        else:
            key = tuple(pool // gcd(*pool[nonzero].tolist()))
            if key not in self.cache:
                subject_ranks = self.ranks.ranks[self.subjects]
                pool_counts = np.asarray(key, dtype=np.int64)
                kernels.pooled_ranks(
                    subject_ranks, pool_counts, self.ranks.weights, self.pooled_row, self.packed
                )
                cross, pooled_square = kernels.pooled_sums(
                    self.pooled_row, subject_ranks, self.ranks.weights
                )
                self.cache[key] = (
                    sums[0],
                    pooled_square,
                    cross,
                )  # every Σ w·r of one sample is the same
            pooled = self.cache[key]
        return float(
            rank_similarity(
                self.ranks.total,
                pooled[0],
                sums[subject],
                pooled[1],
                squares[subject],
                pooled[2][subject],
                self.method,
            )
        )

    def ceiling(self, counts: np.ndarray) -> tuple[float, float]:
        """Lower and upper bound as boot_noise_ceiling gives them for these subject counts."""
        counts = np.asarray(counts, dtype=np.int64)
        upper = np.zeros(counts.shape[0])
        lower = np.zeros(counts.shape[0])
        for s in np.flatnonzero(counts):
            upper[s] = self.similarity(counts, s)
            others = counts.copy()
            others[s] = 0
            lower[s] = self.similarity(others, s) if others.any() else np.nan
        bounds = ceiling_bounds(upper[None, None], lower[None, None], counts[None])
        return float(bounds[0][0, 0]), float(bounds[1][0, 0])


def _evaluate(
    models: SampleRanks,
    subjects: list[SortedRDM],
    n_subjects: int,
    counts: np.ndarray,
    ceiling_counts: np.ndarray,
    method: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject similarities (R, S, L) and ceilings (V, R, 2) of one image resampling, given
    the models' ranks under it (computed once per sample for every chunk of ROIs)."""
    ranks = sample_ranks(subjects, counts)
    n_rois = len(subjects) // n_subjects
    gram, moments_cross = kernels.roi_cross_sums(
        models.ranks, ranks.ranks, ranks.weights, n_subjects
    )
    ceilings = np.empty((ceiling_counts.shape[0], n_rois, 2))
    pooled_row = np.empty(ranks.weights.shape[0] if ceiling_counts.size else 0, dtype=np.int32)
    packed = np.empty(pooled_row.shape[0], dtype=np.int64)
    for r in range(n_rois if ceiling_counts.size else 0):
        subjects_of_roi = slice(r * n_subjects, (r + 1) * n_subjects)
        pools = _RoiPools(ranks, subjects_of_roi, gram[r], method, pooled_row, packed)
        for v, subject_counts in enumerate(ceiling_counts):
            ceilings[v, r] = pools.ceiling(subject_counts)
    moments = Moments(
        total=np.array([ranks.total]),
        model_sum=models.sums[None] / 2,
        model_square=models.squares[None] / 4,
        subject_sum=ranks.sums[None].reshape(1, n_rois, n_subjects) / 2,
        subject_gram=gram[None] / 4,
        cross=moments_cross[None] / 4,
    )
    return similarity(moments, method)[0], ceilings


def _roi_chunks(
    n_rois: int, n_subjects: int, n_models: int, n_pairs: int, threads: int
) -> list[range]:
    """ROIs per chunk so that one task's sorted subject RDMs (4 bytes a pair, mapped from the
    store) and their ranks (4 bytes an active pair, about 45% of the pairs) fit CHUNK_BYTES /
    threads (every thread holds one chunk). The models are ranked once per sample for all
    chunks, so they do not count here (n_models is unused)."""
    per_roi = n_subjects * n_pairs * 4 * 1.45 * max(1, threads)
    size = int(max(1, min(n_rois, CHUNK_BYTES // per_roi)))
    return [range(start, min(n_rois, start + size)) for start in range(0, n_rois, size)]


def _block_size(
    samples: int, n_models: int, n_pairs: int, slots: int, process_threads: int = 1
) -> int:
    """Samples per task: the models' ranks of the samples of every task running in one process
    (`process_threads` of them) fit SAMPLE_BYTES (about 40% of the pairs are active), and there
    are at least eight tasks for each of the `slots` that run at once, for balance (a task costs
    tens of seconds a sample at the deposit's size). Each task maps every ROI's sorted subjects
    once, so larger blocks map less."""
    per_sample = max(1, n_models) * n_pairs * 4 * 0.45
    by_memory = int(SAMPLE_BYTES // (per_sample * max(1, process_threads)))
    by_balance = -(-samples // (8 * max(1, slots)))
    return int(max(1, min(by_memory, by_balance, MAX_BLOCK)))


def _full_groups(n_chunks: int, slots: int, by_memory: int | None = None) -> list[range]:
    """The chunks of ROIs in at most 2 × `slots` consecutive groups, one task each for the data
    as they are (their model ranks are computed in each: two tasks a slot balance the slots at
    the cost of a few more model walks), and at most `by_memory` of them (how many full-data
    model ranks fit SAMPLE_BYTES in one process)."""
    limit = 2 * max(1, slots)
    n_groups = max(1, min(n_chunks, limit, n_chunks if by_memory is None else by_memory))
    bounds = [n_chunks * g // n_groups for g in range(n_groups + 1)]
    return [range(bounds[g], bounds[g + 1]) for g in range(n_groups)]


@dataclass(frozen=True)
class SortedSet:
    """Where a run's sorted RDMs are: SortedRDM objects, or paths of .npy files in the store that
    every worker reads. `token` names the run (each process keeps one run's models loaded)."""

    token: str
    models: list
    subjects: list  # [r][s]


_LOADED: dict[str, list[SortedRDM]] = {}  # this process's models of one run, by token
_LOADING = threading.Lock()


def _load(item) -> SortedRDM:
    """A SortedRDM as it is, or mapped read-only from its .npy file in the store: not copied,
    its pages come from the page cache, shared by every thread and process of the machine."""
    if isinstance(item, SortedRDM):
        return item
    return SortedRDM(np.asarray(np.load(item, mmap_mode="r")))


def _loaded_models(sorted_set: SortedSet) -> list[SortedRDM]:
    """The models' sorted RDMs, read once per process and run, shared by its threads."""
    with _LOADING:
        if sorted_set.token not in _LOADED:
            _LOADED.clear()
            _LOADED[sorted_set.token] = [_load(m) for m in sorted_set.models]
        return _LOADED[sorted_set.token]


def release_sorted() -> None:
    """Drop this process's loaded models."""
    with _LOADING:
        _LOADED.clear()


def sort_task(index: int, *, rows: list, n_images: int, paths: list[str | None], method: str):
    """Check and sort one RDM (rows[index]): into the store as .npy when paths[index] names a
    file (written under a temporary name, then renamed: never half-written), else returned as a
    SortedRDM. The check (dual_bootstrap.check_values: finite, not constant) is here, where every
    RDM is read anyway, rather than in a serial read of them all before the tasks; an RDM whose
    order is in the store was checked when it was sorted (its key is its content's)."""
    from .dual_bootstrap import check_values  # it imports this module

    vector = np.asarray(rows[index], dtype=np.float64)
    check_values(vector, method)
    rdm = sort_rdm(vector, n_images)
    if paths[index] is None:
        return rdm
    path = Path(paths[index])
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            np.save(handle, rdm.pairs)
        os.replace(temporary, path)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise AnalysisError(path.parent, f"cannot write sorted RDMs ({err.strerror})") from None
    return str(path)


def sorted_key(row, store) -> str | None:
    """A key of a stored row's content for its sort order in the store, or None when the row is not
    keyed by content (in memory). Store files are named by a content key; rows read in place from
    an input file take that file's sha256."""
    if store is None or not isinstance(row, StoredRow):
        return None
    path = Path(row.path).resolve()
    folder = Path(store.folder).resolve()
    content = path.stem if path.parent == folder else store.sha256.get(str(path))
    if content is None:
        return None
    return hashlib.sha256(f"{content}\0{row.offset}\0{row.n_pairs}".encode()).hexdigest()[:40]


def block_task(
    block: tuple[int, int],
    *,
    sorted_set: SortedSet,
    image_counts: np.ndarray,
    ceiling_counts: np.ndarray,
    full_counts: np.ndarray,
    n_subjects: int,
    chunks: list[range],
    method: str,
    full_groups: list[range] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Samples [start, stop): per-subject similarities (K, R, S, L) and ceilings (K, V, R, 2) for
    the subject counts ceiling_counts[b] (V × S) of each sample b. The block (-1, g) is the data
    as they are (every image once), with the subject counts full_counts[0], for the ROIs of the
    chunks full_groups[g] only (R of them): the data as they are cost a few samples (every pair
    is active, and every distinct subject draw has its ceilings), so they run as several tasks.

    The models are ranked once per sample; the subjects a chunk of ROIs at a time, each chunk's
    sorted RDMs read once for the block's samples. Every sample's numbers are computed by the
    same operations wherever the task runs, so the tables do not depend on the executor."""
    start, stop = block
    models = _loaded_models(sorted_set)
    if start < 0:
        counts = np.ones((1, image_counts.shape[1]), dtype=np.int32)
        subject_counts = full_counts
        chunks = [chunks[c] for c in full_groups[stop]]
    else:
        counts = np.asarray(image_counts[start:stop], dtype=np.int32)
        subject_counts = ceiling_counts[start:stop]
    model_ranks = [sample_ranks(models, c) for c in counts]
    first = chunks[0].start  # chunks are consecutive ranges of ROIs
    n_rois = sum(len(chunk) for chunk in chunks)
    sims = np.empty((len(counts), n_rois, n_subjects, len(models)))
    ceilings = np.empty((len(counts), subject_counts.shape[1], n_rois, 2))
    for chunk in chunks:
        subjects = [_load(sorted_set.subjects[r][s]) for r in chunk for s in range(n_subjects)]
        for i, sample_counts in enumerate(counts):
            sim, ceiling = _evaluate(
                model_ranks[i],
                subjects,
                n_subjects,
                sample_counts,
                subject_counts[i],
                method,
            )
            sims[i, chunk.start - first : chunk.stop - first] = sim
            ceilings[i, :, chunk.start - first : chunk.stop - first] = ceiling
        del subjects
    return sims, ceilings


def _sorted_set(rows, model_rows, n_images: int, executor, method: str) -> SortedSet:
    """Sort every RDM once, as tasks. With a store, each order is kept there under a key of its
    RDM's content (rank-sorted/KEY.npy, 4 bytes a pair), read by every thread and worker, and
    reused by later runs over the same files; in memory otherwise (and sent to Dask workers)."""
    store = active_store()
    flat = list(model_rows) + [row for roi in rows for row in roi]
    keys = [sorted_key(row, store) for row in flat]
    if store is not None and all(keys):
        folder = Path(store.folder) / SORTED_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        paths = [str(folder / f"{key}.npy") for key in keys]
        missing = [i for i, path in enumerate(paths) if not Path(path).is_file()]
        check_free(folder, len(missing) * 2 * n_images**2, "the rank bootstrap's sorted RDMs")
    else:
        paths, missing = [None] * len(flat), list(range(len(flat)))
    done = list(paths)
    results = executor.map(
        sort_task, missing, rows=flat, n_images=n_images, paths=paths, method=method
    )
    for i, result in zip(missing, results, strict=True):
        done[i] = result
    n_models, n_subjects = len(model_rows), len(rows[0])
    subjects = [
        done[n_models + r * n_subjects : n_models + (r + 1) * n_subjects] for r in range(len(rows))
    ]
    return SortedSet(uuid.uuid4().hex, done[:n_models], subjects)


def rank_dual_bootstrap(
    rows,
    model_rows,
    image_counts: np.ndarray,
    subject_counts: np.ndarray,
    method: str,
    progress: bool = False,
    ceilings: bool = True,
):
    """Per-sample similarities and ceilings of the three variants, as dual_bootstrap expects.

    rows[r][s]: subject vectors; model_rows: layer vectors. Returns evaluations' inputs
    (pattern similarities B × R × S × L, full-data similarities R × S × L), ceilings
    B × R × 2 × 3 (both, rdm, pattern) and the full-data ceiling R × 2. Without `ceilings`
    (a caller that needs the similarities only) the ceilings are NaN and not computed: their
    pooled re-ranks are most of a sample's cost.

    Runs on the run's executor (threads of this process, or Dask workers): tasks over blocks of
    samples, every RDM sorted once beforehand (kept in the store when there is one).
    """
    samples, n_images = image_counts.shape
    n_rois, n_subjects, n_models = len(rows), len(rows[0]), len(model_rows)
    n_pairs = n_images * (n_images - 1) // 2
    if n_images > MAX_IMAGES:
        sort_rdm(np.zeros(0), n_images)  # the one clear error
    subject_counts = np.asarray(subject_counts, dtype=np.int64)
    everyone = np.ones((1, n_subjects), dtype=np.int64)
    draws, draw_of_sample = np.unique(subject_counts, axis=0, return_inverse=True)
    executor = current().executor
    chunks = _roi_chunks(n_rois, n_subjects, n_models, n_pairs, worker_count())
    sorted_set = _sorted_set(rows, model_rows, n_images, executor, method)
    shared = {
        "sorted_set": sorted_set,
        "n_subjects": n_subjects,
        "chunks": chunks,
        "method": method,
    }
    size = _block_size(samples, n_models, n_pairs, executor.slots, executor.process_threads)
    blocks = [(s, min(samples, s + size)) for s in range(0, samples, size)]
    per_sample = np.stack([subject_counts, np.broadcast_to(everyone, subject_counts.shape)], 1)
    full_counts = np.vstack([everyone, draws])[None]
    if not ceilings:  # no subject counts to pool: no ceiling is computed
        per_sample, full_counts = per_sample[:, :0], full_counts[:, :0]
    pattern_sim = np.empty((samples, n_rois, n_subjects, n_models))
    ceiling = np.full((samples, n_rois, 2, 3), np.nan)
    point_ceiling = np.full((n_rois, 2), np.nan)
    bar = progress_bar(samples + 1, f"bootstrap ({method})", progress)
    full_bytes = max(1, n_models) * n_pairs * 4 * max(1, executor.process_threads)
    full_groups = _full_groups(len(chunks), executor.slots, int(SAMPLE_BYTES // full_bytes))
    try:  # the data as they are run as a few more tasks (groups of chunks), beside the blocks
        done = executor.map(
            block_task,
            [*((-1, g) for g in range(len(full_groups))), *blocks],
            image_counts=np.asarray(image_counts, dtype=np.int16),
            ceiling_counts=per_sample,
            full_counts=full_counts,
            full_groups=full_groups,
            **shared,
        )
        full_parts = [next(done) for _ in full_groups]
        full_sim = np.concatenate([sims for sims, _ in full_parts], axis=1)
        full_ceilings = np.concatenate([ceilings for _, ceilings in full_parts], axis=2)
        bar.update(1)
        if ceilings:
            point_ceiling = full_ceilings[0, 0]
            ceiling[..., 1] = full_ceilings[0, 1:][draw_of_sample.ravel()]
        for (start, stop), (sims, block_ceilings) in zip(blocks, done, strict=True):
            pattern_sim[start:stop] = sims
            if ceilings:
                ceiling[start:stop, :, :, 0] = block_ceilings[:, 0]
                ceiling[start:stop, :, :, 2] = block_ceilings[:, 1]
            bar.update(stop - start)
    finally:
        bar.close()
        executor.release(release_sorted)
    return pattern_sim, full_sim[0], ceiling, point_ceiling
