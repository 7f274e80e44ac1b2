"""The statistics rsatoolbox's `Result` reports for a dual bootstrap: corrected variances, tests,
intervals, and the multiple-comparison corrections (see dual_bootstrap.py for the method)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

from ..errors import AnalysisError
from ..schema import CORRECTIONS


def pair_list(n_models: int) -> tuple[np.ndarray, np.ndarray]:
    """Model pairs (i < j) in rsatoolbox's pairwise_contrast order (difference = model i − model j)."""
    return np.triu_indices(n_models, 1)


def dual_variance(variances: np.ndarray, n_rdm: int, n_pattern: int) -> np.ndarray:
    """rsatoolbox.util.inference_util._dual_bootstrap: combine (both, rdm, pattern) variances."""
    both, rdm, pattern = variances[0], variances[1], variances[2]
    rdm_scaled = n_rdm / (n_rdm - 1) * rdm
    pattern_scaled = n_pattern / (n_pattern - 1) * pattern
    combined = (rdm_scaled + pattern_scaled
                - n_pattern * n_rdm / (n_pattern - 1) / (n_rdm - 1) * (both - rdm - pattern))
    return np.minimum(np.maximum(np.maximum(combined, rdm_scaled), pattern_scaled), both)


@dataclass(frozen=True)
class ModelStatistics:
    """What rsatoolbox's Result reports for one ROI and one set of models (layers)."""
    means: np.ndarray           # M, bootstrap mean (over samples and variants)
    model_var: np.ndarray       # M
    diff_var: np.ndarray        # M(M-1)/2
    ceiling_var: np.ndarray     # M × 2 (difference from lower, upper)
    bound_var: np.ndarray       # 2, variance of the lower and upper bound themselves
    ceiling_mean: np.ndarray    # 2, mean over samples and variants
    p_zero: np.ndarray
    p_ceiling: np.ndarray
    p_pairwise: np.ndarray      # M(M-1)/2
    ci: np.ndarray              # 2 × M
    dof: int


def model_statistics(evaluations: np.ndarray, ceiling: np.ndarray, n_rdm: int, n_pattern: int,
                     ci_percent: float = 0.95) -> ModelStatistics:
    """Result(…, cv_method='dual_bootstrap') statistics from valid samples only.

    evaluations: N × M × 3; ceiling: N × 2 × 3 (no NaN rows). See the module docstring.
    """
    samples, n_models, _ = evaluations.shape
    matrix = np.concatenate([evaluations, ceiling], axis=1)
    matrix = matrix - matrix.mean(axis=0, keepdims=True)
    variances = np.einsum("ijk,ilk->kjl", matrix, matrix) / (samples - 1)  # 3 × (M+2) × (M+2)
    diagonal = np.einsum("kjj->kj", variances)
    model_var = dual_variance(diagonal[:, :-2], n_rdm, n_pattern)
    ceiling_var = dual_variance(diagonal[:, :-2, None] - 2 * variances[:, :-2, -2:]
                                + diagonal[:, None, -2:], n_rdm, n_pattern)
    left, right = pair_list(n_models)
    diff_var = dual_variance(diagonal[:, left] + diagonal[:, right] - 2 * variances[:, left, right],
                             n_rdm, n_pattern)
    bound_var = dual_variance(diagonal[:, -2:], n_rdm, n_pattern)
    dof = min(n_rdm, n_pattern) - 1
    eps = np.finfo(float).eps
    means = evaluations.mean(axis=0).mean(axis=-1)
    ceiling_mean = ceiling.mean(axis=(0, 2))
    t_zero = means / np.sqrt(np.maximum(model_var, eps))
    p_zero = 1 - scipy.stats.t.cdf(t_zero, dof)
    t_ceiling = (means - ceiling_mean[0]) / np.sqrt(np.maximum(ceiling_var[:, 0], eps))
    p_ceiling = 2 * (1 - scipy.stats.t.cdf(np.abs(t_ceiling), dof))
    t_pairs = (means[left] - means[right]) / np.sqrt(np.maximum(diff_var, eps))
    p_pairwise = 2 * (1 - scipy.stats.t.cdf(np.abs(t_pairs), dof))
    per_sample = evaluations.mean(axis=-1)
    framed = np.concatenate([np.tile([[-np.inf], [np.inf]], (1, n_models)), per_sample], axis=0)
    cut = (1 - ci_percent) / 2
    with np.errstate(invalid="ignore"):  # fewer than ~40 samples: the ±inf frame gives NaN, as rsatoolbox
        ci = np.array([np.quantile(framed, cut, axis=0), np.quantile(framed, 1 - cut, axis=0)])
    return ModelStatistics(means, model_var, diff_var, ceiling_var, bound_var, ceiling_mean,
                           p_zero, p_ceiling, p_pairwise, ci, dof)


def adjust(p: np.ndarray, correction: str) -> np.ndarray:
    """Adjusted p-values: Benjamini-Hochberg ('fdr'), Bonferroni, or none."""
    p = np.asarray(p, dtype=np.float64)
    if p.size == 0 or correction == "none":
        return p.copy()
    if correction == "bonferroni":
        return np.minimum(p * p.size, 1.0)
    if correction == "fdr":
        return scipy.stats.false_discovery_control(p, method="bh")
    raise AnalysisError("correction", f"unknown correction {correction!r}; choose one of {', '.join(CORRECTIONS)}")
