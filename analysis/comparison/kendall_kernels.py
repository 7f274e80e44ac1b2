"""Compiled kernels of Kendall's tau-a (kendall.py runs them on threads): sort one vector once
(order, dense ranks, tie groups) and count the discordant pairs of two sorted vectors.

The discordant pairs: gather y's dense ranks into x's order and count their inversions in a
most-significant-digit radix sort with 12-bit digits; inside each segment of equal higher digits,
the inversions of a digit are read from 16-lane counters per 4-bit nibble, and the segment is split
by the digit in two cache-sized scatters. O(P log P). The compiled code releases the GIL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

# numba: counting discordant pairs is a sort with a count per element, and ranking walks the sorted
# runs entry by entry; numpy cannot express either without Python loops over the elements.

_SMALL = 64  # segments this short are counted by insertion sort
_DIGIT = 12  # bits per radix digit: three 4-bit nibbles, each with 16-lane counters
_MIDDLE = 16  # offsets in the counter table: 16 top-nibble counters, 256 middle, 4096 low
_LOW = _MIDDLE + 256
_TABLE = _LOW + 4096


@dataclass(frozen=True)
class Ranked:
    """One vector sorted once: its ascending order, dense ranks, tie groups and tied pairs."""

    order: (
        np.ndarray
    )  # int32 (P,): indices of the vector in ascending order (P < 2**31, as for dense)
    dense: np.ndarray  # int32 (P,): 0-based dense rank of each entry (equal values share one)
    tie_starts: np.ndarray  # int64: first sorted position of each tie group of two or more
    tie_stops: np.ndarray  # int64: one past its last sorted position
    tie_pairs: int  # Σ t(t-1)/2 over tie groups
    bits: int  # bits needed for the largest dense rank


@numba.njit(nogil=True, cache=True)
def _pack(vector: np.ndarray, index_bits: int, packed: np.ndarray) -> None:
    """Fill `packed` with uint64 words: the leading bits of an order-preserving key of each value,
    OR-ed with its index.

    Sorting these integers (numpy's SIMD sort) is several times faster than an argsort.
    """
    bits = vector.view(np.uint64)
    sign = np.uint64(1) << np.uint64(63)
    shift = np.uint64(index_bits)
    for i in range(vector.shape[0]):
        word = bits[i] if vector[i] != 0.0 else np.uint64(0)  # -0.0 and 0.0 get one key
        key = ~word if word & sign else word | sign
        packed[i] = ((key >> shift) << shift) | np.uint64(i)


@numba.njit(nogil=True, cache=True, inline="always")
def _record_tie_group(
    starts: np.ndarray, stops: np.ndarray, groups: int, start: int, stop: int
) -> tuple[int, int]:
    """Record sorted positions [start, stop) as tie group `groups` if they are two or more.

    Returns (groups recorded, tied pairs added).
    """
    if stop - start < 2:
        return groups, 0
    starts[groups], stops[groups] = start, stop
    return groups + 1, (stop - start) * (stop - start - 1) // 2


@numba.njit(nogil=True, cache=True, inline="always")
def _rank_run(
    vector: np.ndarray,
    order: np.ndarray,
    dense: np.ndarray,
    start: int,
    stop: int,
    rank: int,
    starts: np.ndarray,
    stops: np.ndarray,
    groups: int,
) -> tuple[int, int, int]:
    """Dense ranks of order[start:stop] (one run of equal
    leading key bits) after re-sorting it by value.

    Records the run's tie groups in starts/stops from index
    `groups`; returns (last rank, groups, tied pairs).
    """
    run = order[start:stop]
    run[:] = run[np.argsort(vector[run], kind="mergesort")]
    tied, value_start, previous = 0, start, vector[order[start]]
    rank += 1
    for k in range(start, stop):
        value = vector[order[k]]
        if value != previous:  # value_start's value ends at k
            groups, pairs = _record_tie_group(starts, stops, groups, value_start, k)
            tied += pairs
            value_start, previous = k, value
            rank += 1
        dense[order[k]] = rank
    groups, pairs = _record_tie_group(starts, stops, groups, value_start, stop)
    return rank, groups, tied + pairs


@numba.njit(nogil=True, cache=True)
def _ranks_from_packed(
    vector: np.ndarray, packed: np.ndarray, index_bits: int, order: np.ndarray, dense: np.ndarray
):
    """Fill `order` and `dense` (dense ranks) of `vector`
    from its sorted packed words; its tie groups.

    Entries whose leading key bits agree are re-sorted by value, so the result is exact.
    Returns (tie_starts, tie_stops, tied pairs, distinct values).
    """
    size = packed.shape[0]
    mask = np.uint64((1 << index_bits) - 1)
    shift = np.uint64(index_bits)
    starts = np.empty(size // 2 + 1, np.int64)
    stops = np.empty(size // 2 + 1, np.int64)
    groups, tied, rank, start = 0, 0, -1, 0
    while start < size:
        stop = start + 1
        while stop < size and (packed[stop] >> shift) == (packed[start] >> shift):
            stop += 1
        for k in range(start, stop):
            order[k] = packed[k] & mask
        if stop - start == 1:  # leading bits of its own: a new value, no ties (the usual case)
            rank += 1
            dense[order[start]] = rank
        else:  # rare for continuous values, usual for ties
            rank, groups, run_tied = _rank_run(
                vector, order, dense, start, stop, rank, starts, stops, groups
            )
            tied += run_tied
        start = stop
    return starts[:groups], stops[:groups], tied, rank + 1


def rank_vector(vector: np.ndarray) -> Ranked:
    """Sort a finite vector once: an integer sort of packed (key, index) words, then dense ranks."""
    vector = np.ascontiguousarray(vector, dtype=np.float64)
    index_bits = max(1, (vector.shape[0] - 1).bit_length())
    # arrays this large are allocated by numpy, not in compiled code: numpy asks for huge pages,
    # which saves the address-translation misses of the random reads and writes below
    packed = np.empty(vector.shape[0], np.uint64)
    _pack(vector, index_bits, packed)
    packed.sort()
    order, dense = np.empty(vector.shape[0], np.int32), np.empty(vector.shape[0], np.int32)
    starts, stops, tied, distinct = _ranks_from_packed(vector, packed, index_bits, order, dense)
    return Ranked(order, dense, starts, stops, int(tied), max(1, int(distinct - 1).bit_length()))


@numba.njit(nogil=True, cache=True, inline="always")
def _insertion_count(values: np.ndarray, start: int, stop: int) -> int:
    """Sort values[start:stop] in place; return its
    inversions (pairs i < j with values[i] > values[j])."""
    inversions = 0
    for i in range(start + 1, stop):
        value = values[i]
        j = i
        while j > start and values[j - 1] > value:
            values[j] = values[j - 1]
            j -= 1
        inversions += i - j
        values[j] = value
    return inversions


@numba.njit(nogil=True, cache=True, inline="always")
def _count_digit(table: np.ndarray, digit: int) -> int:
    """Earlier entries with a larger 12-bit digit than `digit`; then counts this entry in `table`.

    Each nibble of the digit keeps, per value of the nibbles above it, 16 counters "earlier entries
    with a larger nibble", so an entry costs three 16-lane adds (vectorised: the lanes are computed
    by comparison, and one flat `table` leaves no aliasing to check). Callers mask the digit
    (& 4095): indices the compiler can prove non-negative skip numba's wraparound, which would
    otherwise stop the vectorisation (several times slower).
    """
    top, pair = digit >> 8, digit >> 4
    larger = table[top] + table[_MIDDLE + pair] + table[_LOW + digit]
    middle, low = _MIDDLE + top * 16, _LOW + pair * 16
    middle_nibble, low_nibble = pair & 15, digit & 15
    for t in range(16):
        table[t] += np.int32(t < top)
        table[middle + t] += np.int32(t < middle_nibble)
        table[low + t] += np.int32(t < low_nibble)
    return larger


@numba.njit(nogil=True, cache=True, inline="always")
def _digit_inversions(
    values: np.ndarray, start: int, stop: int, shift: int, table: np.ndarray
) -> int:
    """Inversions of the 12-bit digits (values >> shift) & 4095 in values[start:stop].

    `table` must be all zeros and is zeroed again.
    """
    inversions = 0
    for i in range(start, stop):
        inversions += _count_digit(table, (values[i] >> shift) & 4095)
    table[:] = 0
    return inversions


@numba.njit(nogil=True, cache=True, inline="always")
def _digit_inversions_grouped(
    values: np.ndarray,
    spare: np.ndarray,
    start: int,
    stop: int,
    shift: int,
    table: np.ndarray,
    counts: np.ndarray,
) -> int:
    """`_digit_inversions`, and values[start:stop] stable-sorted by the digit, in place.

    `counts` holds the digit histogram and is left holding each digit's end position. Two passes:
    by the digit's upper 6 bits into `spare` (with the count, which reads the same entries), then
    by the whole digit back; each pass writes to at most 64 places at a time, which stay in cache
    where one pass to 4096 places would not.
    """
    upper = np.empty(64, np.int64)
    position = start
    for d in range(4096):  # counts becomes each digit's start position, upper each 64 digits'
        if d & 63 == 0:
            upper[d >> 6] = position
        size = counts[d]
        counts[d] = position
        position += size
    inversions = 0
    for i in range(start, stop):
        value = values[i]
        digit = (value >> shift) & 4095
        inversions += _count_digit(table, digit)
        spare[upper[digit >> 6]] = value
        upper[digit >> 6] += 1
    table[:] = 0
    for i in range(start, stop):
        value = spare[i]
        digit = (value >> shift) & 4095
        values[counts[digit]] = value
        counts[digit] += 1
    return inversions


@numba.njit(nogil=True, cache=True)
def inversions(values: np.ndarray, spare: np.ndarray, bits: int) -> int:
    """Pairs i < j with values[i] > values[j], for non-negative int32 values below 2**bits.

    Most-significant-digit radix sort, 12-bit digits: a pair is counted at the digit where its
    values first differ, inside the segment of entries sharing the higher digits
    (`_count_digit`), so the count costs O(P · bits / 4) and no comparisons; segments of at most
    _SMALL entries are counted by insertion sort. `values` is left grouped by all digits but the
    last; `spare` is overwritten.
    """
    levels = max(1, (bits + _DIGIT - 1) // _DIGIT)
    capacity = levels * (1 << _DIGIT) + 1
    seg_start = np.empty(capacity, np.int64)
    seg_stop = np.empty(capacity, np.int64)
    seg_shift = np.empty(capacity, np.int64)
    table = np.zeros(_TABLE, np.int32)
    counts = np.zeros(1 << _DIGIT, np.int64)
    seg_start[0], seg_stop[0], seg_shift[0] = 0, values.shape[0], _DIGIT * (levels - 1)
    pending = 1
    inversions = 0
    while pending > 0:
        pending -= 1
        start, stop, shift = seg_start[pending], seg_stop[pending], seg_shift[pending]
        if stop - start <= _SMALL:
            inversions += _insertion_count(values, start, stop)
            continue
        if shift == 0:
            inversions += _digit_inversions(values, start, stop, shift, table)
            continue
        counts[:] = 0
        for i in range(start, stop):
            counts[(values[i] >> shift) & 4095] += 1
        inversions += _digit_inversions_grouped(values, spare, start, stop, shift, table, counts)
        previous = start
        for d in range(1 << _DIGIT):  # counts[d] is now the end of digit d's bucket
            if counts[d] - previous > 1:
                seg_start[pending], seg_stop[pending], seg_shift[pending] = (
                    previous,
                    counts[d],
                    shift - _DIGIT,
                )
                pending += 1
            previous = counts[d]
    return inversions


@numba.njit(nogil=True, cache=True)
def _pair_counts(
    order: np.ndarray,
    tie_starts: np.ndarray,
    tie_stops: np.ndarray,
    dense: np.ndarray,
    bits: int,
    work: np.ndarray,
    spare: np.ndarray,
) -> tuple[int, int]:
    """(discordant pairs, pairs tied in both) of y = `dense` against the x sorted by `order`.

    y is gathered into x's order and sorted ascending inside each x tie group, so pairs tied in x
    are never counted as discordant; the pairs tied in both are the equal runs inside those groups.
    """
    for i in range(order.shape[0]):
        work[i] = dense[order[i]]
    joint = 0
    for g in range(tie_starts.shape[0]):
        start, stop = tie_starts[g], tie_stops[g]
        work[start:stop] = np.sort(work[start:stop])
        run = 1
        for i in range(start + 1, stop):
            if work[i] == work[i - 1]:
                run += 1
            else:
                joint += run * (run - 1) // 2
                run = 1
        joint += run * (run - 1) // 2
    return inversions(work, spare, bits), joint


def tau_a_ranked(x: Ranked, y: Ranked, work: np.ndarray, spare: np.ndarray) -> float:
    """rsatoolbox's tau-a of two ranked vectors, from exact integer counts."""
    discordant, joint = _pair_counts(
        x.order, x.tie_starts, x.tie_stops, y.dense, y.bits, work, spare
    )
    size = x.order.shape[0]
    total = size * (size - 1) // 2
    tau = (total - x.tie_pairs - y.tie_pairs + int(joint) - 2 * int(discordant)) / total
    return min(1.0, max(-1.0, tau))


def tau_a_pairs(
    pairs: list[tuple[int, int]], models: list[Ranked], data: list[Ranked]
) -> list[float]:
    """tau-a of some (model, data) index pairs, with one pair of work buffers for all of them."""
    size = models[0].order.shape[0]
    work, spare = np.empty(size, np.int32), np.empty(size, np.int32)
    return [tau_a_ranked(models[m], data[d], work, spare) for m, d in pairs]
