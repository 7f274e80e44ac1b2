"""Whitened RDM comparisons, rsatoolbox's `cosine_cov` and `corr_cov` with sigma_k = identity.

rsatoolbox whitens an RDM by the covariance of its entries under i.i.d. pattern noise. For
sigma_k = identity its `_cov_weighting` is a linear CKA: G = −½·D (the RDM as a matrix with a
zero diagonal) is double-centred, B = G − row means − column means + grand mean, and the
comparison is the cosine between the vectors [√2·B_ij for i < j, then B_ii] (the √2 counts each
off-diagonal entry twice, as the full matrix has it: a cosine between the whole matrices B).
rsatoolbox builds that with indicator matrices of one row per image pair, which does not finish
for thousands of images; here it is row sums (np.bincount) and a gather: O(pairs) per RDM.
`corr_cov` first subtracts each vector's mean, as rsatoolbox does. The whitening assumes that the
noise of the patterns behind the RDM is independent and equal across images (sigma_k = identity).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=2)
def _triangle(n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every pair in np.triu_indices order (computed once per size)."""
    rows, cols = np.triu_indices(n_images, 1)
    return rows, cols


def images_of(n_pairs: int) -> int:
    """The number of images whose upper triangle has `n_pairs` entries."""
    n = int(round((1 + np.sqrt(1 + 8 * n_pairs)) / 2))
    if n * (n - 1) // 2 != n_pairs:
        raise ValueError(f"{n_pairs} is not the length of an RDM's upper triangle")
    return n


def whitened(vectors: np.ndarray) -> np.ndarray:
    """rsatoolbox's `_cov_weighting(vector, all-True, sigma_k=None)`: for each RDM vector, the
    double-centred −½·D as [upper triangle in triu order, then the diagonal] (pairs + n entries)."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    n = images_of(vectors.shape[1])
    rows, cols = _triangle(n)
    out = np.empty((vectors.shape[0], vectors.shape[1] + n))
    for k, vector in enumerate(vectors):  # one RDM at a time: a few vectors of pairs in memory
        g = -0.5 * vector
        row_means = (np.bincount(rows, g, minlength=n) + np.bincount(cols, g, minlength=n)) / n
        grand = 2.0 * g.sum() / (n * n)
        out[k, :-n] = (g - row_means[rows] - row_means[cols] + grand) * np.sqrt(
            2.0
        )  # B_ij and B_ji
        out[k, -n:] = grand - 2.0 * row_means
    return out


def prepare_cosine_cov(vectors: np.ndarray) -> np.ndarray:
    """Vectors whose cosine is rsatoolbox's cosine_cov (sigma_k = identity)."""
    return whitened(vectors)


def prepare_corr_cov(vectors: np.ndarray) -> np.ndarray:
    """Vectors whose cosine is rsatoolbox's corr_cov
    (sigma_k = identity): centred, then whitened."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    return whitened(vectors - vectors.mean(axis=1, keepdims=True))
