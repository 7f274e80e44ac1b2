"""The statistics rsatoolbox's `Result` reports for a dual bootstrap (corrected variances, tests,
intervals, multiple-comparison corrections), peak-layer shares and network comparisons; all pure
functions of the valid bootstrap samples (N × … × 3 variants: both, rdm, pattern, rsatoolbox's
order). See dual_bootstrap.py for how the samples are drawn and evaluated.

Two kinds of inference (`n_rdm` below):

* "dual" (n_rdm = the number of subjects, ≥ 2): rsatoolbox's `eval_dual_bootstrap`; the three
  variants' variances are combined by `dual_variance`, dof = min(n_subjects, n_images) − 1.
* "pattern" (n_rdm = None, one subject): rsatoolbox's `eval_bootstrap_pattern`, images only.
  Only the "pattern" variant (images resampled) is used: its mean over samples, its variance
  times n_images / (n_images − 1) (`extract_variances` with n_rdm=None, `_correct_1d`), and
  dof = n_images − 1. The intervals generalise over images, not over subjects.

Intervals and tests mean the same thing:

* The tested value is the bootstrap mean (over valid samples of the mean over the three
  variants, `Result.get_means`), its standard error sqrt(max(v, eps)) with v the corrected
  dual-bootstrap variance, and t = mean / se has min(n_subjects, n_images) − 1 degrees of
  freedom (rsatoolbox's `t_tests`).
* p-values are two-sided, p = 2 · P(T > |t|). For the test against zero that is
  2 · min(p_rsa, 1 − p_rsa), p_rsa being rsatoolbox's one-sided `test_zero` (`t_test_0`), so
  `significant_zero` means "differs from zero" in either direction.
* An interval at per-test level a is mean ± t_{1−a/2, dof} · se, rsatoolbox's
  `Result.get_ci(1 − a)` with its default t method (which uses sqrt(max(v, 0)); the two differ
  only for v < eps). It excludes zero exactly when p < a.
* Within one family of tests (the layers of one network for one ROI; the network pairs for one
  ROI) the per-test level a is the one at which p < a exactly when the corrected test rejects
  (adjusted p < alpha): a = alpha without correction, alpha / m with Bonferroni, and
  max(R, 1) · alpha / m with Benjamini–Hochberg, R the number of rejections (the false coverage
  rate intervals of Benjamini & Yekutieli 2005). So an interval excludes zero exactly when its
  row is significant. Without correction, or when every test of a family rejects under FDR,
  that is the plain (1 − alpha) interval.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.stats

from ..errors import check_choice
from ..schema import CORRECTIONS

EPS = np.finfo(float).eps

#: The kinds of inference: over images and subjects, or over images only (one subject).
KINDS = ("dual", "pattern")


def inference_kind(n_subjects: int) -> str:
    """'pattern' (images only, rsatoolbox's eval_bootstrap_pattern) for one subject, else 'dual'."""
    return "pattern" if n_subjects == 1 else "dual"


def kind_variants(values: np.ndarray, n_rdm: int | None) -> np.ndarray:
    """The variants a kind of inference uses: all three (dual), or the last, 'pattern' (n_rdm None).

    values: … × 3 (or … × 1, already the pattern variant); the result keeps the variant axis.
    """
    return values[..., -1:] if n_rdm is None else values


def pair_list(n_models: int) -> tuple[np.ndarray, np.ndarray]:
    """Model pairs (i < j) in rsatoolbox's pairwise_contrast
    order (difference = model i − model j)."""
    return np.triu_indices(n_models, 1)


def dual_variance(variances: np.ndarray, n_rdm: int, n_pattern: int) -> np.ndarray:
    """rsatoolbox.util.inference_util._dual_bootstrap: combine the variances of the three variants.

    Parameters
    ----------
    variances : (3, ...) array
        Variances of the (both, rdm, pattern) variants.
    n_rdm, n_pattern : int
        Subjects and images resampled.

    Returns
    -------
    (...) array
        The corrected variance, bounded by the variants' as rsatoolbox bounds it.
    """
    both, rdm, pattern = variances[0], variances[1], variances[2]
    rdm_scaled = n_rdm / (n_rdm - 1) * rdm
    pattern_scaled = n_pattern / (n_pattern - 1) * pattern
    combined = (
        rdm_scaled
        + pattern_scaled
        - n_pattern * n_rdm / (n_pattern - 1) / (n_rdm - 1) * (both - rdm - pattern)
    )
    return np.minimum(np.maximum(np.maximum(combined, rdm_scaled), pattern_scaled), both)


def bootstrap_variance(variances: np.ndarray, n_rdm: int | None, n_pattern: int) -> np.ndarray:
    """Corrected variance from per-variant variances (variants first): the dual-bootstrap
    combination, or for an images-only bootstrap (n_rdm None) the pattern variant's variance
    times n_pattern / (n_pattern − 1), as rsatoolbox's extract_variances with n_rdm=None."""
    if n_rdm is None:
        return n_pattern / (n_pattern - 1) * variances[-1]
    return dual_variance(variances, n_rdm, n_pattern)


@dataclass(frozen=True)
class ModelStatistics:
    """What rsatoolbox's Result reports for one ROI and one set of models (layers)."""

    means: np.ndarray  # M, bootstrap mean (over samples and variants)
    model_var: np.ndarray  # M
    diff_var: np.ndarray  # M(M-1)/2
    ceiling_var: np.ndarray  # M × 2 (difference from lower, upper)
    bound_var: np.ndarray  # 2, variance of the lower and upper bound themselves
    ceiling_mean: np.ndarray  # 2, mean over samples and variants
    p_zero: np.ndarray  # one-sided, as rsatoolbox's test_zero
    p_ceiling: np.ndarray  # two-sided
    p_pairwise: np.ndarray  # M(M-1)/2, two-sided
    ci: np.ndarray  # 2 × M, get_ci(ci_percent) with rsatoolbox's default t method
    dof: int


def model_statistics(
    evaluations: np.ndarray,
    ceiling: np.ndarray,
    n_rdm: int | None,
    n_pattern: int,
    ci_percent: float = 0.95,
) -> ModelStatistics:
    """Result(…, cv_method='dual_bootstrap') statistics from valid samples only; with n_rdm None,
    Result(…, cv_method='bootstrap_pattern') of eval_bootstrap_pattern (images only). Every field
    equals rsatoolbox's (tests/inference/test_tables.py, test_statistics.py and, images only,
    tests/oracle/test_pattern_bootstrap_rsatoolbox.py).

    Parameters
    ----------
    evaluations : (N, M, 3) array
        Valid samples × models × variants (both, rdm, pattern).
    ceiling : (N, 2, 3) array
        Lower and upper noise ceiling of the same samples (no NaN rows).
    n_rdm : int or None
        Subjects resampled; None when only images were (no subject variants).
    n_pattern : int
        Images resampled.
    ci_percent : float
        Coverage of the t interval.

    Returns
    -------
    ModelStatistics
    """
    evaluations, ceiling = kind_variants(evaluations, n_rdm), kind_variants(ceiling, n_rdm)
    samples, n_models, _ = evaluations.shape
    matrix = np.concatenate([evaluations, ceiling], axis=1)
    matrix = matrix - matrix.mean(axis=0, keepdims=True)
    variances = np.einsum("ijk,ilk->kjl", matrix, matrix) / (samples - 1)  # 3 × (M+2) × (M+2)
    diagonal = np.einsum("kjj->kj", variances)
    model_var = bootstrap_variance(diagonal[:, :-2], n_rdm, n_pattern)
    ceiling_var = bootstrap_variance(
        diagonal[:, :-2, None] - 2 * variances[:, :-2, -2:] + diagonal[:, None, -2:],
        n_rdm,
        n_pattern,
    )
    left, right = pair_list(n_models)
    diff_var = bootstrap_variance(
        diagonal[:, left] + diagonal[:, right] - 2 * variances[:, left, right], n_rdm, n_pattern
    )
    bound_var = bootstrap_variance(diagonal[:, -2:], n_rdm, n_pattern)
    dof = degrees_of_freedom(n_rdm, n_pattern)
    means = evaluations.mean(axis=0).mean(axis=-1)
    ceiling_mean = ceiling.mean(axis=(0, 2))
    p_zero = scipy.stats.t.sf(means / standard_error(model_var), dof)
    p_ceiling = two_sided_p(means - ceiling_mean[0], ceiling_var[:, 0], dof)
    p_pairwise = two_sided_p(means[left] - means[right], diff_var, dof)
    ci = np.array(t_interval(means, model_var, dof, 1 - ci_percent))
    return ModelStatistics(
        means,
        model_var,
        diff_var,
        ceiling_var,
        bound_var,
        ceiling_mean,
        p_zero,
        p_ceiling,
        p_pairwise,
        ci,
        dof,
    )


def variant_variances(values: np.ndarray) -> np.ndarray:
    """Per variant, the variance over samples (ddof=1) of N × K × 3 values: 3 × K."""
    return np.moveaxis(values.var(axis=0, ddof=1), -1, 0)


def degrees_of_freedom(n_rdm: int | None, n_pattern: int) -> int:
    """rsatoolbox's dof: min(n_subjects, n_images) − 1 for the dual bootstrap, n_images − 1 for
    an images-only bootstrap (n_rdm None, eval_bootstrap_pattern)."""
    return n_pattern - 1 if n_rdm is None else min(n_rdm, n_pattern) - 1


def standard_error(variance: np.ndarray) -> np.ndarray:
    """The t-tests' standard error: sqrt(variance), variances below machine epsilon raised to it."""
    return np.sqrt(np.maximum(variance, EPS))


def two_sided_p(estimate: np.ndarray, variance: np.ndarray, dof: int) -> np.ndarray:
    """Two-sided t-test of estimate = 0 with the given variance and dof (rsatoolbox's t_tests)."""
    return 2 * scipy.stats.t.sf(np.abs(estimate / standard_error(variance)), dof)


def t_interval(
    estimate: np.ndarray, variance: np.ndarray, dof: int, level: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """estimate ± t_{1−level/2, dof} · se: rsatoolbox's
    get_ci(1 − level); excludes 0 iff p < level."""
    half = scipy.stats.t.isf(np.asarray(level) / 2, dof) * standard_error(variance)
    return estimate - half, estimate + half


def adjust(p: np.ndarray, correction: str) -> np.ndarray:
    """Adjusted p-values: Benjamini-Hochberg ('fdr'), Bonferroni, or none.

    Parameters
    ----------
    p : (K,) array
        The p-values of one family of tests.
    correction : str
        One of analysis.schema.CORRECTIONS.

    Returns
    -------
    (K,) float64 array
    """
    p = np.asarray(p, dtype=np.float64)
    check_choice(correction, CORRECTIONS, "correction")
    if p.size == 0 or correction == "none":
        return p.copy()
    if correction == "bonferroni":
        return np.minimum(p * p.size, 1.0)
    return scipy.stats.false_discovery_control(p, method="bh")


def per_test_level(p: np.ndarray, correction: str, alpha: float) -> float:
    """The level a at which p < a exactly for the tests
    whose adjusted p is below alpha (module doc)."""
    p = np.asarray(p, dtype=np.float64)
    if correction == "none" or p.size == 0:
        return alpha
    if correction == "bonferroni":
        return alpha / p.size
    rejected = int((adjust(p, correction) < alpha).sum())
    return max(rejected, 1) * alpha / p.size


def family_tests(
    estimate: np.ndarray, variance: np.ndarray, dof: int, correction: str, alpha: float
) -> dict[str, np.ndarray]:
    """One family of two-sided t-tests: p, adjusted p, significance and the interval that
    agrees with it, with that interval's coverage (`ci_level`, 1 − the per-test level)."""
    p = two_sided_p(estimate, variance, dof)
    p_adjusted = adjust(p, correction)
    level = per_test_level(p, correction, alpha)
    low, high = t_interval(estimate, variance, dof, level)
    return {
        "p": p,
        "p_adjusted": p_adjusted,
        "significant": p_adjusted < alpha,
        "ci_low": low,
        "ci_high": high,
        "ci_level": np.full(np.shape(p), 1.0 - level),
    }


def normalised(r: np.ndarray, lower_ceiling: np.ndarray | float) -> np.ndarray:
    """r / lower noise-ceiling bound; NaN where the bound is ≤ 0, a ceiling that bounds nothing."""
    r, lower = np.broadcast_arrays(
        np.asarray(r, dtype=np.float64), np.asarray(lower_ceiling, dtype=np.float64)
    )
    out = np.full(r.shape, np.nan)
    np.divide(r, lower, out=out, where=lower > 0)
    return out


def peak_shares(per_sample: np.ndarray) -> np.ndarray:
    """N × L evaluations → the share of samples in which
    each layer is the best (ties split the sample).

    Samples whose best value is not finite are not counted; the shares sum to 1.
    """
    best = per_sample.max(axis=1, keepdims=True)
    counted = np.isfinite(best[:, 0])
    if not counted.any():
        return np.full(per_sample.shape[1], np.nan)
    winners = (per_sample[counted] == best[counted]).astype(np.float64)
    return (winners / winners.sum(axis=1, keepdims=True)).mean(axis=0)


def network_spans(sizes: list[int]) -> list[slice]:
    """Column spans of consecutive networks with the given numbers of layers."""
    edges = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def network_pairs(n_networks: int) -> tuple[np.ndarray, np.ndarray]:
    """Network pairs (a < b) in manifest order."""
    return np.triu_indices(n_networks, 1)


def best_layer_values(evaluations: np.ndarray, spans: list[slice]) -> np.ndarray:
    """N × M × 3 evaluations, networks as column spans
    → N × networks × 3: each network's best layer.

    Each variant (both, rdm, pattern) is one resampling of the data, so its value is the best
    layer under that resampling: the choice of layer is part of every variant's variance.
    """
    return np.stack([evaluations[:, span].max(axis=1) for span in spans], axis=1)


def network_differences(evaluations: np.ndarray, spans: list[slice]) -> np.ndarray:
    """N × P × 3: best layer of network a minus best layer of network b, per sample and variant."""
    best = best_layer_values(evaluations, spans)
    left, right = network_pairs(len(spans))
    return best[:, left] - best[:, right]


def difference_statistics(
    differences: np.ndarray, n_rdm: int | None, n_pattern: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap mean (over samples and the kind's variants) and corrected variance of N × K × 3
    values (dual bootstrap; images only when n_rdm is None)."""
    differences = kind_variants(differences, n_rdm)
    return differences.mean(axis=(0, 2)), bootstrap_variance(
        variant_variances(differences), n_rdm, n_pattern
    )
