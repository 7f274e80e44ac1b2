"""Kendall's tau-a as rsatoolbox's `_tau_a` computes it, for many pairs of RDM vectors.

* `tau_a_many`: exactly rsatoolbox's integer counts, with each model sorted once and scipy's
  compiled discordant-pair counter.
* `weighted_tau_a`: tau-a of a resampled pair of vectors. No library does weighted Kendall
  counts for integer weights, so it is hand-written as the quadratic form ½ wᵀ S w of the sign
  kernel S; that costs O(pairs²) per sample and is only feasible for small RDMs (see
  analysis.inference.rank_moments).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.stats

try:  # scipy's compiled merge-sort counter (the one rsatoolbox's _tau_a uses); private API
    from scipy.stats._stats import _kendall_dis
except ImportError:  # pragma: no cover - depends on the scipy version
    _kendall_dis = None


def _dense_ranks_sorted(values_sorted: np.ndarray) -> np.ndarray:
    """1-based dense ranks of an ascending vector (equal values share one rank)."""
    new_value = np.empty(values_sorted.shape[0], dtype=bool)
    new_value[0] = True
    new_value[1:] = values_sorted[1:] != values_sorted[:-1]
    return np.cumsum(new_value, dtype=np.intp)


def _tie_pairs(dense_sorted: np.ndarray) -> int:
    """Number of tied pairs in a sorted dense-rank vector: Σ t(t-1)/2 over tie groups."""
    counts = np.diff(np.flatnonzero(np.r_[True, dense_sorted[1:] != dense_sorted[:-1], True]))
    return int((counts * (counts - 1) // 2).sum())


def _discordant(x_dense: np.ndarray, y_dense: np.ndarray) -> int:
    """Discordant pairs of y given x sorted ascending and y ascending within x ties."""
    if _kendall_dis is not None:
        return int(_kendall_dis(x_dense, y_dense))
    # fallback: scipy's public tau-b and the tie counts give the same integer back
    raise RuntimeError("scipy.stats._stats._kendall_dis is unavailable in this scipy")  # pragma: no cover


def _dense_ranks(row: np.ndarray) -> tuple[np.ndarray, int]:
    """1-based dense ranks of a vector and its number of tied pairs."""
    order = np.argsort(row)
    dense_sorted = _dense_ranks_sorted(row[order])
    dense = np.empty(row.shape[0], dtype=np.intp)
    dense[order] = dense_sorted
    return dense, _tie_pairs(dense_sorted)

_TAU_SHARED: dict = {}  # the dense-ranked data, inherited by forked workers (not pickled)


def _tau_a_rows(task: tuple[int, list[int]]) -> tuple[int, list[int], np.ndarray]:
    """tau-a of one model with some data rows; the model is sorted once for all of them."""
    m, data_rows = task
    row = _TAU_SHARED["models"][m]
    data_dense, data_ties = _TAU_SHARED["data_dense"], _TAU_SHARED["data_ties"]
    size = row.shape[0]
    total = size * (size - 1) // 2
    order = np.argsort(row)  # order inside x ties is irrelevant: y is re-sorted there below
    x_dense = _dense_ranks_sorted(row[order])
    x_has_ties = x_dense[-1] < size
    x_ties = _tie_pairs(x_dense)
    values = np.empty(len(data_rows))
    for k, d in enumerate(data_rows):
        y_dense = data_dense[d][order]
        joint_ties = 0
        if x_has_ties:  # y must ascend inside each x tie group; joint ties need an x tie
            y_dense = y_dense[np.argsort(x_dense * (size + 1) + y_dense)]
            joint_new = np.r_[True, (x_dense[1:] != x_dense[:-1]) | (y_dense[1:] != y_dense[:-1]), True]
            counts = np.diff(np.flatnonzero(joint_new))
            joint_ties = int((counts * (counts - 1) // 2).sum())
        discordant = _discordant(x_dense, y_dense)
        tau = (total - x_ties - data_ties[d] + joint_ties - 2 * discordant) / total
        values[k] = min(1.0, max(-1.0, tau))
    return m, list(data_rows), values


def tau_a_many(models: np.ndarray, data: np.ndarray, processes: int | None = None,
               min_work: float = 5e7) -> np.ndarray:
    """Kendall's tau-a of every model row with every data row (n_models × n_data), as rsatoolbox.

    Each model is sorted once and each data row is dense-ranked once; a pair then costs a
    gather and one O(P log P) compiled discordant-pair count. The integers are the ones
    rsatoolbox's `_tau_a` computes: tau = (tot - xtie - ytie + ntie - 2 dis) / tot.
    scipy's counter holds the GIL, so large jobs are split over forked worker processes
    (one per core), which inherit the ranked data without copying it.
    """
    models = np.atleast_2d(np.asarray(models, dtype=np.float64))
    data = np.atleast_2d(np.asarray(data, dtype=np.float64))
    size = models.shape[1]
    with ThreadPoolExecutor(min(os.cpu_count() or 1, data.shape[0])) as pool:  # argsort releases the GIL
        ranked = list(pool.map(_dense_ranks, data))
    data_dense = [dense for dense, _ in ranked]
    data_ties = [ties for _, ties in ranked]
    _TAU_SHARED.update(models=models, data_dense=data_dense, data_ties=data_ties)
    processes = (os.cpu_count() or 1) if processes is None else processes
    big = models.shape[0] * data.shape[0] * size >= min_work
    halves = [list(part) for part in np.array_split(np.arange(data.shape[0]), 2 if big else 1) if len(part)]
    tasks = [(m, part) for m in range(models.shape[0]) for part in halves]
    result = np.empty((models.shape[0], data.shape[0]))
    try:
        if processes > 1 and big and "fork" in multiprocessing.get_all_start_methods():
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                outputs = pool.map(_tau_a_rows, tasks, chunksize=1)
        else:
            outputs = [_tau_a_rows(task) for task in tasks]
    finally:
        _TAU_SHARED.clear()
    for m, rows, values in outputs:
        result[m, rows] = values
    return result


def weighted_tau_a(x: np.ndarray, y: np.ndarray, weights: np.ndarray, block: int = 256) -> np.ndarray:
    """Kendall's tau-a of resampled vectors, one per row of `weights` (samples,).

    x, y: (pairs,) or (samples × pairs); weights: samples × pairs multiplicities. Copies of one
    entry are tied in both vectors, so they add nothing to the numerator, but they count in the
    denominator N(N-1)/2 with N = Σ w, as in rsatoolbox's tau-a on the resampled vector.
    Exact; O(samples · pairs²) work in row blocks, so only for small RDMs.
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    samples, length = weights.shape
    x = np.broadcast_to(np.atleast_2d(x), (samples, length))
    y = np.broadcast_to(np.atleast_2d(y), (samples, length))
    numerator = np.zeros(samples)
    for start in range(0, length, block):  # blocks of rows of the pairs × pairs sign kernel
        stop = min(start + block, length)
        sign = (np.sign(x[:, start:stop, None] - x[:, None, :])
                * np.sign(y[:, start:stop, None] - y[:, None, :]))
        numerator += np.einsum("bp,bpq,bq->b", weights[:, start:stop], sign, weights)
    n = weights.sum(axis=1)
    tau = (numerator / 2.0) / (n * (n - 1) / 2.0)
    return np.clip(tau, -1.0, 1.0)


def tau_a_scipy_free(x: np.ndarray, y: np.ndarray) -> float:
    """Tau-a from scipy's public kendalltau (tau-b) and the tie counts; for cross-checks."""
    tau_b = scipy.stats.kendalltau(x, y).statistic
    size = x.size
    total = size * (size - 1) / 2
    x_ties = _tie_pairs(_dense_ranks_sorted(np.sort(x)))
    y_ties = _tie_pairs(_dense_ranks_sorted(np.sort(y)))
    return float(tau_b * np.sqrt(total - x_ties) * np.sqrt(total - y_ties) / total)
