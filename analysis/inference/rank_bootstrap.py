"""Dual bootstrap of the rank methods spearman and rho-a, with noise ceilings, exact and compiled.

Each RDM is sorted once (`sort_rdm`). A bootstrap sample then needs, per RDM, one walk along that
order for its weighted ranks (rank_kernels.doubled_ranks), and per ROI the pooled RDMs of
`boot_noise_ceiling` ranked again: a pool compared with one subject (or with its own two) sorts
key | weight | that subject's ranks and takes its sums in one sequential walk
(rank_kernels.payload_sums), any other writes each pair's rank (rank_kernels.pooled_ranks,
pooled_sums). Pools are shared where rsatoolbox's
would rank the same: a pool of one subject is that subject's own ranks, scaling the subject counts
does not change a ranking, and the "both" and "pattern" variants of one sample share their image
weights, so a sample needs at most S + 2 sorts per ROI (the "rdm" variant, on all images, sorts
once per distinct subject draw for the whole run). Samples run in parallel threads; ROIs are taken
in chunks so that memory stays bounded whatever the study's size. With `splits` (the
cross-validated network comparison), each sample's walk also writes its active pairs in sort order
and the two folds of each split of its images walk those together (`sample_and_fold_ranks`): the
folds' similarities come from the bootstrap's own tasks, with the integers of walks of their own.
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

CHUNK_BYTES = 1.7e9  # one chunk of ROIs' ranks (and the sorted RDM being walked), over all
# threads; several ROIs a chunk share one float conversion of the models' ranks per pass
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
    squares: np.ndarray | None  # Σ w·r² per RDM; None for subjects (roi_cross_sums' gram diagonal)

    @property
    def total(self) -> float:
        return float(self.weights.sum())


_SCRATCH: dict[int, dict[str, np.ndarray]] = {}  # per thread: its reused arrays, by name
_SCRATCH_LOCK = threading.Lock()


def _scratch(name: str, size: int, dtype: type = np.int32, room: int = 0) -> np.ndarray:
    """`size` words for this thread's `name`, the same memory for its later calls (dropped by
    release_sorted): a fresh array of ranks costs its page faults on every sample (a 19 MB walk
    took 0.072 CPU s into a fresh array, 0.060 into a reused one). Made for `room` words when
    larger (the run's largest sample, active_room), else grown when too small: a growth zeroes
    fresh huge pages (4.3 s of system time for the models' ranks of one thread at 4916 images)."""
    with _SCRATCH_LOCK:
        buffers = _SCRATCH.setdefault(threading.get_ident(), {})
    buffer = buffers.get(name)
    if buffer is None or buffer.shape[0] < size or buffer.dtype != dtype:
        buffer = buffers[name] = np.empty(max(size, room), dtype=dtype)
    return buffer[:size]


def _words(
    name: str, size: int, scratch: str | None, dtype: type = np.int32, room: int = 0
) -> np.ndarray:
    """`size` words of this thread's reused memory named `scratch` + `name` (made for `room`),
    or fresh ones."""
    if scratch is None:
        return np.empty(size, dtype=dtype)
    return _scratch(f"{scratch} {name}", size, dtype, room)


def split_fold_counts(counts: np.ndarray, labels: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """The image counts of the two folds of each split (..., splits, 2, n): fold f of split s has
    base_s · (labels_s == f), base_s the counts (..., n) or, where ones[s], every image once, as
    crossvalidated.fold_counts. labels: (..., splits, n), values −1, 0, 1. Boolean counts (drawn
    or not) give the folds' drawn images."""
    counts, labels = np.asarray(counts), np.asarray(labels)
    ones = np.asarray(ones, dtype=bool)
    if ones.shape != labels.shape[-2:-1]:
        raise ValueError(f"{ones.shape[0]} ones flags for {labels.shape[-2]} splits")
    base = np.where(ones[:, None], np.ones_like(counts)[..., None, :], counts[..., None, :])
    return base[..., None, :] * (labels[..., None, :] == np.arange(2)[:, None])


def _most_pairs(drawn: np.ndarray) -> np.ndarray:
    """The most pairs of drawn images (drawn: B × ... × n) over the first axis (...)."""
    n = drawn.sum(axis=-1, dtype=np.int64)
    return (n * (n - 1) // 2).max(axis=0, initial=0)


def active_room(
    image_counts: np.ndarray, labels: np.ndarray | None = None, ones: np.ndarray | None = None
) -> tuple[int, tuple[int, ...]]:
    """The most active pairs of any sample of a run (image counts B × n), and of each fold
    position of its splits (labels B × splits × n, ones: as sample_folds takes them): a thread's
    reused memory is made once for the largest sample of the run, instead of growing with each
    larger one (about ln B times a run)."""
    drawn = np.asarray(image_counts) > 0
    if labels is None:
        return int(_most_pairs(drawn)), ()
    folds = _most_pairs(split_fold_counts(drawn, labels, ones))
    return int(_most_pairs(drawn)), tuple(int(most) for most in folds.ravel())


def sample_ranks(
    rdms: list[SortedRDM | str],
    counts: np.ndarray,
    scratch: str | None = None,
    squares: bool = True,
    room: int = 0,
) -> SampleRanks:
    """Doubled weighted ranks of every RDM under one sample's image counts. An RDM given as the
    path of its sorted order is mapped for its walk only (_load). With `scratch` (a name), in
    this thread's reused memory of that name: valid until its next call with it, made for `room`
    active pairs (active_room). Without `squares`, no Σ w·r² (a subject's is its diagonal of
    roi_cross_sums' gram)."""
    counts = np.ascontiguousarray(counts, dtype=np.int32)
    row, column, drawn = kernels.slot_tables(counts)
    weights = kernels.active_weights(counts, drawn)
    active = weights.shape[0]
    # Row t's spare slot is row t + 1's first entry, which that row's walk then writes (every
    # active pair gets a rank); the last row's is one extra entry. Rows stay C-contiguous.
    flat = _words("ranks", len(rdms) * active + 1, scratch, room=len(rdms) * room + 1)
    # With images not drawn, the two-phase walk (no write for their pairs) is faster: 0.049
    # against 0.058 CPU s a 12 M pair RDM at 4916 images; with every pair active, 0.115 against
    # 0.098, so the one-phase walk.
    two_phase = active < counts.shape[0] * (counts.shape[0] - 1) // 2
    if two_phase:
        order = _scratch("walk order", active + 1, room=room + 1)
        values = _scratch("walk values", active + 1, room=room + 1)
    for t, rdm in enumerate(rdms):
        out = flat[t * active : (t + 1) * active + 1]
        pairs = _load(rdm).pairs  # mapped for this RDM's walk only
        if two_phase:
            kernels.doubled_ranks_and_order(pairs, counts, row, column, out, order, values)
        else:
            kernels.doubled_ranks(pairs, counts, row, column, out)
    return _sample_ranks(flat[:-1].reshape(len(rdms), active), weights, squares)


def _sample_ranks(ranks: np.ndarray, weights: np.ndarray, squares: bool = True) -> SampleRanks:
    sums = np.full(ranks.shape[0], kernels.rank_sum(weights))
    return SampleRanks(
        weights, ranks, sums, kernels.rank_squares(ranks, weights) if squares else None
    )


@dataclass(frozen=True)
class Fold:
    """One fold of a resampling's images (the cross-validated network comparison): its image
    counts, their slot_tables and active weights; `within`: its counts are zero wherever the
    sample's are (a fold of the sample's own images), so its pairs are among the sample's."""

    counts: np.ndarray
    row: np.ndarray
    column: np.ndarray
    weights: np.ndarray
    within: bool
    room: int = 0  # the most active pairs of this fold position in the run (active_room)


def sample_folds(
    counts: np.ndarray, labels: np.ndarray, ones: np.ndarray, rooms: tuple[int, ...] = ()
) -> list[Fold]:
    """The folds of one resampling with image counts `counts` (n): labels (splits × n, values −1,
    0, 1) split the base counts of each split (split_fold_counts); fold f of split s is at
    position 2·s + f. rooms: each fold position's room (active_room), or none."""
    counts = np.asarray(counts, dtype=np.int32)
    labels = np.asarray(labels)
    if labels.size and labels.max() > 1:
        raise ValueError("the fold ranks take two folds a split")
    ones = np.asarray(ones, dtype=bool)
    every_drawn = bool((counts > 0).all())
    folds = []
    for q, fold in enumerate(split_fold_counts(counts, labels, ones).reshape(-1, counts.shape[0])):
        fold_counts = np.ascontiguousarray(fold, dtype=np.int32)
        row, column, drawn = kernels.slot_tables(fold_counts)
        weights = kernels.active_weights(fold_counts, drawn)
        within = not ones[q // 2] or every_drawn
        folds.append(Fold(fold_counts, row, column, weights, within, rooms[q] if rooms else 0))
    return folds


def sample_and_fold_ranks(
    rdms: list[SortedRDM | str],
    counts: np.ndarray,
    folds: list[Fold],
    scratch: str | None = None,
    squares: bool = True,
    room: int = 0,
) -> tuple[SampleRanks, list[SampleRanks]]:
    """sample_ranks, and the doubled weighted ranks of every RDM within each fold (as
    sample_ranks of the fold's counts gives them, the same integers): each RDM's order is walked
    once for the sample, which writes its active pairs in order, and the two folds of a split of
    the sample's images walk those (about 40% of the pairs) together, instead of the whole order
    twice. Folds as sample_folds gives them: the two of split s at positions 2·s and 2·s + 1.
    With `scratch` (and `room`), in this thread's reused memory, and `squares`, as
    sample_ranks."""
    counts = np.ascontiguousarray(counts, dtype=np.int32)
    row, column, drawn = kernels.slot_tables(counts)
    weights = kernels.active_weights(counts, drawn)
    active = weights.shape[0]
    flat = _words("ranks", len(rdms) * active + 1, scratch, room=len(rdms) * room + 1)
    sizes = [fold.weights.shape[0] for fold in folds]
    fold_flats = [
        _words(f"fold {q}", len(rdms) * size + 1, scratch, room=len(rdms) * fold.room + 1)
        for q, (size, fold) in enumerate(zip(sizes, folds, strict=True))
    ]
    # one RDM's active pairs and their ranks, reused by every RDM (and every call of the thread)
    order = _scratch("walk order", active + 1, room=room + 1)
    values = _scratch("walk values", active + 1, room=room + 1)
    for t, rdm in enumerate(rdms):
        out = flat[t * active : (t + 1) * active + 1]
        pairs = _load(rdm).pairs  # mapped for this RDM's walks only
        kept = kernels.doubled_ranks_and_order(pairs, counts, row, column, out, order, values)
        outs = [
            fold_flat[t * size : (t + 1) * size + 1]
            for size, fold_flat in zip(sizes, fold_flats, strict=True)
        ]
        for q in range(0, len(folds), 2):
            first, second = folds[q], folds[q + 1]
            if first.within and second.within:
                kernels.split_doubled_ranks(
                    order[:kept],
                    first.counts,
                    first.row,
                    first.column,
                    outs[q],
                    second.counts,
                    second.row,
                    second.column,
                    outs[q + 1],
                )
                continue
            for fold, fold_out in ((first, outs[q]), (second, outs[q + 1])):
                kernels.doubled_ranks(pairs, fold.counts, fold.row, fold.column, fold_out)
    fold_ranks = [
        _sample_ranks(fold_flat[:-1].reshape(len(rdms), size), fold.weights, squares)
        for fold, size, fold_flat in zip(folds, sizes, fold_flats, strict=True)
    ]
    return _sample_ranks(flat[:-1].reshape(len(rdms), active), weights, squares), fold_ranks


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


def _pool_key(pool: np.ndarray) -> tuple[int, ...]:
    """A pool's subject counts divided by their gcd: scaling a pool changes no rank."""
    return tuple((pool // gcd(*pool[np.flatnonzero(pool)].tolist())).tolist())


def pool_requests(ceiling_counts: np.ndarray) -> dict[tuple[int, ...], set[int]]:
    """Every pool of two or more subjects that the ceilings of these subject counts compare with
    a subject: the full pool with each of its subjects, each leave-one-out pool with the
    subject left out. One key can serve several variants ("both" drawing (1, 1, 0) is also
    "pattern"'s pool without subject 2).

    Parameters
    ----------
    ceiling_counts : (V, S) subject counts of the ceiling variants of one sample.

    Returns
    -------
    dict : pool key (_pool_key, gcd-normalised counts) → the subjects it is compared with.
    """
    requests: dict[tuple[int, ...], set[int]] = {}
    for counts in np.asarray(ceiling_counts, dtype=np.int64):
        for s in np.flatnonzero(counts):
            others = counts.copy()
            others[s] = 0
            for pool in (counts, others):
                if np.count_nonzero(pool) > 1:
                    requests.setdefault(_pool_key(pool), set()).add(int(s))
    return requests


def _carried(key: tuple[int, ...], subjects: set[int]) -> tuple[int, int | None] | None:
    """Which subject's ranks a payload sort of pool `key` carries, and which one it derives
    from Σ w·p·K (None: none), for the cross sums with `subjects`; None: it needs every row
    (the index path)."""
    if len(subjects) == 1:
        return next(iter(subjects)), None
    support = {t for t, times in enumerate(key) if times}
    if len(subjects) == 2 and subjects == support:
        # carry the smaller count: the derived sum (Σ w·p·K − key_c X_c) / key_d cancels less
        carry, derived = sorted(subjects, key=lambda t: (key[t], t))
        return carry, derived
    return None


class _RoiPools:
    """compare(pool, subject) for the pools of one ROI under one sample, each pool ranked once.
    `gram`: the ROI's Σ w·r·r' of its subjects' doubled ranks (roi_cross_sums); its diagonal
    gives each subject's Σ w·r².
    `requests` (pool_requests): every pool's subjects, known before any pool is ranked, so that
    a pool compared with one subject (or with its own two) takes the payload sort
    (rank_kernels.payload_sums) and the others the index path (pooled_ranks, pooled_sums).
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
        requests: dict[tuple[int, ...], set[int]] | None = None,
    ):
        self.ranks, self.subjects, self.gram, self.method = ranks, subjects, gram, method
        self.pooled_row, self.packed = pooled_row, packed
        self.requests = {} if requests is None else dict(requests)  # its own: may grow
        self.rank_max = 2 * int(ranks.weights.sum(dtype=np.int64)) + 1  # bounds every rank
        self.cache: dict[tuple, tuple[float, float, np.ndarray]] = {}

    def _pooled(self, key: tuple[int, ...], subject: int) -> tuple[float, np.ndarray]:
        """Σ w·p² and Σ w·p·r_t (NaN for the subjects t not requested) of pool `key`."""
        subject_ranks = self.ranks.ranks[self.subjects]
        pool = np.asarray(key, dtype=np.int64)
        weights = self.ranks.weights
        self.requests[key] = self.requests.get(key, set()) | {subject}  # when not planned
        carried = _carried(key, self.requests[key])
        if carried is not None:
            carry, derived = carried
            sums = kernels.payload_sums(
                subject_ranks, pool, weights, carry, self.packed, self.rank_max
            )
            if sums is not None:  # else too many bits for one word: the index path
                cross = np.full(subject_ranks.shape[0], np.nan)
                cross[carry] = sums[0]
                if derived is not None:
                    cross[derived] = (sums[1] - key[carry] * sums[0]) / key[derived]
                return sums[2], cross
        kernels.pooled_ranks(
            subject_ranks, pool, weights, self.pooled_row, self.packed, self.rank_max
        )
        cross, square = kernels.pooled_sums(self.pooled_row, subject_ranks, weights)
        return square, cross

    def similarity(self, pool: np.ndarray, subject: int) -> float:
        nonzero = np.flatnonzero(pool)
        sums = self.ranks.sums[self.subjects]
        squares = np.diagonal(self.gram)  # each subject's Σ w·r², from roi_cross_sums
        if nonzero.size == 1:  # one subject's ranks, ranked again, are themselves
            t = nonzero[0]
            pooled = (sums[t], squares[t], self.gram[t])
        else:
            key = _pool_key(pool)
            if key not in self.cache or np.isnan(self.cache[key][2][subject]):
                square, cross = self._pooled(key, subject)
                self.cache[key] = (sums[0], square, cross)  # every Σ w·r of one sample is the same
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
    fold_models: list[SampleRanks] | None = None,
    folds: list[Fold] | None = None,
    room: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-subject similarities (R, S, L) and ceilings (V, R, 2) of one image resampling, given
    the models' ranks under it (computed once per sample for every chunk of ROIs); with `folds`,
    also every fold's per-subject similarities (Q, R, S, L) from the same walks of the subjects
    (fold_models: the models' ranks in each fold). room: the run's most active pairs
    (active_room), for the reused memory."""
    if folds is None:  # the subjects' ranks live in this call only: reused memory
        ranks = sample_ranks(subjects, counts, scratch="subjects", squares=False, room=room)
        fold_ranks = []
    else:
        ranks, fold_ranks = sample_and_fold_ranks(
            subjects, counts, folds, scratch="subjects", squares=False, room=room
        )
    n_rois = len(subjects) // n_subjects
    gram, moments_cross = kernels.roi_cross_sums(
        models.ranks, ranks.ranks, ranks.weights, n_subjects
    )
    ceilings = np.empty((ceiling_counts.shape[0], n_rois, 2))
    pooled, pool_room = (ranks.weights.shape[0], room) if ceiling_counts.size else (0, 0)
    pooled_row = _scratch("pooled", pooled, room=pool_room)
    packed = _scratch("packed", pooled, np.int64, room=pool_room)
    requests = pool_requests(ceiling_counts)  # the same for every ROI of the sample
    for r in range(n_rois if ceiling_counts.size else 0):
        subjects_of_roi = slice(r * n_subjects, (r + 1) * n_subjects)
        pools = _RoiPools(ranks, subjects_of_roi, gram[r], method, pooled_row, packed, requests)
        for v, subject_counts in enumerate(ceiling_counts):
            ceilings[v, r] = pools.ceiling(subject_counts)
    sim = _similarity(models, ranks, gram, moments_cross, n_subjects, method)
    fold_sims = np.empty((len(fold_ranks), n_rois, n_subjects, models.ranks.shape[0]))
    for q, (fold_model, fold_subject) in enumerate(zip(fold_models or [], fold_ranks, strict=True)):
        fold_gram, fold_cross = kernels.roi_cross_sums(
            fold_model.ranks, fold_subject.ranks, fold_subject.weights, n_subjects
        )
        fold_sims[q] = _similarity(
            fold_model, fold_subject, fold_gram, fold_cross, n_subjects, method
        )
    return sim, ceilings, fold_sims


def _similarity(
    models: SampleRanks,
    ranks: SampleRanks,
    gram: np.ndarray,
    cross: np.ndarray,
    n_subjects: int,
    method: str,
) -> np.ndarray:
    """Per-subject similarities (R, S, L) from one resampling's sums of doubled ranks."""
    n_rois = gram.shape[0]
    moments = Moments(
        total=np.array([ranks.total]),
        model_sum=models.sums[None] / 2,
        model_square=models.squares[None] / 4,
        subject_sum=ranks.sums[None].reshape(1, n_rois, n_subjects) / 2,
        subject_gram=gram[None] / 4,
        cross=cross[None] / 4,
    )
    return similarity(moments, method)[0]


def _roi_chunks(
    n_rois: int,
    n_subjects: int,
    n_models: int,
    n_pairs: int,
    threads: int,
    fold_share: float = 0.0,
) -> list[range]:
    """ROIs per chunk so that one task's ranks of its subjects (4 bytes an active pair, about 45%
    of the pairs, plus `fold_share` of the pairs for the folds' ranks, FoldSplits.pair_share)
    and the one sorted subject RDM it walks (4 bytes a pair, mapped from the store for its walk
    only) fit CHUNK_BYTES / threads (every thread holds one chunk). The models are ranked once
    per sample for all chunks, so they do not count here (n_models is unused). Every chunk
    streams the models' ranks once through the cross sums, so fewer, larger chunks cost less."""
    threads = max(1, threads)
    per_roi = n_subjects * n_pairs * 4 * (0.45 + fold_share) * threads
    size = int(max(1, min(n_rois, (CHUNK_BYTES - threads * n_pairs * 4) // per_roi)))
    return [range(start, min(n_rois, start + size)) for start in range(0, n_rois, size)]


def _block_size(
    samples: int,
    n_models: int,
    n_pairs: int,
    slots: int,
    process_threads: int = 1,
    fold_share: float = 0.0,
) -> int:
    """Samples per task: the models' ranks of the samples of every task running in one process
    (`process_threads` of them) fit SAMPLE_BYTES (about 40% of the pairs are active, and the
    folds' ranks add `fold_share` of the pairs), and there are at least eight tasks for each of
    the `slots` that run at once, for balance (a task costs tens of seconds a sample at the
    deposit's size). Each task maps every ROI's sorted subjects once, so larger blocks map
    less."""
    per_sample = max(1, n_models) * n_pairs * 4 * (0.45 + fold_share)
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
    """Drop this process's loaded models and its threads' reused memory."""
    with _LOADING:
        _LOADED.clear()
    with _SCRATCH_LOCK:
        _SCRATCH.clear()


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


@dataclass(frozen=True)
class FoldSplits:
    """Two-fold splits of the images whose fold similarities the bootstrap computes in its own
    walks (the cross-validated network comparison, crossvalidated.rank_fold_plan).

    labels: B × splits × n (int8, −1, 0 or 1), each sample's splits of its base counts, the
    sample's image counts or, where ones[s], every image once; full: splits × n labels of every
    image once (splits shared by every sample), each fold computed once a run as a task of its
    own.
    """

    labels: np.ndarray
    ones: np.ndarray
    full: np.ndarray

    def pair_share(self) -> float:
        """The folds' ranks of a sample as a share of all pairs: each split's two folds hold
        about half its base's active pairs (about 45% of the pairs with the sample's counts)."""
        ones = int(np.count_nonzero(self.ones))
        return 0.5 * (0.45 * (len(self.ones) - ones) + ones)


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
    splits: FoldSplits | None = None,
    rooms: tuple[int, tuple[int, ...]] = (0, ()),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples [start, stop): per-subject similarities (K, R, S, L) and ceilings (K, V, R, 2) for
    the subject counts ceiling_counts[b] (V × S) of each sample b, and the per-subject
    similarities in each fold of `splits` (K, Q, R, S, L; Q = 0 without). The block (-1, g) is
    the data as they are (every image once), with the subject counts full_counts[0], for the ROIs
    of the chunks full_groups[g] only (R of them): the data as they are cost a few samples (every
    pair is active, and every distinct subject draw has its ceilings), so they run as several
    tasks. The block (-2, q) is fold q (2·split + fold) of splits.full, every image of it once,
    without ceilings: its own task, whose models' ranks hold a quarter of the pairs (in the task
    of the data as they are they would double its memory, and a walk of every pair costs the
    same either way).

    The models are ranked once per sample; the subjects a chunk of ROIs at a time, each chunk's
    sorted RDMs read once for the block's samples (and each fold's ranks written in the same
    walks). Every sample's numbers are computed by the same operations wherever the task runs, so
    the tables do not depend on the executor. rooms: the run's active_room, for the reused
    memory of the samples (the other blocks take fresh arrays or the size they need)."""
    start, stop = block
    models = _loaded_models(sorted_set)
    labels = ones = None
    room, fold_rooms = rooms if start >= 0 else (0, ())
    if start == -1:
        counts = np.ones((1, image_counts.shape[1]), dtype=np.int32)
        subject_counts = full_counts
        chunks = [chunks[c] for c in full_groups[stop]]
    elif start == -2:  # fold `stop` of the splits shared by every sample: a sample of its own
        split, fold = divmod(stop, 2)
        counts = (splits.full[split] == fold).astype(np.int32)[None]
        subject_counts = full_counts[:, :0]  # no ceilings
    else:
        counts = np.asarray(image_counts[start:stop], dtype=np.int32)
        subject_counts = ceiling_counts[start:stop]
        labels = None if splits is None else splits.labels[start:stop]
        ones = None if splits is None else splits.ones
    # A block of samples ranks its models into this thread's reused memory, one set per position
    # in the block: fresh arrays, held for the block, cost their page faults on every sample
    # (0.169 against 0.119 CPU s a model's sample and fold walks at 4916 images, blocks of 3).
    # _block_size keeps the block's model ranks within SAMPLE_BYTES whether reused or not; the
    # data as they are (every pair active) run once and take fresh arrays, so that the reused
    # memory keeps a sample's size.
    scratch = [f"models {i}" if start >= 0 else None for i in range(len(counts))]
    if labels is None or labels.shape[1] == 0:
        folds = [None] * len(counts)
        model_ranks = [
            (sample_ranks(models, c, scratch=s, room=room), [])
            for c, s in zip(counts, scratch, strict=True)
        ]
    else:
        folds = [sample_folds(c, labels[i], ones, fold_rooms) for i, c in enumerate(counts)]
        model_ranks = [
            sample_and_fold_ranks(models, c, f, scratch=s, room=room)
            for c, f, s in zip(counts, folds, scratch, strict=True)
        ]
    first = chunks[0].start  # chunks are consecutive ranges of ROIs
    n_rois = sum(len(chunk) for chunk in chunks)
    n_folds = 0 if folds[0] is None else len(folds[0])
    sims = np.empty((len(counts), n_rois, n_subjects, len(models)))
    ceilings = np.empty((len(counts), subject_counts.shape[1], n_rois, 2))
    fold_sims = np.empty((len(counts), n_folds, n_rois, n_subjects, len(models)))
    for chunk in chunks:
        subjects = [sorted_set.subjects[r][s] for r in chunk for s in range(n_subjects)]
        where = slice(chunk.start - first, chunk.stop - first)
        for i, sample_counts in enumerate(counts):
            sim, ceiling, fold_sim = _evaluate(
                model_ranks[i][0],
                subjects,
                n_subjects,
                sample_counts,
                subject_counts[i],
                method,
                model_ranks[i][1],
                folds[i],
                room,
            )
            sims[i, where] = sim
            ceilings[i, :, where] = ceiling
            fold_sims[i, :, where] = fold_sim
        del subjects
    return sims, ceilings, fold_sims


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
    splits: FoldSplits | None = None,
):
    """Per-sample similarities and ceilings of the three variants, as dual_bootstrap expects.

    rows[r][s]: subject vectors; model_rows: layer vectors. Returns evaluations' inputs
    (pattern similarities B × R × S × L, full-data similarities R × S × L), ceilings
    B × R × 2 × 3 (both, rdm, pattern) and the full-data ceiling R × 2. Without `ceilings`
    (a caller that needs the similarities only) the ceilings are NaN and not computed: their
    pooled re-ranks are most of a sample's cost. With `splits`, two more: the per-subject
    similarities in every fold of each sample's splits (B × Q × R × S × L, fold q = 2·split +
    fold; from the same walks) and of the splits shared by every sample (Q' × R × S × L; one
    task each, once a run).

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
    fold_share = 0.0 if splits is None else splits.pair_share()
    n_full_folds = 0 if splits is None else 2 * splits.full.shape[0]
    chunks = _roi_chunks(n_rois, n_subjects, n_models, n_pairs, worker_count(), fold_share)
    sorted_set = _sorted_set(rows, model_rows, n_images, executor, method)
    shared = {
        "sorted_set": sorted_set,
        "n_subjects": n_subjects,
        "chunks": chunks,
        "method": method,
        "splits": splits,
        "rooms": active_room(
            image_counts,
            None if splits is None else splits.labels,
            None if splits is None else splits.ones,
        ),
    }
    size = _block_size(
        samples, n_models, n_pairs, executor.slots, executor.process_threads, fold_share
    )
    blocks = [(s, min(samples, s + size)) for s in range(0, samples, size)]
    per_sample = np.stack([subject_counts, np.broadcast_to(everyone, subject_counts.shape)], 1)
    full_counts = np.vstack([everyone, draws])[None]
    if not ceilings:  # no subject counts to pool: no ceiling is computed
        per_sample, full_counts = per_sample[:, :0], full_counts[:, :0]
    pattern_sim = np.empty((samples, n_rois, n_subjects, n_models))
    n_folds = 0 if splits is None else 2 * splits.labels.shape[1]
    fold_sim = np.empty((samples, n_folds, n_rois, n_subjects, n_models))
    ceiling = np.full((samples, n_rois, 2, 3), np.nan)
    point_ceiling = np.full((n_rois, 2), np.nan)
    bar = progress_bar(samples + 1, f"bootstrap ({method})", progress)
    full_bytes = max(1, n_models) * n_pairs * 4 * max(1, executor.process_threads)
    full_groups = _full_groups(len(chunks), executor.slots, int(SAMPLE_BYTES // full_bytes))
    try:  # the data as they are run as a few more tasks (groups of chunks), beside the blocks
        done = executor.map(
            block_task,
            [
                *((-1, g) for g in range(len(full_groups))),
                *((-2, q) for q in range(n_full_folds)),
                *blocks,
            ],
            image_counts=np.asarray(image_counts, dtype=np.int16),
            ceiling_counts=per_sample,
            full_counts=full_counts,
            full_groups=full_groups,
            **shared,
        )
        full_parts = [next(done) for _ in full_groups]
        full_sim = np.concatenate([part[0] for part in full_parts], axis=1)
        full_ceilings = np.concatenate([part[1] for part in full_parts], axis=2)
        full_fold_sim = np.empty((n_full_folds, n_rois, n_subjects, n_models))
        for q in range(n_full_folds):
            full_fold_sim[q] = next(done)[0][0]
        bar.update(1)
        if ceilings:
            point_ceiling = full_ceilings[0, 0]
            ceiling[..., 1] = full_ceilings[0, 1:][draw_of_sample.ravel()]
        for (start, stop), (sims, block_ceilings, block_folds) in zip(blocks, done, strict=True):
            pattern_sim[start:stop] = sims
            fold_sim[start:stop] = block_folds
            if ceilings:
                ceiling[start:stop, :, :, 0] = block_ceilings[:, 0]
                ceiling[start:stop, :, :, 2] = block_ceilings[:, 1]
            bar.update(stop - start)
    finally:
        bar.close()
        executor.release(release_sorted)
    if splits is None:
        return pattern_sim, full_sim[0], ceiling, point_ceiling
    return pattern_sim, full_sim[0], ceiling, point_ceiling, fold_sim, full_fold_sim
