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

For `corr` and `cosine` a weighted comparison needs only weighted moments, and each of those is
a quadratic form in the counts: Σ_{i<j} c_i c_j Z_ij = ½ cᵀ Z c. For B samples at once that is a
matrix product with the counts matrix C (B × n). `pair_sums` evaluates every needed form
block by block over the upper triangle (each pair of image blocks once, the diagonal blocks in
full and halved), so the work is ≈ ½ n² B multiply-adds per form, done by BLAS, with no
resampled RDM, no NaN and no Python loop over samples or pairs.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from ..reading.align import condensed_index
from ..runtime import progress_bar, worker_count


def image_blocks(n: int, block: int) -> list[tuple[int, int]]:
    """Consecutive [start, stop) ranges of about `block` images covering 0..n."""
    count = max(1, int(np.ceil(n / block)))
    edges = np.linspace(0, n, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _block_values(rows: list[np.ndarray], shift: np.ndarray, scale: np.ndarray, n: int,
                  a: tuple[int, int], b: tuple[int, int], dtype: type) -> np.ndarray:
    """The (images in a) × (images in b) block of every RDM row, standardised, as |a| × (V+1) × |b|.

    Row V is the constant 1. A diagonal block (a == b) is returned in full (both triangles) with
    a zero diagonal. Rows are read in place (views), so no copy of the RDMs is made.
    """
    image_rows = np.arange(*a)[:, None]
    image_cols = np.arange(*b)[None, :]
    low, high = np.minimum(image_rows, image_cols), np.maximum(image_rows, image_cols)
    index = condensed_index(low, high, n)
    diagonal = low == high
    index[diagonal] = 0
    values = np.empty((a[1] - a[0], len(rows) + 1, b[1] - b[0]), dtype=dtype)
    for v, row in enumerate(rows):
        values[:, v, :] = (row[index] - shift[v]) / scale[v]
    values[:, -1, :] = 1.0
    if a == b:
        values[diagonal.nonzero()[0], :, diagonal.nonzero()[1]] = 0.0
    return values


def pair_sums(rows: list[np.ndarray], left: np.ndarray, right: np.ndarray, counts: np.ndarray,
              shift: np.ndarray | None = None, scale: np.ndarray | None = None,
              dtype: type = np.float64, block: int = 320, sample_chunk: int = 200,
              progress: bool = False) -> np.ndarray:
    """Σ_{i<j} c_i c_j · z[left[k]]_ij · z[right[k]]_ij for every sample and form k.

    rows: V RDM vectors (np.triu_indices order), z_v = (rows[v] − shift_v) / scale_v; index V
    means the constant 1. left, right: K form indices; counts: B × n image counts. Returns B × K
    in float64. `dtype=np.float32` runs the products in single precision (counts are exact in
    float32; each block's partial sum is added to a float64 total).
    """
    n = counts.shape[1]
    shift = np.zeros(len(rows)) if shift is None else shift
    scale = np.ones(len(rows)) if scale is None else scale
    left = np.asarray(left)
    right = np.asarray(right)
    counts_t = np.asarray(counts, dtype=dtype)
    blocks = image_blocks(n, block)
    block_pairs = [(a, b) for i, a in enumerate(blocks) for b in blocks[i:]]

    def block_sums(pair: tuple[tuple[int, int], tuple[int, int]]) -> np.ndarray:
        a, b = pair
        values = _block_values(rows, shift, scale, n, a, b, dtype)
        forms = values[:, left, :] * values[:, right, :]  # |a| × K × |b|
        del values
        if a == b:
            forms *= 0.5  # the full square counts each pair twice
        forms = forms.reshape(forms.shape[0], -1)
        sums = np.empty((counts.shape[0], left.size))
        for start in range(0, counts.shape[0], sample_chunk):
            chunk = slice(start, start + sample_chunk)
            partial = counts_t[chunk, a[0]:a[1]] @ forms  # Bc × (K·|b|)
            partial = partial.reshape(partial.shape[0], left.size, b[1] - b[0])
            sums[chunk] = np.matmul(partial, counts_t[chunk, b[0]:b[1], None])[..., 0]
        return sums

    # Block pairs run in parallel threads, each with single-threaded BLAS, and are summed in a
    # fixed order: the result does not depend on how many threads there are.
    totals = np.zeros((counts.shape[0], left.size))
    bar = progress_bar(len(block_pairs), "bootstrap (image blocks)", progress)
    try:
        with threadpool_limits(limits=1, user_api="blas"), \
                ThreadPoolExecutor(max_workers=worker_count()) as pool:
            for sums in pool.map(block_sums, block_pairs):
                totals += sums
                bar.update(1)
    finally:
        bar.close()
    return totals


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
    shift = np.array([row.mean() if method == "corr" else 0.0 for row in rows])
    scale = np.array([np.sqrt(np.mean((row - m) ** 2)) for row, m in zip(rows, shift)])
    return shift, np.where(scale > 0, scale, 1.0)


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


def linear_moments(subject_rows: list[list[np.ndarray]], model_rows: list[np.ndarray], counts: np.ndarray,
                   method: str, dtype: type = np.float64, progress: bool = False) -> Moments:
    """Weighted moments of every sample for corr/cosine, by `pair_sums` (one pass over the pairs).

    subject_rows[r][s]: ROI r of subject s (vectors, read in place); model_rows: L vectors;
    counts: B × n image counts (a single row of ones gives the moments of the data as they are).
    The symmetric subject Gram is computed for s ≤ t only and mirrored.
    """
    n_rois, n_subjects = len(subject_rows), len(subject_rows[0])
    n_models = len(model_rows)
    rows = list(model_rows) + [row for roi in subject_rows for row in roi]
    shift, scale = standardisation(rows, method)
    idx = form_indices(n_models, n_rois, n_subjects)
    upper = np.triu_indices(n_subjects)
    gram_left = idx["subject_gram"][0].reshape(n_rois, n_subjects, n_subjects)[:, upper[0], upper[1]].ravel()
    gram_right = idx["subject_gram"][1].reshape(n_rois, n_subjects, n_subjects)[:, upper[0], upper[1]].ravel()
    names = ["total", "model_sum", "model_square", "subject_sum", "cross"]
    left = np.concatenate([idx[k][0] for k in names] + [gram_left])
    right = np.concatenate([idx[k][1] for k in names] + [gram_right])
    sums = pair_sums(rows, left, right, counts, shift, scale, dtype=dtype, progress=progress)
    return _unpack(sums, names, idx, n_rois, n_subjects, n_models, upper)


def _unpack(sums: np.ndarray, names: list[str], idx: dict, n_rois: int, n_subjects: int,
            n_models: int, upper: tuple[np.ndarray, np.ndarray]) -> Moments:
    samples = sums.shape[0]
    parts = {}
    offset = 0
    for name in names:
        width = idx[name][0].size
        parts[name] = sums[:, offset:offset + width]
        offset += width
    gram = np.empty((samples, n_rois, n_subjects, n_subjects))
    packed = sums[:, offset:].reshape(samples, n_rois, -1)
    gram[:, :, upper[0], upper[1]] = packed
    gram[:, :, upper[1], upper[0]] = packed
    return Moments(
        total=parts["total"][:, 0],
        model_sum=parts["model_sum"],
        model_square=parts["model_square"],
        subject_sum=parts["subject_sum"].reshape(samples, n_rois, n_subjects),
        subject_gram=gram,
        cross=parts["cross"].reshape(samples, n_rois, n_subjects, n_models),
    )


def centred_gram(moments: Moments, method: str) -> np.ndarray:
    """Subject × subject weighted (co)variances ×W² for corr, raw Σw y_s y_t for cosine: (B, R, S, S)."""
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
            return 12.0 * covariance / (total * (total ** 3 - total))
        variance_x = total * sxx - sx ** 2
        variance_y = total * syy - sy ** 2
        return covariance / np.sqrt(np.where(variance_x > 0, variance_x, np.nan)
                                    * np.where(variance_y > 0, variance_y, np.nan))


def pair_weights(counts: np.ndarray) -> np.ndarray:
    """w_ij = c_i c_j for every sample (B × pairs, np.triu_indices order)."""
    rows, cols = np.triu_indices(counts.shape[1], 1)
    counts = np.asarray(counts, dtype=np.float64)
    return counts[:, rows] * counts[:, cols]
