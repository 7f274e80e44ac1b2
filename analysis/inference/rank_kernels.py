"""Compiled loops of the rank-method bootstrap: weighted ranks of one resampling and pooled re-ranks.

A bootstrap sample with image counts c keeps only the pairs of drawn images ("active" pairs,
about 40% of all pairs), each with weight w = c_i c_j (analysis.inference.moments). Every array
here is over the active pairs in np.triu_indices order of the drawn images, and every rank is
stored doubled (2·rank is an integer: ranks are multiples of one half), so the pooled RDMs of the
noise ceiling are exact integer sums whose ties are exactly the ones rsatoolbox sees.
numba, because a weighted rank walks the sort order with a running sum of weights and writes
each rank to its pair: numpy cannot express that walk (tie groups, a spare slot for pairs not
drawn) without Python loops.
The compiled kernels release the GIL, so samples run in parallel threads.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from ..errors import AnalysisError


@nb.njit(cache=True, nogil=True)
def drawn_images(counts: np.ndarray) -> tuple[np.ndarray, int]:
    """Index of each drawn image among the drawn ones (−1 if not drawn), and how many were drawn."""
    position = np.full(counts.shape[0], -1, np.int64)
    drawn = 0
    for i in range(counts.shape[0]):
        if counts[i] > 0:
            position[i] = drawn
            drawn += 1
    return position, drawn


@nb.njit(cache=True, nogil=True)
def active_weights(counts: np.ndarray, drawn: int) -> np.ndarray:
    """w = c_i c_j of every active pair, in triu order of the drawn images."""
    out = np.empty(drawn * (drawn - 1) // 2, np.int64)
    a = 0
    for i in range(counts.shape[0]):
        if counts[i] == 0:
            continue
        for j in range(i + 1, counts.shape[0]):
            if counts[j] > 0:
                out[a] = counts[i] * counts[j]
                a += 1
    return out


@nb.njit(cache=True, nogil=True)
def doubled_ranks(first: np.ndarray, second: np.ndarray, tied_next: np.ndarray, counts: np.ndarray,
                  position: np.ndarray, drawn: int, out: np.ndarray) -> None:
    """2 × the weighted mid-rank of every active pair, written to `out` (active order, plus one
    spare last slot that absorbs the writes of pairs not drawn, so the common path has no branch).

    first/second: the images of each pair in the RDM's ascending sort order; tied_next[k]: entry
    k equals entry k + 1. A tie group after F units of weight holding T units gets 2F + T + 1.
    """
    pairs = first.shape[0]
    spare = out.shape[0] - 1
    before = 0
    k = 0
    while k < pairs:
        if tied_next[k] == 0:
            i = position[first[k]]
            j = position[second[k]]
            w = counts[first[k]] * counts[second[k]]
            slot = i * drawn - (i * (i + 1) >> 1) + j - i - 1
            out[slot if w > 0 else spare] = 2 * before + w + 1
            before += w
            k += 1
            continue
        end = k
        while tied_next[end]:
            end += 1
        group = 0
        for q in range(k, end + 1):
            group += counts[first[q]] * counts[second[q]]
        for q in range(k, end + 1):
            i = position[first[q]]
            j = position[second[q]]
            if i >= 0 and j >= 0:
                out[i * drawn - (i * (i + 1) >> 1) + j - i - 1] = 2 * before + group + 1
        before += group
        k = end + 1


BLOCK = 1 << 16  # pairs per float64 block: bounds the memory of the conversions


def rank_sums(ranks: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ w·r and Σ w·r² of each row of doubled ranks (rows × active), in float64 blocks."""
    total = np.zeros(ranks.shape[0])
    square = np.zeros(ranks.shape[0])
    for start in range(0, ranks.shape[1], BLOCK):
        block = ranks[:, start:start + BLOCK].astype(np.float64)
        weighted = block * weights[start:start + BLOCK]
        total += weighted.sum(axis=1)
        square += np.einsum("rp,rp->r", weighted, block)
    return total, square


def cross_sums(left: np.ndarray, right: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ w·l·r for every row of `left` with every row of `right` (doubled ranks), in float64 blocks."""
    out = np.zeros((left.shape[0], right.shape[0]))
    for start in range(0, left.shape[1], BLOCK):
        weighted = left[:, start:start + BLOCK] * weights[start:start + BLOCK].astype(np.float64)
        out += weighted @ right[:, start:start + BLOCK].astype(np.float64).T
    return out


def pooled_ranks(ranks: np.ndarray, pool: np.ndarray, weights: np.ndarray, out: np.ndarray
                 ) -> tuple[float, float]:
    """Doubled weighted ranks of the pooled RDM Σ_t pool_t · ranks_t, written to `out` (active
    order); returns their Σ w·r and Σ w·r².

    Keys and pair indices are packed into one int64 and sorted by numpy (its vectorised sort of
    integers, which releases the GIL). The mean that rsatoolbox pools is this sum divided by
    Σ pool_t, which changes neither ranks nor ties.
    """
    index_bits = max(1, int(ranks.shape[1] - 1).bit_length())
    largest = int(pool.sum()) * int(ranks.max(initial=0))
    if largest.bit_length() + index_bits > 62:
        raise AnalysisError("bootstrap", f"{ranks.shape[1]} image pairs are too many for the rank bootstrap's "
                                         "packed 64-bit sort of pooled ranks; use corr")
    packed = _packed_keys(ranks, pool, index_bits)
    packed.sort()
    return _ranks_of_sorted(packed, index_bits, weights, out)


@nb.njit(cache=True, nogil=True)
def _packed_keys(ranks: np.ndarray, pool: np.ndarray, index_bits: int) -> np.ndarray:
    """(Σ_t pool_t · ranks_t) << index_bits | pair, per active pair."""
    packed = np.empty(ranks.shape[1], np.int64)
    for a in range(ranks.shape[1]):
        key = 0
        for t in range(ranks.shape[0]):
            key += pool[t] * ranks[t, a]
        packed[a] = (key << index_bits) | a
    return packed


@nb.njit(cache=True, nogil=True)
def _ranks_of_sorted(packed: np.ndarray, index_bits: int, weights: np.ndarray, out: np.ndarray
                     ) -> tuple[float, float]:
    """Doubled weighted mid-ranks along sorted packed keys, written to each pair's slot; Σ w·r, Σ w·r².

    The weights are gathered into sorted order first: independent loads, so the walk's running
    sum does not wait on one random read after another.
    """
    active = packed.shape[0]
    mask = (1 << index_bits) - 1
    weights_sorted = np.empty(active, np.int64)
    for k in range(active):
        weights_sorted[k] = weights[packed[k] & mask]
    before = 0
    total = 0.0
    square = 0.0
    k = 0
    while k < active:
        key = packed[k] >> index_bits
        end = k
        group = weights_sorted[k]
        while end + 1 < active and (packed[end + 1] >> index_bits) == key:
            end += 1
            group += weights_sorted[end]
        rank = 2 * before + group + 1
        for q in range(k, end + 1):
            out[packed[q] & mask] = rank
        total += float(group) * rank  # the group's weights all carry this rank
        square += float(group) * rank * rank
        before += group
        k = end + 1
    return total, square


@nb.njit(cache=True, nogil=True)
def pooled_cross(pooled: np.ndarray, ranks: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ w·p·r of one pooled row with every row of `ranks` (doubled ranks), in float64 blocks."""
    out = np.zeros(ranks.shape[0])
    block = np.zeros(ranks.shape[0])
    active = pooled.shape[0]
    for start in range(0, active, BLOCK):
        block[:] = 0.0
        for a in range(start, min(start + BLOCK, active)):
            v = float(weights[a] * np.int64(pooled[a]))
            for t in range(ranks.shape[0]):
                block[t] += v * ranks[t, a]
        out += block
    return out
