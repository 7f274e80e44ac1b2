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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from math import gcd

import numpy as np

from ..errors import AnalysisError
from ..runtime import progress_bar, worker_count
from . import rank_kernels as kernels
from .moments import Moments, similarity
from .noise_ceiling import ceiling_bounds

CHUNK_BYTES = 1.5e9  # sorted RDMs plus the ranks every thread holds, per chunk of ROIs
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
    # Row t's spare slot is row t + 1's first entry, which that row's
    # walk then writes (every active pair gets a rank); the last row's
    # is one extra entry. The rows stay C-contiguous for the kernels.
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

    `pooled_row` is scratch space for one pooled RDM's ranks (active pairs), reused by every pool.
    """

    def __init__(
        self,
        ranks: SampleRanks,
        subjects: slice,
        gram: np.ndarray,
        method: str,
        pooled_row: np.ndarray,
    ):
        self.ranks, self.subjects, self.gram, self.method = ranks, subjects, gram, method
        self.pooled_row = pooled_row
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
                    subject_ranks, pool_counts, self.ranks.weights, self.pooled_row
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
    rdms: list[SortedRDM],
    n_models: int,
    n_rois: int,
    n_subjects: int,
    counts: np.ndarray,
    ceiling_counts: np.ndarray,
    method: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject similarities (R, S, L) and ceilings (V, R, 2) for one image resampling."""
    ranks = sample_ranks(rdms, counts)
    gram, moments_cross = kernels.roi_cross_sums(ranks.ranks, ranks.weights, n_models, n_subjects)
    ceilings = np.empty((ceiling_counts.shape[0], n_rois, 2))
    pooled_row = np.empty(ranks.weights.shape[0], dtype=np.int32)
    for r in range(n_rois):
        subjects = slice(n_models + r * n_subjects, n_models + (r + 1) * n_subjects)
        pools = _RoiPools(ranks, subjects, gram[r], method, pooled_row)
        for v, subject_counts in enumerate(ceiling_counts):
            ceilings[v, r] = pools.ceiling(subject_counts)
    total = np.array([ranks.total])
    moments = Moments(
        total=total,
        model_sum=ranks.sums[None, :n_models] / 2,
        model_square=ranks.squares[None, :n_models] / 4,
        subject_sum=ranks.sums[None, n_models:].reshape(1, n_rois, n_subjects) / 2,
        subject_gram=gram[None] / 4,
        cross=moments_cross[None] / 4,
    )
    return similarity(moments, method)[0], ceilings


def _roi_chunks(
    n_rois: int, n_subjects: int, n_models: int, n_pairs: int, threads: int
) -> list[range]:
    """ROIs per chunk so that sorted RDMs (4 bytes a
    pair) and every thread's ranks fit CHUNK_BYTES."""
    per_rdm = n_pairs * (4 + 4 * threads)
    per_roi = max(1, int(CHUNK_BYTES // per_rdm) - n_models) // n_subjects
    size = max(1, min(n_rois, per_roi))
    return [range(start, min(n_rois, start + size)) for start in range(0, n_rois, size)]


def rank_dual_bootstrap(
    rows,
    model_rows,
    image_counts: np.ndarray,
    subject_counts: np.ndarray,
    method: str,
    progress: bool = False,
):
    """Per-sample similarities and ceilings of the three variants, as dual_bootstrap expects.

    rows[r][s]: subject vectors; model_rows: layer vectors. Returns evaluations' inputs
    (pattern similarities B × R × S × L, full-data similarities R × S × L), ceilings
    B × R × 2 × 3 (both, rdm, pattern) and the full-data ceiling R × 2.
    """
    samples, n_images = image_counts.shape
    n_rois, n_subjects, n_models = len(rows), len(rows[0]), len(model_rows)
    n_pairs = n_images * (n_images - 1) // 2
    subject_counts = np.asarray(subject_counts, dtype=np.int64)
    everyone = np.ones((1, n_subjects), dtype=np.int64)
    draws, draw_of_sample = np.unique(subject_counts, axis=0, return_inverse=True)
    threads = worker_count()
    pattern_sim = np.empty((samples, n_rois, n_subjects, n_models))
    full_sim = np.empty((n_rois, n_subjects, n_models))
    ceiling = np.empty((samples, n_rois, 2, 3))
    point_ceiling = np.empty((n_rois, 2))
    models = [sort_rdm(m, n_images) for m in model_rows]
    bar = progress_bar(samples * n_rois, f"bootstrap ({method})", progress)
    try:
        for chunk in _roi_chunks(n_rois, n_subjects, n_models, n_pairs, threads):
            rdms = models + [
                sort_rdm(rows[r][s], n_images) for r in chunk for s in range(n_subjects)
            ]
            shape = (n_models, len(chunk), n_subjects)
            full_counts = np.vstack([everyone, draws])
            sim, full_ceilings = _evaluate(
                rdms, *shape, np.ones(n_images, np.int64), full_counts, method
            )
            full_sim[chunk.start : chunk.stop] = sim
            point_ceiling[chunk.start : chunk.stop] = full_ceilings[0]
            ceiling[:, chunk.start : chunk.stop, :, 1] = full_ceilings[1:][draw_of_sample.ravel()]

            def one(b: int, rdms=rdms, shape=shape):
                counts = np.vstack([subject_counts[b], everyone])
                return _evaluate(rdms, *shape, image_counts[b], counts, method)

            with ThreadPoolExecutor(threads) as pool:
                for b, (sim, ceilings) in enumerate(pool.map(one, range(samples))):
                    pattern_sim[b, chunk.start : chunk.stop] = sim
                    ceiling[b, chunk.start : chunk.stop, :, 0] = ceilings[0]
                    ceiling[b, chunk.start : chunk.stop, :, 2] = ceilings[1]
                    bar.update(len(chunk))
    finally:
        bar.close()
    return pattern_sim, full_sim, ceiling, point_ceiling
