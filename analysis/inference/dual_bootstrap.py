"""Dual bootstrap over images and subjects: evaluations and noise ceilings of every sample.

This reproduces rsatoolbox 0.3.2's `eval_dual_bootstrap(models, data, method, k_pattern=1,
k_rdm=1, N)` for fixed models and the `Result` it returns:

* Per sample, one draw of subjects (with replacement) and one of images (with replacement).
  Three evaluations are stored (last axis, in rsatoolbox's order): "both" (subjects and images
  resampled), "rdm" (subjects only) and "pattern" (images only); each with its noise ceiling
  from `boot_noise_ceiling`. With k = 1 there is no cross-validation, n_cv = 1 and no
  cross-validation correction.
* A sample with fewer than 3 distinct images is NaN in rsatoolbox and left out of every
  statistic. We also leave out (and count) samples in which any similarity or ceiling is
  undefined (a resampled RDM with zero variance), where rsatoolbox would return 0 or NaN.
* variances: for each variant, the covariance (ddof=1) over valid samples of [layer
  evaluations, lower ceiling, upper ceiling]; `Result` then combines the three with the
  2-factor correction (`inference_util._dual_bootstrap` with n_rdm subjects, n_pattern images):
  v = n_r/(n_r-1) V_rdm + n_p/(n_p-1) V_pattern − n_r n_p/((n_p-1)(n_r-1)) (V_both − V_rdm −
  V_pattern), clipped below by the two scaled single-factor variances and above by V_both. The
  same is done for differences between layers and between a layer and the lower ceiling.
* dof = min(n_subjects, n_images) − 1. Tests (`t_test_0`, `t_test_nc`, `t_tests`): the tested
  value is the mean over valid samples of the mean over the three variants; against 0
  one-sided in rsatoolbox (1 − T.cdf(t)), against the lower ceiling (its mean over samples and
  variants) and between layers two-sided; variances below machine epsilon are raised to it.
* SEM = sqrt(max(variance, 0)) (`get_sem`); intervals = `get_ci(level)` with its default t
  method: bootstrap mean ± t quantile · SEM (statistics.py).
* One subject: the same draws and evaluations; the "pattern" variant (images resampled, mean
  over the subjects' similarities) is then exactly what rsatoolbox's `eval_bootstrap_pattern`
  evaluates per sample, and statistics.py uses it alone (n_rdm None). A noise ceiling needs
  two subjects, so with one the ceilings are computed but not used, and do not make a sample
  invalid.

Differences from rsatoolbox, on purpose (statistics.py and tables.py say more): `r` in
inference.csv and the ceiling bounds in noise_ceiling.csv are the point estimates on the data as
they are (eval_fixed's mean over subjects, boot_noise_ceiling on all data), not bootstrap means;
the test against zero is reported two-sided; p-values are corrected for multiple tests (FDR by
default) within each ROI × network (as plot_model_comparison does for pairs), the
`significant_*` columns use the corrected values at alpha = 0.05, and each interval's level is
the one at which it excludes zero exactly when its row is significant.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..comparison.kendall import tau_a_many
from ..comparison.methods import check_defined
from ..errors import AnalysisError, AnalysisWarning, check_choice
from ..executor import current
from ..reading.store import StoredRow
from ..runtime import progress_bar, worker_count
from ..schema import BOOTSTRAP_METHODS, LINEAR_METHODS, METHODS, WHITENED_METHODS
from . import crossvalidated as cv
from .moments import (
    centred_gram,
    pair_weights,
    sample_and_full_moments,
    sample_full_and_term_moments,
    similarity,
    stacked_rows,
    standardisation,
)
from .noise_ceiling import ceiling_bounds, pooled_similarity_linear, pooled_similarity_ranks
from .rank_bootstrap import rank_dual_bootstrap
from .rank_moments import (
    RankedRDMs,
    check_tau_a_feasible,
    rank_bootstrap_warning,
    rank_moments,
    rank_once,
    tau_a_similarity,
)
from .resampling import Resampling
from .whitened_moments import whitened_products, whitened_similarity

VARIANTS = ("both", "rdm", "pattern")

MIN_IMAGES = 4

MIN_VALID_SAMPLES = 2

#: Bytes of the fold terms' sums (one set per running task and the total) up to which the
#: cross-validated comparison is computed in the corr/cosine pass; above, in a pass of its own.
FOLD_TERM_BYTES = 2e9


@dataclass(frozen=True)
class DualBootstrap:
    """Everything rsatoolbox's eval_dual_bootstrap computes, for R ROIs and L layers at once."""

    evaluations: np.ndarray  # B × R × L × 3 (both, rdm, pattern)
    noise_ceiling: np.ndarray  # B × R × 2 (lower, upper) × 3
    valid: np.ndarray  # B, bool
    point: np.ndarray  # R × L, mean over subjects of the full-data similarity
    point_subject: np.ndarray  # R × S × L
    point_ceiling: np.ndarray  # R × 2 (lower, upper) on the full data
    n_subjects: int
    n_images: int
    dropped_few_images: int = 0
    dropped_undefined: int = 0
    extra: dict = field(default_factory=dict)


def subject_rows(
    subjects: np.ndarray | Sequence[Sequence[np.ndarray | StoredRow]],
) -> list[list[np.ndarray]]:
    """rows[r][s] = ROI r of subject s, from an R × S ×
    pairs array or already nested lists (no copy)."""
    if isinstance(subjects, np.ndarray):
        if subjects.ndim != 3:
            raise AnalysisError(
                "inference",
                f"subjects must be ROIs × subjects × pairs (got shape {subjects.shape})",
            )
        return [
            [subjects[r, s] for s in range(subjects.shape[1])] for r in range(subjects.shape[0])
        ]
    return [list(roi) for roi in subjects]


def check_inputs(
    rows: list[list[np.ndarray]], model_rows: list[np.ndarray], method: str, samples: int
) -> int:
    """Refuse what the bootstrap cannot handle, with one
    clear line (AnalysisError); returns n_images."""
    check_method(method)
    if not rows or not rows[0] or not model_rows:
        raise AnalysisError("inference", "no ROIs, subjects or layers to compare")
    vectors = stacked_rows(rows, model_rows)
    lengths = {v.shape for v in vectors}
    if len(lengths) != 1 or len({len(roi) for roi in rows}) != 1:
        raise AnalysisError(
            "inference",
            "every RDM must be a vector over the same image pairs, "
            "and every ROI must have the same subjects",
        )
    n_images = images_from_pairs(vectors[0].shape[0])
    if n_images < MIN_IMAGES:
        raise AnalysisError(
            "bootstrap", f"{n_images} images is too few to resample; need at least {MIN_IMAGES}"
        )
    if samples < MIN_VALID_SAMPLES:
        raise AnalysisError(
            "--samples",
            f"{samples} bootstrap sample(s) give no variance; use 0 (no inference) "
            f"or at least {MIN_VALID_SAMPLES}",
        )
    if not values_checked_when_sorted(method):
        for v in vectors:
            check_values(v, method)
    return n_images


def values_checked_when_sorted(method: str) -> bool:
    """Whether the bootstrap checks every RDM's values itself, in the tasks that sort them
    (spearman, rho-a: rank_bootstrap.sort_task reads each RDM once anyway), so that check_inputs
    need not read them all first on one process."""
    return method not in LINEAR_METHODS and method not in WHITENED_METHODS and method != "tau-a"


def check_values(vector: np.ndarray, method: str) -> None:
    """Refuse an RDM vector with NaN or infinite values, or one for which r is undefined, with
    one clear line (AnalysisError)."""
    if not np.isfinite(vector).all():
        raise AnalysisError("inference", "RDMs contain NaN or infinite dissimilarities")
    check_defined(vector, method, "inference")


def check_method(method: str) -> None:
    """Refuse a method the dual bootstrap cannot run, with one clear line (AnalysisError)."""
    check_choice(method, METHODS, "method")
    if method not in BOOTSTRAP_METHODS:
        raise AnalysisError(
            f"method {method}",
            "the dual bootstrap does not compute this method; use --samples 0 "
            f"for point estimates, or one of {', '.join(BOOTSTRAP_METHODS)}",
        )


def images_from_pairs(n_pairs: int) -> int:
    """n such that n(n-1)/2 = n_pairs (an error if there is none)."""
    n = int(round((1 + np.sqrt(1 + 8 * n_pairs)) / 2))
    if n * (n - 1) // 2 != n_pairs:
        raise AnalysisError("inference", f"{n_pairs} is not the length of an RDM's upper triangle")
    return n


def default_dtype(n_images: int) -> type:
    """float64 for small studies (exact to 1e-15); float32 products, which are faster, from 1000
    images (|Δr| ~1e-9)."""
    return np.float32 if n_images >= 1000 else np.float64


def dual_bootstrap(
    subjects: np.ndarray | Sequence[Sequence[np.ndarray | StoredRow]],
    models: np.ndarray | Sequence[np.ndarray | StoredRow],
    resampling: Resampling,
    method: str,
    dtype: type | None = None,
    progress: bool = False,
    folds: np.ndarray | None = None,
    k_pattern: int = cv.K_PATTERN,
) -> DualBootstrap:
    """Evaluations and noise ceilings of every sample, variant, ROI and layer (see module doc).

    Parameters
    ----------
    subjects : (R, S, P) array, or nested sequences ``subjects[r][s]`` of (P,) vectors
        Each ROI's RDM of each subject over the common images, as the upper triangle in
        np.triu_indices order (P = n(n-1)/2 pairs of n images); nested sequences are read in place
        (arrays or rows of the aligned store).
    models : (L, P) array, or a sequence of L (P,) vectors
        The layers' RDMs over the same pairs.
    resampling : Resampling
        B samples of image and subject indices (``draw_resampling``, or any indices, e.g. the ones
        rsatoolbox drew).
    method : str
        One of analysis.schema.BOOTSTRAP_METHODS.
    dtype : numpy float type, optional
        float64 or float32 for the corr/cosine products (default: ``default_dtype(n)``).
    progress : bool
        Show progress bars.
    folds : (B, 3, n_cv, n) int array, optional
        Fold labels of the cross-validated network comparison (crossvalidated.draw_folds). For
        corr and cosine, its per-fold similarities then come from the same pass over the RDMs
        (crossvalidated.fold_terms), when their sums fit FOLD_TERM_BYTES; for spearman and rho-a
        with two folds, from the same walks of each RDM's sort order
        (crossvalidated.rank_fold_plan).
    k_pattern : int
        The number of folds of `folds`.

    Returns
    -------
    DualBootstrap
        evaluations (B, R, L, 3) for the variants (both, rdm, pattern); noise_ceiling (B, R, 2, 3)
        (lower, upper); valid (B,) bool; point (R, L), point_subject (R, S, L) and point_ceiling
        (R, 2) on the full data; and the counts of dropped samples. With `folds` computed in the
        same pass, extra["fold_means"] (B, 3, n_cv, F, R, L) for crossvalidated.select_networks.
    """
    rows = subject_rows(subjects)
    model_rows = [
        m if isinstance(m, StoredRow) else np.asarray(m, dtype=np.float64) for m in models
    ]
    n_subjects = len(rows[0])
    n_images = images_from_pairs(model_rows[0].shape[0])
    dtype = default_dtype(n_images) if dtype is None else dtype
    image_counts = resampling.image_counts
    subject_counts = resampling.subject_counts.astype(np.float64)
    extra = {}
    if method in LINEAR_METHODS:
        parts = _linear(
            rows,
            model_rows,
            image_counts,
            subject_counts,
            method,
            dtype,
            progress,
            folds,
            k_pattern,
            extra,
        )
    elif method in WHITENED_METHODS:
        parts = _whitened(rows, model_rows, image_counts, subject_counts, method, dtype, progress)
    elif values_checked_when_sorted(method):  # spearman, rho-a
        parts = _rank_compiled(
            rows,
            model_rows,
            image_counts,
            subject_counts,
            method,
            progress,
            folds,
            k_pattern,
            extra,
        )
    else:
        subjects_array = (
            np.asarray(subjects, dtype=np.float64)
            if isinstance(subjects, np.ndarray)
            else np.array([[np.asarray(v, dtype=np.float64) for v in roi] for roi in rows])
        )
        parts = _ranked(
            subjects_array, np.array(model_rows), image_counts, subject_counts, method, progress
        )
    evaluations, ceiling, point_subject, point_ceiling = parts
    few_images = (image_counts > 0).sum(axis=1) < 3  # rsatoolbox: len(unique(pattern_idx)) >= 3
    finite = np.isfinite(evaluations).all(axis=(1, 2, 3))
    if n_subjects > 1:  # with one subject there is no noise ceiling to be undefined
        finite &= np.isfinite(ceiling).all(axis=(1, 2, 3))
    valid = ~few_images & finite
    evaluations[~valid] = np.nan
    ceiling[~valid] = np.nan
    return DualBootstrap(
        evaluations=evaluations,
        noise_ceiling=ceiling,
        valid=valid,
        point=point_subject.mean(axis=1),
        point_subject=point_subject,
        point_ceiling=point_ceiling,
        n_subjects=n_subjects,
        n_images=n_images,
        dropped_few_images=int(few_images.sum()),
        dropped_undefined=int((~few_images & ~finite).sum()),
        extra=extra,
    )


def _combine(
    pattern_sim: np.ndarray, full_sim: np.ndarray, subject_counts: np.ndarray
) -> np.ndarray:
    """The three variants' evaluations (B × R × L × 3) from per-subject similarities.

    rsatoolbox averages compare() over the sample's RDM rows, i.e. Σ_s k_s r_s / S.
    """
    n_subjects = subject_counts.shape[1]
    both = np.einsum("bs,brsl->brl", subject_counts, pattern_sim) / n_subjects
    rdm = np.einsum("bs,rsl->brl", subject_counts, full_sim) / n_subjects
    pattern = pattern_sim.mean(axis=2)
    return np.stack([both, rdm, pattern], axis=-1)


def _linear(
    rows,
    model_rows,
    image_counts,
    subject_counts,
    method,
    dtype,
    progress,
    folds=None,
    k_pattern=cv.K_PATTERN,
    extra=None,
):
    """corr / cosine: moments of the samples and of the data by matrix products, one read of the
    RDMs for the standardisation and one for the moments (moments.sample_and_full_moments); with
    `folds`, the folds' moments from the same products (extra["fold_means"])."""
    standard = standardisation(stacked_rows(rows, model_rows), method)
    plan = None if folds is None else cv.fold_terms(image_counts, folds, k_pattern)
    if plan is not None and fold_term_bytes(plan, rows, model_rows) <= FOLD_TERM_BYTES:
        moments, full, term_moments = sample_full_and_term_moments(
            rows, model_rows, image_counts, method, plan.terms, dtype, progress, standard
        )
        extra["fold_means"] = cv.fold_means(plan, term_moments, subject_counts, method)
    else:
        moments, full = sample_and_full_moments(
            rows, model_rows, image_counts, method, dtype, progress, standard
        )
    pattern_sim = similarity(moments, method)
    full_sim = similarity(full, method)[0]
    evaluations = _combine(pattern_sim, full_sim, subject_counts)
    ceiling, point_ceiling = _linear_ceilings(
        centred_gram(moments, method), centred_gram(full, method), subject_counts
    )
    return evaluations, ceiling, full_sim, point_ceiling


def fold_term_bytes(plan: cv.FoldTerms, rows: list, model_rows: list) -> float:
    """Bytes of the fold terms' sums held at once: one set per running task, and the total."""
    subjects, layers = len(rows) * len(rows[0]), len(model_rows)
    forms = 1 + 2 * layers + 2 * subjects + subjects * layers  # what `similarity` needs
    return (current().executor.process_threads + 1) * plan.terms.rows * forms * 8.0


def _whitened(rows, model_rows, image_counts, subject_counts, method, dtype, progress):
    """corr_cov / cosine_cov: the corr moments plus
    one product G·c per RDM (whitened_moments.py)."""
    n_images = image_counts.shape[1]
    standard = standardisation(stacked_rows(rows, model_rows), "corr")
    moments, full_moments = sample_and_full_moments(
        rows, model_rows, image_counts, "corr", dtype=dtype, progress=progress, standard=standard
    )
    sample = whitened_products(
        rows, model_rows, image_counts, moments, *standard, method, dtype=dtype
    )
    full = whitened_products(
        rows, model_rows, np.ones((1, n_images)), full_moments, *standard, method, dtype=np.float64
    )
    full_sim = whitened_similarity(full)[0]
    evaluations = _combine(whitened_similarity(sample), full_sim, subject_counts)
    ceiling, point_ceiling = _linear_ceilings(
        sample.subject_gram,
        full.subject_gram,
        subject_counts,
        sample.subject_norm,
        full.subject_norm,
    )
    return evaluations, ceiling, full_sim, point_ceiling


def _linear_ceilings(
    covariance: np.ndarray,
    full_covariance: np.ndarray,
    subject_counts: np.ndarray,
    norm: np.ndarray | None = None,
    full_norm: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Noise ceilings of the three variants (B × R × 2 × 3) and on the
    full data (R × 2), from per-sample and full-data subject Grams
    (and pool_rdm's normalisers, see pooled_similarity_linear)."""
    samples, n_subjects = subject_counts.shape
    everyone = np.ones((samples, n_subjects))
    full_norm_b = None if full_norm is None else np.broadcast_to(full_norm, norm.shape)
    ceilings = []
    for cov, counts, scale in (
        (covariance, subject_counts, norm),
        (np.broadcast_to(full_covariance, covariance.shape), subject_counts, full_norm_b),
        (covariance, everyone, norm),
    ):
        upper, lower = pooled_similarity_linear(cov, counts, scale)
        ceilings.append(np.stack(ceiling_bounds(upper, lower, counts), axis=-1))
    upper, lower = pooled_similarity_linear(full_covariance, np.ones((1, n_subjects)), full_norm)
    point_ceiling = np.stack(ceiling_bounds(upper, lower, np.ones((1, n_subjects))), axis=-1)[0]
    return np.stack(ceilings, axis=-1), point_ceiling


def _rank_compiled(
    rows,
    model_rows,
    image_counts,
    subject_counts,
    method,
    progress,
    folds=None,
    k_pattern=cv.K_PATTERN,
    extra=None,
):
    """spearman / rho-a: compiled weighted ranks and pooled re-ranks (rank_bootstrap.py); with
    `folds` (two of them), every fold's ranks from the same walks (extra["fold_means"])."""
    if (
        warning := rank_bootstrap_warning(
            model_rows[0].shape[0], image_counts.shape[0], len(rows), method, worker_count()
        )
    ) is not None:
        warnings.warn(warning, AnalysisWarning, stacklevel=3)
    plan = None if folds is None else cv.rank_fold_plan(folds, k_pattern)
    parts = rank_dual_bootstrap(
        rows,
        model_rows,
        image_counts,
        subject_counts,
        method,
        progress,
        splits=None if plan is None else plan.splits,
    )
    pattern_sim, full_sim, ceiling, point_ceiling = parts[:4]
    if plan is not None:
        extra["fold_means"] = cv.rank_fold_means(plan, *parts[4:], subject_counts)
    return _combine(pattern_sim, full_sim, subject_counts), ceiling, full_sim, point_ceiling


def _rank_sim(
    ranked: RankedRDMs, weights: np.ndarray, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject similarities (B, R, S, L) and subject weighted ranks (B, R, S, pairs)."""
    moments, subject_ranks = rank_moments(ranked, weights)
    if method == "tau-a":
        return tau_a_similarity(ranked, weights), subject_ranks
    return similarity(moments, method), subject_ranks


def _ranked(subjects, models, image_counts, subject_counts, method, progress):
    """tau-a (and, as a plain numpy reference for the tests, spearman / rho-a): weighted ranks per
    sample from one sort per RDM, in chunks of samples; pooled RDMs re-sorted per sample."""
    n_rois, n_subjects, pairs = subjects.shape
    samples = image_counts.shape[0]
    if method == "tau-a":
        check_tau_a_feasible(pairs, samples, n_rois, n_subjects, models.shape[0])
    ranked = rank_once(subjects, models)
    ones = np.ones((1, pairs))
    full_sim, full_ranks = _rank_sim(ranked, ones, method)
    if (
        method == "tau-a"
    ):  # point estimates exactly as rsatoolbox's integer counts; each model sorted once
        full_sim = tau_a_many(models, subjects.reshape(-1, pairs)).T.reshape(
            n_rois, n_subjects, -1
        )[None]
    everyone = np.ones((1, n_subjects))
    upper, lower = pooled_similarity_ranks(full_ranks, subjects, ones, everyone, method)
    point_ceiling = np.stack(ceiling_bounds(upper, lower, everyone), axis=-1)[0]
    evaluations = np.empty((samples, n_rois, models.shape[0], 3))
    ceiling = np.empty((samples, n_rois, 2, 3))
    per_sample_bytes = 8 * pairs * (2 * n_rois * n_subjects + models.shape[0] + 6)
    chunk = int(max(1, min(samples, 1.5e9 // per_sample_bytes)))
    bar = progress_bar(samples, f"bootstrap ({method})", progress)
    try:
        for start in range(0, samples, chunk):
            rows = slice(start, min(samples, start + chunk))
            weights = pair_weights(image_counts[rows])
            counts = subject_counts[rows]
            pattern_sim, ranks_b = _rank_sim(ranked, weights, method)
            evaluations[rows] = _combine(pattern_sim, full_sim[0], counts)
            size = weights.shape[0]
            variants = (
                (ranks_b, weights, counts),
                (
                    np.broadcast_to(full_ranks, (size, *full_ranks.shape[1:])),
                    np.broadcast_to(ones, (size, pairs)),
                    counts,
                ),
                (ranks_b, weights, np.ones_like(counts)),
            )
            for v, (variant_ranks, variant_weights, variant_counts) in enumerate(variants):
                upper, lower = pooled_similarity_ranks(
                    variant_ranks,
                    subjects,
                    np.ascontiguousarray(variant_weights),
                    variant_counts,
                    method,
                )
                ceiling[rows, :, :, v] = np.stack(
                    ceiling_bounds(upper, lower, variant_counts), axis=-1
                )
            bar.update(size)
    finally:
        bar.close()
    return evaluations, ceiling, full_sim[0], point_ceiling
