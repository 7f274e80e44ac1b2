"""Resampled RDM comparisons without building resampled RDMs.

How rsatoolbox resamples (checked against rsatoolbox 0.3.2):

* `bootstrap_sample_pattern` draws n image indices with replacement and calls
  `RDMs.subsample_pattern`, which sets the diagonal to NaN *before* indexing and then takes
  rows and columns in sorted index order. Pairs between two copies of one image are therefore
  NaN and dropped by `compare` (`_parse_input_rdms` removes NaN positions); a pair of distinct
  images {i, j} appears c_i·c_j times, c = how often each image was drawn.
* Every comparison rsatoolbox makes is a function of the multiset of (x, y) values, so a
  resampled comparison equals the comparison on the original pairs with integer weights
  w_ij = c_i c_j (i < j). Order does not matter (rankdata and tau-a are order-free).
* `bootstrap_sample_rdm` draws subject indices with replacement and `RDMs.subsample` repeats
  rows; `compare` then returns one value per row and the evaluation is their mean, i.e. the
  subject-count-weighted mean of per-subject values.

For `corr` and `cosine` a weighted comparison needs only weighted moments, and each of those
is a quadratic form in the counts: Σ_{i<j} c_i c_j Z_ij = ½ cᵀ Z c. For B samples at once
that is a matrix product with the counts matrix C (B × n). `pair_sums` evaluates every needed
form block by block over the upper triangle (each pair of image blocks once, the diagonal
blocks in full and halved; inference/strips.py), so the work is ≈ ½ n² B multiply-adds per
form, done by BLAS, with no resampled RDM, no NaN and no Python loop over samples or pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..executor import current
from . import strips


def pair_sums(
    rows: list[np.ndarray],
    left: np.ndarray,
    right: np.ndarray,
    counts: np.ndarray,
    shift: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    dtype: type = np.float64,
    block: int | None = None,
    sample_chunk: int | None = None,
    progress: bool = False,
    full: bool = False,
    terms: strips.Terms | None = None,
) -> np.ndarray | tuple[np.ndarray, ...]:
    """Σ_{i<j} c_i c_j · z[left[k]]_ij · z[right[k]]_ij for every sample and form k.

    z_v = (rows[v] − shift_v) / scale_v, and index V (one past the last row) means the constant
    1. The work runs as strips of images (inference/strips.py) on the run's executor, in a fixed
    order: the result does not depend on the number of threads or workers.

    Parameters
    ----------
    rows : sequence of V (P,) vectors
        RDM vectors in np.triu_indices order over n images (arrays or rows of the aligned store).
    left, right : (K,) int arrays
        The two factors of each form, indices into rows (or V).
    counts : (B, n) array
        How often each image was drawn in each sample (c).
    shift, scale : (V,) arrays, optional
        Standardisation of each row (default 0 and 1).
    dtype : numpy float type
        float32 runs the products in single precision (counts are exact in float32; partial sums
        add up in float64).
    block, sample_chunk : int, optional
        Images per block and samples per product (default: from the memory budget).
    progress : bool
        Not used: progress is reported to the run's context (analysis.executor.current).
    full : bool
        Also return the sums on the data as they are (c = 1), from the same reads.
    terms : strips.Terms, optional
        More quadratic sums, of other rows of counts and of differences of rows, for the first
        terms.forms forms, from the same products (one more column of the matrix product per
        row of terms.vectors).

    Returns
    -------
    sums : (B, K) float64 array
    full_sums : (1, K) float64 array
        Only with `full` (None with `terms` and without `full`).
    term_sums : (terms.rows, terms.forms) float64 array
        Only with `terms`.
    """
    context = current()
    return strips.pair_sums(
        rows,
        left,
        right,
        counts,
        shift,
        scale,
        dtype=dtype,
        block=block,
        sample_chunk=sample_chunk,
        executor=context.executor,
        advance=context.advance("bootstrap") if counts.shape[0] > 1 else None,
        full=full,
        terms=terms,
    )


CONSTANT_TOLERANCE = 1e-12  # relative variance below which a resampled RDM counts as constant


@dataclass(frozen=True)
class Moments:
    """Weighted sums over the pairs of each sample (leading axis: samples).

    total W = Σw; model_sum Σw x; model_square Σw x²; subject_sum Σw y; subject_gram Σw y_s y_t;
    cross Σw x y. Shapes: (B,), (B, L), (B, L), (B, R, S), (B, R, S, S), (B, R, S, L).
    """

    total: np.ndarray
    model_sum: np.ndarray
    model_square: np.ndarray
    subject_sum: np.ndarray
    subject_gram: np.ndarray
    cross: np.ndarray


def standardisation(rows: list[np.ndarray], method: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-row shift and scale that make the moment sums well conditioned.

    corr is unchanged by x → (x − m)/s and cosine by x → x/s (s > 0), and so are the pooled
    RDMs of the noise ceiling. Centring avoids the cancellation in W·Σxy − Σx·Σy, which
    matters most in float32.
    """
    shift, scale = np.zeros(len(rows)), np.zeros(len(rows))
    for v, row in enumerate(rows):
        values = np.asarray(row)  # one read at a time when rows are stored on disk
        shift[v] = values.mean() if method == "corr" else 0.0
        scale[v] = np.sqrt(np.mean((values - shift[v]) ** 2))
    return shift, np.where(scale > 0, scale, 1.0)


def stacked_rows(
    subject_rows: list[list[np.ndarray]], model_rows: list[np.ndarray]
) -> list[np.ndarray]:
    """Every RDM in the order the moments index them
    (`form_indices`): models first, then subjects ROI-major."""
    return list(model_rows) + [row for roi in subject_rows for row in roi]


def form_indices(n_models: int, n_rois: int, n_subjects: int) -> dict[str, np.ndarray]:
    """Index pairs (into [models, subjects (roi-major), 1]) of every moment `Moments` holds."""
    one = n_models + n_rois * n_subjects
    subject = n_models + np.arange(n_rois * n_subjects).reshape(n_rois, n_subjects)
    model = np.arange(n_models)
    s_left, s_right = np.broadcast_arrays(subject[:, :, None], subject[:, None, :])
    c_left, c_right = np.broadcast_arrays(subject[:, :, None], model[None, None, :])
    return {
        "total": (np.array([one]), np.array([one])),
        "model_sum": (model, np.full(n_models, one)),
        "model_square": (model, model),
        "subject_sum": (subject.ravel(), np.full(subject.size, one)),
        "subject_gram": (s_left.ravel(), s_right.ravel()),
        "cross": (c_left.ravel(), c_right.ravel()),
    }


def linear_moments(
    subject_rows: list[list[np.ndarray]],
    model_rows: list[np.ndarray],
    counts: np.ndarray,
    method: str,
    dtype: type = np.float64,
    progress: bool = False,
    standard: tuple[np.ndarray, np.ndarray] | None = None,
    gram: bool = True,
) -> Moments:
    """Weighted moments of every sample for corr/cosine, by `pair_sums` (one pass over the pairs).

    subject_rows[r][s]: ROI r of subject s (vectors, read in place); model_rows: L vectors;
    counts: B × n image counts (a single row of ones gives the moments of the data as they are).
    The symmetric subject Gram is computed for s ≤ t only and mirrored. standard: the (shift,
    scale) of the rows (models first, then subjects ROI-major), default `standardisation`.
    gram=False: only the Gram's diagonal (Σw y_s², what `similarity` needs), NaN elsewhere.
    """
    return _moments(
        subject_rows, model_rows, counts, method, dtype, progress, standard, False, gram
    )


def sample_and_full_moments(
    subject_rows: list[list[np.ndarray]],
    model_rows: list[np.ndarray],
    counts: np.ndarray,
    method: str,
    dtype: type = np.float64,
    progress: bool = False,
    standard: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[Moments, Moments]:
    """`linear_moments` of the samples (in `dtype`) and of the data as
    they are (float64), from one read of every RDM: at the deposit's
    size the RDMs exceed memory and each read is a read from disk."""
    return _moments(subject_rows, model_rows, counts, method, dtype, progress, standard, True)


def sample_full_and_term_moments(
    subject_rows: list[list[np.ndarray]],
    model_rows: list[np.ndarray],
    counts: np.ndarray,
    method: str,
    terms: strips.Terms,
    dtype: type = np.float64,
    progress: bool = False,
    standard: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[Moments, Moments, Moments]:
    """`sample_and_full_moments` and, from the same products, the moments of the rows of counts
    of `terms` (strips.Terms, its `forms` ignored) for every moment but the off-diagonal
    subject Gram (NaN there, as `linear_moments(gram=False)`): e.g. a fold A of the images, c_A,
    and the rest, c − c_A."""
    return _moments(
        subject_rows, model_rows, counts, method, dtype, progress, standard, True, terms=terms
    )


def _moments(
    subject_rows,
    model_rows,
    counts,
    method,
    dtype,
    progress,
    standard,
    full,
    gram=True,
    terms=None,
):
    n_rois, n_subjects = len(subject_rows), len(subject_rows[0])
    n_models = len(model_rows)
    rows = stacked_rows(subject_rows, model_rows)
    shift, scale = standardisation(rows, method) if standard is None else standard
    idx = form_indices(n_models, n_rois, n_subjects)
    # the Gram's diagonal (every ROI) first, then (with `gram`) its upper triangle: the forms
    # `similarity` needs are a leading block, the ones the terms are computed for
    diagonal = (np.arange(n_subjects),) * 2
    off = np.triu_indices(n_subjects, 1) if gram else (np.arange(0),) * 2
    gram_forms = [
        idx["subject_gram"][side].reshape(n_rois, n_subjects, n_subjects)[:, part[0], part[1]]
        for part in (diagonal, off)
        for side in (0, 1)
    ]
    names = ["total", "model_sum", "model_square", "subject_sum", "cross"]
    left = np.concatenate([idx[k][0] for k in names] + [f.ravel() for f in gram_forms[0::2]])
    right = np.concatenate([idx[k][1] for k in names] + [f.ravel() for f in gram_forms[1::2]])
    layout = (names, idx, n_rois, n_subjects, n_models, off)
    if terms is not None:
        wide = sum(idx[k][0].size for k in names) + n_rois * n_subjects
        terms = strips.Terms(terms.vectors, terms.first, terms.minus, terms.length, wide)
    sums = pair_sums(
        rows,
        left,
        right,
        counts,
        shift,
        scale,
        dtype=dtype,
        progress=progress,
        full=full,
        terms=terms,
    )
    if terms is not None:
        samples, full_sums, term_sums = sums
        no_off = (*layout[:-1], (np.arange(0),) * 2)
        return _unpack(samples, *layout), _unpack(full_sums, *layout), _unpack(term_sums, *no_off)
    if not full:
        return _unpack(sums, *layout)
    return tuple(_unpack(part, *layout) for part in sums)


def _unpack(
    sums: np.ndarray,
    names: list[str],
    idx: dict,
    n_rois: int,
    n_subjects: int,
    n_models: int,
    off: tuple[np.ndarray, np.ndarray],
) -> Moments:
    """Moments from the sums of the forms in `_moments`' order: names, the Gram's diagonal
    (R × S), then its entries `off` (R × len(off[0]), mirrored); NaN elsewhere."""
    samples = sums.shape[0]
    parts = {}
    offset = 0
    for name in names:
        width = idx[name][0].size
        parts[name] = sums[:, offset : offset + width]
        offset += width
    gram = np.full((samples, n_rois, n_subjects, n_subjects), np.nan)
    diagonal = np.arange(n_subjects)
    gram[:, :, diagonal, diagonal] = sums[:, offset : offset + n_rois * n_subjects].reshape(
        samples, n_rois, n_subjects
    )
    packed = sums[:, offset + n_rois * n_subjects :].reshape(samples, n_rois, -1)
    gram[:, :, off[0], off[1]] = packed
    gram[:, :, off[1], off[0]] = packed
    return Moments(
        total=parts["total"][:, 0],
        model_sum=parts["model_sum"],
        model_square=parts["model_square"],
        subject_sum=parts["subject_sum"].reshape(samples, n_rois, n_subjects),
        subject_gram=gram,
        cross=parts["cross"].reshape(samples, n_rois, n_subjects, n_models),
    )


def centred_gram(moments: Moments, method: str) -> np.ndarray:
    """Subject × subject weighted (co)variances ×W² for
    corr, raw Σw y_s y_t for cosine: (B, R, S, S)."""
    if method == "cosine":
        return moments.subject_gram
    total = moments.total[:, None, None, None]
    sums = moments.subject_sum
    return total * moments.subject_gram - sums[..., :, None] * sums[..., None, :]


def similarity(moments: Moments, method: str) -> np.ndarray:
    """Per-subject similarity of every layer under each sample's weights: (B, R, S, L).

    corr/spearman: weighted Pearson; cosine: weighted cosine; rho-a: rsatoolbox's
    12·Σ(r_x − m)(r_y − m)/(N³ − N). A zero norm gives NaN here (rsatoolbox's _cosine would give
    0); such samples are dropped and counted by the caller.
    """
    total = moments.total[:, None, None, None]
    sx = moments.model_sum[:, None, None, :]
    sxx = moments.model_square[:, None, None, :]
    sy = moments.subject_sum[..., None]
    syy = np.diagonal(moments.subject_gram, axis1=2, axis2=3)[..., None]
    sxy = moments.cross
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "cosine":
            return sxy / np.sqrt(sxx * syy)
        covariance = total * sxy - sx * sy
        if method == "rho-a":
            return 12.0 * covariance / (total * (total**3 - total))
        variance_x = total * sxx - sx**2
        variance_y = total * syy - sy**2
        # A constant resampled RDM leaves rounding noise, not an exact 0, in W·Σwx² − (Σwx)².
        defined_x = variance_x > CONSTANT_TOLERANCE * total * sxx
        defined_y = variance_y > CONSTANT_TOLERANCE * total * syy
        return covariance / np.sqrt(
            np.where(defined_x, variance_x, np.nan) * np.where(defined_y, variance_y, np.nan)
        )


def pair_weights(counts: np.ndarray) -> np.ndarray:
    """w_ij = c_i c_j for every sample (B × pairs, np.triu_indices order)."""
    rows, cols = np.triu_indices(counts.shape[1], 1)
    counts = np.asarray(counts, dtype=np.float64)
    return counts[:, rows] * counts[:, cols]
