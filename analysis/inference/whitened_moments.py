"""Resampled whitened comparisons (corr_cov, cosine_cov; sigma_k = identity) without resampled RDMs.

What rsatoolbox 0.3.2 computes on a pattern-bootstrap RDM (image i drawn c_i times, n draws in
all; pairs of copies of one image are NaN, so `_parse_input_rdms` drops them and
`_cov_weighting` takes its "missing values" branch). With g = −½·(RDM entry) on the pairs present
and 0 on the n appended diagonal entries, that branch computes the residual
v − v·S·(SᵀDS)⁻¹·(DS)ᵀ (S: rows e_u + e_v per pair present, e_u per diagonal entry after its
`/= 2`; D = ½ on pairs, 1 on the diagonal). Written out, with b = a/2 for a = (SᵀDS)⁻¹Sᵀv:

    Σ_{v ~ u} (g_uv − b_u − b_v) = 2 b_u          (normal equations; v ~ u: pair present)
    residual e_uv = g_uv − b_u − b_v on pairs,   e_uu = −2 b_u on the diagonal,

i.e. double centring generalised to missing pairs (with every pair present it is the usual
double centring). The whitened vector is [√2·e_uv, e_uu] and the comparison its cosine.
Copies of one image share b (the system is positive definite, its solution unique and symmetric),
so per image, with t = Σ c_i β_i, d_i = n + 2 − 2c_i and u = G c (G: −½·RDM, zero diagonal):

    d_i β_i + t = u_i.

The inner product of two whitened vectors (RDMs x, y)
then reduces to, with Q = Σ_{i≠j} c_i c_j g_ij h_ij:

    P(x, y) = Q − 2 u_xᵀ M u_y,   M = diag(ρ) − ρρᵀ / (1 + Σρ),   ρ_i = c_i / d_i,

(Sherman–Morrison on diag(d/c) + 11ᵀ). One image may have d_k = 0 (c_k = n/2 + 1); then
uᵀMw = Σ_{i≠k} ρ_i (u_i − u_k)(w_i − w_k) + u_k w_k (the limit). Q is the weighted cross moment
moments.py already computes (½·Σ_{i<j} w_ij x y); u = G c is a matrix product per RDM (B × n):
the only new n² work, about a third of the corr bootstrap's. Everything else is O(B·n) per pair.

Vectors are written in the basis [z_v = (x_v − mean_v) / sd_v, 1] (well conditioned in float32):
corr_cov compares z − (weighted mean of z)·1, cosine_cov compares z + (mean_v / sd_v)·1, so
P is needed among the z's and with the constant RDM 1 (u_1 = −½ (n − c)).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import squareform

from ..executor import current
from .moments import CONSTANT_TOLERANCE, Moments, stacked_rows

U_BYTES = (
    4e8  # float64 G·c vectors held at once (layers + one ROI), which sets the samples per chunk
)


@dataclass(frozen=True)
class Weights:
    """Per-sample quantities of M: ρ (B × n), γ = 1/(1
    + Σρ) (B), pivot image with d = 0 or −1 (B)."""

    rho: np.ndarray
    gamma: np.ndarray
    pivot: np.ndarray


@dataclass(frozen=True)
class Whitened:
    """Whitened inner products of one method: layer norms² (B, L), subject Gram (B, R, S, S),
    layer × subject (B, R, S, L); and Σ_{i<j} w·x² of each compared vector x, layers (B, L) and
    subjects (B, R, S): pool_rdm's normaliser, and the scale against which a norm counts as zero."""

    model_square: np.ndarray
    subject_gram: np.ndarray
    cross: np.ndarray
    model_norm: np.ndarray
    subject_norm: np.ndarray


def weights(counts: np.ndarray) -> Weights:
    """ρ, γ and the pivot of every sample from its image counts (B × n)."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(axis=1, keepdims=True)
    d = n + 2.0 - 2.0 * counts
    pivot_mask = (d == 0) & (counts > 0)
    pivot = np.where(pivot_mask.any(axis=1), pivot_mask.argmax(axis=1), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(pivot_mask, 0.0, counts / np.where(d == 0, 1.0, d))
    gamma = np.where(pivot >= 0, 0.0, 1.0 / (1.0 + rho.sum(axis=1)))
    return Weights(rho=rho, gamma=gamma, pivot=pivot)


def reduce(u: np.ndarray, w: Weights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ũ, ρᵀũ, e) with uᵀMw = Σρ ũ w̃ − γ (ρᵀũ)(ρᵀw̃) + e_u e_w; u: B × ... × n."""
    has_pivot = w.pivot >= 0
    pivot_value = np.take_along_axis(
        u, np.maximum(w.pivot, 0).reshape(-1, *([1] * (u.ndim - 1))), axis=-1
    )[..., 0]
    extra = np.where(has_pivot.reshape(-1, *([1] * (u.ndim - 2))), pivot_value, 0.0)
    reduced = u - extra[..., None]
    rho = w.rho.reshape(w.rho.shape[0], *([1] * (u.ndim - 2)), -1)
    return reduced, (reduced * rho).sum(axis=-1), extra


def bilinear(a: tuple, b: tuple, w: Weights) -> np.ndarray:
    """aᵀ M b for reduced stacks a (B × p × n) and b (B × q × n): B × p × q."""
    (ua, sa, ea), (ub, sb, eb) = a, b
    products = np.matmul(ua * w.rho[:, None, :], np.swapaxes(ub, 1, 2))
    return (
        products
        - w.gamma[:, None, None] * sa[:, :, None] * sb[:, None, :]
        + ea[:, :, None] * eb[:, None, :]
    )


def row_sums(
    v: int, *, rows: list, shift: np.ndarray, scale: np.ndarray, counts: np.ndarray, dtype: type
) -> np.ndarray:
    """G c = −½ Z c for RDM v (z standardised, zero diagonal) and every sample: B × n, float64."""
    z = ((np.asarray(rows[v], dtype=np.float64) - shift[v]) / scale[v]).astype(dtype)
    return -0.5 * (np.asarray(counts, dtype=dtype) @ squareform(z, checks=False)).astype(np.float64)


def _forms(
    rows: list,
    n_models: int,
    n_rois: int,
    n_subjects: int,
    counts: np.ndarray,
    shift: np.ndarray,
    scale: np.ndarray,
    dtype: type,
    advance: Callable[[float], None],
) -> tuple[np.ndarray, ...]:
    """uᵀMw for layer self, layer·1, 1·1, subject·1, subject Gram and subject × layer (B leading).

    G·c runs one task per RDM on the run's executor (results in order, so the bytes do not depend
    on threads or workers); only the layers' and the current ROI's vectors are held at once.
    """
    w = weights(counts)
    sent = np.asarray(
        counts, dtype=np.int16 if counts.max() < 2**15 else np.float64
    )  # small to send
    results = current().executor.map(
        row_sums,
        list(range(len(rows))),
        rows=list(rows),
        shift=shift,
        scale=scale,
        counts=sent,
        dtype=dtype,
    )
    with contextlib.closing(results):
        return _reduce_in_order(
            results, w, n_models, n_rois, n_subjects, counts, lambda k: advance(k / len(rows))
        )


def _reduce_in_order(
    results: Iterator[np.ndarray],
    w: Weights,
    n_models: int,
    n_rois: int,
    n_subjects: int,
    counts: np.ndarray,
    advance: Callable[[float], None],
) -> tuple[np.ndarray, ...]:
    """The forms from the G·c of the layers, then of each ROI's subjects, as they arrive."""
    samples, n = counts.shape
    one = -0.5 * (n - np.asarray(counts, dtype=np.float64))
    models = np.stack([next(results) for _ in range(n_models)] + [one], axis=1)  # B × (L+1) × n
    advance(n_models)
    models_r = reduce(models, w)
    model_forms = bilinear(models_r, models_r, w)  # B × (L+1) × (L+1)
    subject_one = np.empty((samples, n_rois, n_subjects))
    gram = np.empty((samples, n_rois, n_subjects, n_subjects))
    cross = np.empty((samples, n_rois, n_subjects, n_models))
    for r in range(n_rois):
        subjects_r = reduce(np.stack([next(results) for _ in range(n_subjects)], axis=1), w)
        gram[:, r] = bilinear(subjects_r, subjects_r, w)
        with_models = bilinear(subjects_r, models_r, w)
        cross[:, r], subject_one[:, r] = with_models[..., :-1], with_models[..., -1]
        advance(n_subjects)
    diagonal = np.arange(n_models)
    return (
        model_forms[:, diagonal, diagonal],
        model_forms[:, :-1, -1],
        model_forms[:, -1, -1],
        subject_one,
        gram,
        cross,
    )


def whitened_products(
    subject_rows: list[list[np.ndarray]],
    model_rows: list[np.ndarray],
    counts: np.ndarray,
    moments: Moments,
    shift: np.ndarray,
    scale: np.ndarray,
    method: str,
    dtype: type = np.float64,
) -> Whitened:
    """The inner products of the whitened vectors of every sample (see module doc).

    moments: moments.linear_moments(..., 'corr') of the same rows and counts, computed with this
    shift and scale (models first, then subjects ROI-major). counts: B × n image counts.
    """
    n_rois, n_subjects = len(subject_rows), len(subject_rows[0])
    n_models = len(model_rows)
    rows = stacked_rows(subject_rows, model_rows)
    samples = counts.shape[0]
    chunk = int(max(1, U_BYTES // (8 * counts.shape[1] * (n_models + 1 + 2 * n_subjects))))
    progress = current().advance("whitening") if samples > 1 else (lambda _: None)

    def chunk_progress(size: int) -> Callable[[float], None]:
        """Progress of one chunk of `size` samples, as a share of all samples."""
        return lambda fraction: progress(fraction * size / samples)

    parts = [
        _forms(
            rows,
            n_models,
            n_rois,
            n_subjects,
            counts[s : s + chunk],
            shift,
            scale,
            dtype,
            chunk_progress(min(chunk, samples - s)),
        )
        for s in range(0, samples, chunk)
    ]
    f_model, f_model_one, f_one, f_subject_one, f_gram, f_cross = (
        np.concatenate(p) for p in zip(*parts, strict=True)
    )
    # P = Q − 2 uᵀMw with Q = ½ Σ_{i<j} w z z' (the moments' sums)
    total = moments.total
    p_one = 0.5 * total - 2 * f_one
    p_model = 0.5 * moments.model_square - 2 * f_model
    p_model_one = 0.5 * moments.model_sum - 2 * f_model_one
    p_subject_one = 0.5 * moments.subject_sum - 2 * f_subject_one
    p_gram = 0.5 * moments.subject_gram - 2 * f_gram
    p_cross = 0.5 * moments.cross - 2 * f_cross
    # the compared vector is z + a·1
    if method == "corr_cov":
        a_model = -moments.model_sum / total[:, None]
        a_subject = -moments.subject_sum / total[:, None, None]
    elif method == "cosine_cov":
        ratio = shift / scale
        a_model = np.broadcast_to(ratio[:n_models], moments.model_sum.shape)
        a_subject = np.broadcast_to(
            ratio[n_models:].reshape(n_rois, n_subjects), moments.subject_sum.shape
        )
    else:
        raise ValueError(f"not a whitened method: {method!r}")
    one = p_one[:, None, None, None]
    model_square = p_model + 2 * a_model * p_model_one + a_model**2 * p_one[:, None]
    gram = (
        p_gram
        + a_subject[..., :, None] * p_subject_one[..., None, :]
        + a_subject[..., None, :] * p_subject_one[..., :, None]
        + a_subject[..., :, None] * a_subject[..., None, :] * one
    )
    cross = (
        p_cross
        + a_model[:, None, None, :] * p_subject_one[..., None]
        + a_subject[..., None] * p_model_one[:, None, None, :]
        + a_subject[..., None] * a_model[:, None, None, :] * one
    )
    subject_square = np.diagonal(moments.subject_gram, axis1=2, axis2=3)
    subject_norm = (
        subject_square + 2 * a_subject * moments.subject_sum + a_subject**2 * total[:, None, None]
    )
    model_norm = (
        moments.model_square + 2 * a_model * moments.model_sum + a_model**2 * total[:, None]
    )
    return Whitened(
        model_square=model_square,
        subject_gram=gram,
        cross=cross,
        model_norm=model_norm,
        subject_norm=subject_norm,
    )


def whitened_similarity(products: Whitened) -> np.ndarray:
    """Cosine of the whitened vectors per subject and layer: (B, R, S, L).

    NaN where a whitened norm² is rounding noise relative to Σw·x² (rsatoolbox's _cosine would
    give 0); the caller drops and counts such samples.
    """
    model = products.model_square[:, None, None, :]
    subject = np.diagonal(products.subject_gram, axis1=2, axis2=3)[..., None]
    defined = (model > CONSTANT_TOLERANCE * products.model_norm[:, None, None, :]) & (
        subject > CONSTANT_TOLERANCE * products.subject_norm[..., None]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(defined, products.cross / np.sqrt(np.abs(model * subject)), np.nan)
