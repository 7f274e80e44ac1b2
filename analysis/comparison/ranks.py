"""Rank once, compare many times: average ranks of many vectors, weighted ranks of a resampling.

rsatoolbox ranks inside every comparison (scipy.stats.rankdata per call). Here each RDM vector is
sorted once:

* `average_ranks`: ranks of many vectors with one unstable argsort per row (average ranks do
  not depend on the order inside a tie, so numpy's SIMD quicksort is enough; rankdata uses a
  slower stable sort).
* `weighted_ranks`: the ranks rsatoolbox's rankdata gives a *resampled* vector. A bootstrap
  sample repeats the pair {i, j} `w = c_i c_j` times (c = image counts, see
  analysis.inference.moments); every copy of a value then shares the mid-rank of its tie group
  over the total weight. Given the sort order (computed once), that is one cumulative sum per
  sample, no new sort.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def _average_ranks_row(row: np.ndarray) -> np.ndarray:
    order = np.argsort(row)
    ranks = np.empty(row.shape[0])
    ranks[order] = midranks_sorted(row[order][None])[0]
    return ranks


def average_ranks(vectors: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Average ranks (1-based, ties share their mean rank) of each row, equal to scipy's rankdata.

    Long rows are ranked in a thread pool (numpy's argsort releases the GIL).

    Parameters
    ----------
    vectors : (N, P) array, or one (P,) vector
    threads : int, optional
        Threads (default: as many as rows, at most the cores this process may use).

    Returns
    -------
    (N, P) float64 array
    """
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    threads = min(os.cpu_count() or 1, vectors.shape[0]) if threads is None else threads
    if threads <= 1 or vectors.shape[1] < 100_000:
        return np.stack([_average_ranks_row(row) for row in vectors])
    with ThreadPoolExecutor(threads) as pool:
        return np.stack(list(pool.map(_average_ranks_row, vectors)))


def midranks_sorted(
    values_sorted: np.ndarray, weights_sorted: np.ndarray | None = None
) -> np.ndarray:
    """Mid-ranks of rows that are already sorted ascending, each entry counted `weight` times.

    An entry of weight w in a tie group that starts after F units of weight and holds T units
    gets rank F + (T + 1) / 2: the average of the ranks F+1 … F+T that the group's copies take.
    Entries of weight 0 are absent from the resampled vector; their rank is still defined but
    never used (they carry no weight in any sum).
    """
    values_sorted = np.atleast_2d(values_sorted)
    rows, length = values_sorted.shape
    weights_given = weights_sorted is not None
    if not weights_given:
        weights_sorted = np.ones_like(values_sorted, dtype=np.float64)
    cumulative = np.cumsum(weights_sorted, axis=1)
    new_value = np.ones((rows, length), dtype=bool)
    new_value[:, 1:] = values_sorted[:, 1:] != values_sorted[:, :-1]
    if new_value.all():  # no ties: the common case for continuous dissimilarities
        return cumulative - (weights_sorted - 1.0) / 2.0 if weights_given else cumulative
    positions = np.arange(length)
    group_start = np.maximum.accumulate(np.where(new_value, positions, 0), axis=1)
    last_in_group = np.ones((rows, length), dtype=bool)
    last_in_group[:, :-1] = new_value[:, 1:]
    group_end = np.minimum.accumulate(
        np.where(last_in_group, positions, length - 1)[:, ::-1], axis=1
    )[:, ::-1]
    before = np.take_along_axis(cumulative, group_start, axis=1) - np.take_along_axis(
        weights_sorted, group_start, axis=1
    )
    total = np.take_along_axis(cumulative, group_end, axis=1) - before
    return before + (total + 1.0) / 2.0


def sort_orders(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ascending sort order and sorted values, computed once per RDM.

    Parameters
    ----------
    vectors : (N, P) array, or one (P,) vector

    Returns
    -------
    order : (N, P) int array
    sorted_values : (N, P) float64 array
    """
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    order = np.argsort(vectors, axis=1)
    return order, np.take_along_axis(vectors, order, axis=1)


def weighted_ranks(order: np.ndarray, values_sorted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Ranks that rankdata would give the resampled vector, one row per sample. Cost: one gather,
    one cumsum and one scatter per sample, no sort.

    Parameters
    ----------
    order, values_sorted : (P,) arrays
        One vector's sort order and sorted values (a row of ``sort_orders``).
    weights : (B, P) array, or one (P,) row
        The pair multiplicities c_i c_j of each sample.

    Returns
    -------
    (B, P) float64 array
        The mid-rank of each entry in each sample (entries of weight 0 have a rank that no sum
        uses).
    """
    weights = np.atleast_2d(weights)
    ranks_sorted = midranks_sorted(np.broadcast_to(values_sorted, weights.shape), weights[:, order])
    ranks = np.empty_like(ranks_sorted)
    ranks[:, order] = ranks_sorted
    return ranks


def weighted_ranks_of_rows(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted ranks of a different vector in every row (e.g. a pooled RDM per sample): sorts each
    row.

    Parameters
    ----------
    vectors : (B, P) array
    weights : (B, P) array
        Multiplicity of each entry in its row's sample.

    Returns
    -------
    (B, P) float64 array
    """
    order = np.argsort(vectors, axis=1)
    ranks_sorted = midranks_sorted(
        np.take_along_axis(vectors, order, axis=1), np.take_along_axis(weights, order, axis=1)
    )
    ranks = np.empty_like(ranks_sorted)
    np.put_along_axis(ranks, order, ranks_sorted, axis=1)
    return ranks
