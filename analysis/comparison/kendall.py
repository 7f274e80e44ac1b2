"""Kendall's tau-a as rsatoolbox's `_tau_a` computes it, for many pairs of RDM vectors.

* `tau_a_many`: exactly rsatoolbox's integer counts. Each vector is sorted once (models for their
  order, data for their dense ranks); a pair then gathers y's dense ranks into x's order and
  counts their inversions (the discordant pairs) in a most-significant-digit radix sort with
  12-bit digits: inside each segment of equal higher digits, the inversions of a digit are read
  from 16-lane counters per 4-bit nibble, and the segment is split by the digit in two cache-sized
  scatters. O(P log P), compiled (kendall_kernels.py), on threads.
* `weighted_tau_a`: tau-a of a resampled pair of vectors. No library does weighted Kendall
  counts for integer weights, so it is hand-written as the quadratic form ½ wᵀ S w of the sign
  kernel S; that costs O(pairs²) per sample and is only feasible for small RDMs (see
  analysis.inference.rank_moments).

The counts: tau = (tot - xtie - ytie + ntie - 2 dis) / tot, with tot = P(P-1)/2 pairs, xtie / ytie
the pairs tied in x / y, ntie those tied in both and dis the discordant pairs (rsatoolbox's names).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .kendall_kernels import Ranked, rank_vector, tau_a_pairs

__all__ = ["Ranked", "RankedRows", "rank_rows", "rank_vector", "tau_a_many", "weighted_tau_a"]


def _checked_rows(vectors: np.ndarray) -> np.ndarray:
    rows = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    if np.isnan(rows).any():
        raise ValueError(
            "tau-a of vectors with NaN is undefined here (rsatoolbox drops NaN entries first)"
        )
    return rows


@dataclass(frozen=True)
class RankedRows:
    """Rows sorted once (e.g. a batch of layers), for every later `tau_a_many` with them."""

    rows: tuple[Ranked, ...]


def rank_rows(vectors: np.ndarray, threads: int | None = None) -> RankedRows:
    """Sort each row once (on `threads` threads), so that later tau-a calls with these rows skip the
    sort.

    Parameters
    ----------
    vectors : (N, P) array
        Vectors without NaN.
    threads : int, optional
        Threads (default: every core).

    Returns
    -------
    RankedRows
        N sorted rows, usable as ``tau_a_many``'s models.
    """
    vectors = _checked_rows(vectors)
    threads = (os.cpu_count() or 1) if threads is None else max(1, threads)
    with ThreadPoolExecutor(threads) as pool:
        return RankedRows(tuple(pool.map(rank_vector, vectors)))


def tau_a_many(
    models: np.ndarray | RankedRows,
    data: np.ndarray,
    threads: int | None = None,
    min_work: float = 5e7,
) -> np.ndarray:
    """Kendall's tau-a of every model row with every data row, as rsatoolbox's ``_tau_a``.

    Every row is sorted once (models given as ``rank_rows`` are not sorted again); each pair then
    costs a gather and one compiled discordant-pair count (kendall_kernels.py).

    Parameters
    ----------
    models : (M, P) array, or RankedRows of M rows
        Model vectors (no NaN).
    data : (D, P) array, or one (P,) vector
        Data vectors (no NaN).
    threads : int, optional
        Threads for the rows and pairs (default: every core; the compiled code releases the GIL).
    min_work : float
        Below this many pairs × entries (M · D · P) the work runs on one thread.

    Returns
    -------
    (M, D) float64 array
        tau-a of model m with data row d.
    """
    data = _checked_rows(data)
    model_rows = None if isinstance(models, RankedRows) else _checked_rows(models)
    n_models = len(models.rows) if model_rows is None else model_rows.shape[0]
    threads = (os.cpu_count() or 1) if threads is None else max(1, threads)
    if n_models * data.shape[0] * data.shape[1] < min_work:
        threads = 1
    pairs = [(m, d) for m in range(n_models) for d in range(data.shape[0])]
    # a few chunks per thread, so that a thread slowed by other work does not hold up the rest
    chunks = [
        list(part) for part in np.array_split(np.arange(len(pairs)), 4 * threads) if len(part)
    ]
    with ThreadPoolExecutor(threads) as pool:
        if model_rows is None:
            ranked_models, ranked_data = list(models.rows), list(pool.map(rank_vector, data))
        else:
            ranked = list(pool.map(rank_vector, [*model_rows, *data]))
            ranked_models, ranked_data = ranked[:n_models], ranked[n_models:]
        values = pool.map(
            tau_a_pairs,
            [[pairs[k] for k in chunk] for chunk in chunks],
            [ranked_models] * len(chunks),
            [ranked_data] * len(chunks),
        )
    return np.array([v for part in values for v in part]).reshape(n_models, data.shape[0])


def weighted_tau_a(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, block: int = 256
) -> np.ndarray:
    """Kendall's tau-a of resampled vectors, one per row of `weights`.

    Copies of one entry are tied in both vectors, so they add nothing to the numerator, but they
    count in the denominator N(N-1)/2 with N = Σ w, as in rsatoolbox's tau-a on the resampled
    vector. Exact; O(B · P²) work in row blocks, so only for small RDMs.

    Parameters
    ----------
    x, y : (P,) or (B, P) arrays
        The two vectors (one per sample, or one for all).
    weights : (B, P) array
        Multiplicity of each entry in each sample.
    block : int
        Rows of the P × P sign kernel per step (memory B · block · P).

    Returns
    -------
    (B,) float64 array
        tau-a of each sample, clipped to [-1, 1].
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    samples, length = weights.shape
    x = np.broadcast_to(np.atleast_2d(x), (samples, length))
    y = np.broadcast_to(np.atleast_2d(y), (samples, length))
    numerator = np.zeros(samples)
    for start in range(0, length, block):  # blocks of rows of the pairs × pairs sign kernel
        stop = min(start + block, length)
        sign = np.sign(x[:, start:stop, None] - x[:, None, :]) * np.sign(
            y[:, start:stop, None] - y[:, None, :]
        )
        numerator += np.einsum("bp,bpq,bq->b", weights[:, start:stop], sign, weights)
    n = weights.sum(axis=1)
    tau = (numerator / 2.0) / (n * (n - 1) / 2.0)
    return np.clip(tau, -1.0, 1.0)
