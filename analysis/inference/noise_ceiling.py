"""Noise ceilings as rsatoolbox's `boot_noise_ceiling`, for every bootstrap sample at once.

What rsatoolbox 0.3.2 does (inference/noise_ceiling.py, util/inference_util.pool_rdm,
inference/crossvalsets.sets_leave_one_out_rdm), for one (resampled) set of subject RDMs:

* The RDMs are grouped by their original subject index: leave-one-out runs over the *distinct*
  subjects present. With subject s left out, the training set is every row of the others
  (duplicates included) and the test set is every copy of s (all equal).
* `pool_rdm` normalises each row over the entries present (corr: minus mean, divided by the
  ddof-0 std; cosine: divided by the root mean square; rank methods: rankdata), averages the
  rows (duplicates count twice) and, for corr, subtracts the minimum (irrelevant to r).
* lower bound = mean over distinct subjects s of compare(pool(others), s);
  upper bound = mean over distinct subjects s of compare(pool(all rows), s).
  The mean is over distinct subjects, not weighted by how often each was drawn.
* With a single distinct subject, train = test = all rows, so lower = upper = compare(pool, s).

In a pattern resampling every sum above is the weighted sum over the original pairs
(moments.py). For corr and cosine, compare(pool, y_s) is then a ratio of quadratic forms in
the subjects' weighted (co)variance matrix, so it costs nothing per layer and no n² work beyond
the moments moments.py already computed. For rank methods the pooled RDM (mean of weighted
ranks) must itself be ranked again under the weights, so each sample sorts each pooled RDM.
"""

from __future__ import annotations

import numpy as np

from ..comparison import kendall
from ..comparison.ranks import weighted_ranks_of_rows


def pooled_similarity_linear(
    covariance: np.ndarray, subject_counts: np.ndarray, norm: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """compare(pool, y_s) for the pool of all subjects and for the pool without s: (B, R, S) each.

    covariance: (B, R, S, S) from moments.centred_gram (any positive per-sample factor);
    subject_counts: (B, S). A pooled RDM is Σ_t k_t y_t / sd_t (+ constant), so its similarity
    with y_s is (aᵀ C)_s / sqrt(aᵀ C a · C_ss) with a_t = k_t / sqrt(C_tt). norm (B, R, S): the
    squared scales pool_rdm divides by, when they are not C_tt (whitened methods: C holds whitened
    inner products, while pool_rdm scales by the plain sd or root mean square).
    """
    n_subjects = covariance.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        diagonal = np.diagonal(covariance, axis1=2, axis2=3)
        norm = diagonal if norm is None else norm
        scale = np.where(norm > 0, 1.0 / np.sqrt(norm), np.nan)
        a = subject_counts[:, None, :] * scale  # B × R × S
        keep = np.vstack([np.ones(n_subjects), 1.0 - np.eye(n_subjects)])  # (S+1) × S
        pools = a[:, :, None, :] * keep[None, None]  # B × R × (S+1) × S
        numerator = pools @ covariance  # Σ_t a_t C_ts
        quadratic = np.einsum("brjt,brjt->brj", numerator, pools)
        norm = np.sqrt(quadratic[..., None] * diagonal[:, :, None, :])
        similarity = np.where(quadratic[..., None] > 0, numerator / norm, 0.0)
    upper = similarity[:, :, 0, :]
    lower = similarity[:, :, 1:, :][:, :, np.arange(n_subjects), np.arange(n_subjects)]
    return upper, lower


def pooled_similarity_ranks(
    subject_ranks: np.ndarray,
    subjects: np.ndarray,
    weights: np.ndarray,
    subject_counts: np.ndarray,
    method: str,
) -> tuple[np.ndarray, np.ndarray]:
    """compare(pool, y_s) for rank methods, with the
    pooled ranks re-ranked per sample: (B, R, S) each.

    subject_ranks: (B, R, S, pairs) weighted ranks; subjects: (R, S, pairs) raw vectors (for tau-a);
    weights: (B, pairs); subject_counts: (B, S). The pool Σ k_t r_t / Σ k_t is exact in float64
    (sums of small multiples of half-integers), so its ties are the ones rsatoolbox sees.
    """
    samples, n_rois, n_subjects, _ = subject_ranks.shape
    upper = np.full((samples, n_rois, n_subjects), np.nan)
    lower = np.full((samples, n_rois, n_subjects), np.nan)
    counts = np.asarray(subject_counts, dtype=np.float64)
    total_weight = weights.sum(axis=1)
    for r in range(n_rois):
        ranks_r = subject_ranks[:, r]  # B × S × pairs
        for leave_out in [None, *range(n_subjects)]:
            pool_counts = counts.copy()
            if leave_out is not None:
                pool_counts[:, leave_out] = 0.0
            with np.errstate(divide="ignore", invalid="ignore"):
                pooled = (
                    np.einsum("bs,bsp->bp", pool_counts, ranks_r) / pool_counts.sum(axis=1)[:, None]
                )
            usable = np.isfinite(pooled).all(axis=1)
            pooled = np.where(usable[:, None], pooled, 0.0)
            targets = range(n_subjects) if leave_out is None else [leave_out]
            if method == "tau-a":
                values = {
                    s: kendall.weighted_tau_a(pooled, subjects[r, s], weights) for s in targets
                }
            else:
                pooled_ranks = weighted_ranks_of_rows(pooled, weights)
                values = {
                    s: _rank_correlation(pooled_ranks, ranks_r[:, s], weights, total_weight, method)
                    for s in targets
                }
            for s, value in values.items():
                value = np.where(usable, value, np.nan)
                if leave_out is None:
                    upper[:, r, s] = value
                else:
                    lower[:, r, s] = value
    return upper, lower


def _rank_correlation(
    ranks_a: np.ndarray, ranks_b: np.ndarray, weights: np.ndarray, total: np.ndarray, method: str
) -> np.ndarray:
    """Weighted Pearson (spearman) or rho-a between two weighted-rank rows per sample."""
    wa = ranks_a * weights
    sa, sb = wa.sum(axis=1), (ranks_b * weights).sum(axis=1)
    sab = np.einsum("bp,bp->b", wa, ranks_b)
    covariance = total * sab - sa * sb
    if method == "rho-a":
        return 12.0 * covariance / (total * (total**3 - total))
    saa = np.einsum("bp,bp->b", wa, ranks_a)
    sbb = np.einsum("bp,bp->b", ranks_b * weights, ranks_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.sqrt((total * saa - sa**2) * (total * sbb - sb**2))
        return np.where(norm > 0, covariance / norm, 0.0)


def ceiling_bounds(
    upper_each: np.ndarray, lower_each: np.ndarray, subject_counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound per sample and ROI: means over the distinct subjects drawn (B, R) each.

    With one distinct subject rsatoolbox uses the full set as both training and test set, so
    lower = upper.
    """
    present = (np.asarray(subject_counts) > 0)[:, None, :]
    n_present = present.sum(axis=-1)
    upper = np.where(present, upper_each, 0.0).sum(axis=-1) / n_present
    lower = np.where(present, lower_each, 0.0).sum(axis=-1) / n_present
    lower = np.where(n_present == 1, upper, lower)
    return lower, upper
