"""Compiled loops of the rank-method bootstrap:
weighted ranks of one resampling and pooled re-ranks.

A bootstrap sample with image counts c keeps only the pairs of drawn images ("active" pairs,
about 40% of all pairs), each with weight w = c_i c_j (analysis.inference.moments). Every array
here is over the active pairs in np.triu_indices order of the drawn images, and every rank is
stored doubled (2·rank is an integer: ranks are multiples of one half), so the pooled RDMs of the
noise ceiling are exact integer sums whose ties are exactly the ones rsatoolbox sees.
numba, because a weighted rank walks the sort order with a running sum of weights and writes
each rank to its pair: numpy cannot express that walk (tie groups, a spare slot for pairs not
drawn) without Python loops. The time goes into those scattered writes and into numpy's sort of
the pooled keys (with a pair index, or with one subject's ranks so that the pool's sums come from
one sequential walk of the sorted words); everything else is vectorised passes over 1-d rows.
The compiled kernels release the GIL, so samples run in parallel threads.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ..errors import AnalysisError


@intrinsic
def _prefetch_for_write(typingctx, array, index):
    """Hint the cache to fetch array[index] for a write (LLVM's prefetch: no fault, no effect
    on results); numba has no prefetch of its own."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, view, [args[1]], wraparound=False, boundscheck=False
        )
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0i8",
        )
        builder.call(
            function,
            [builder.bitcast(pointer, byte_pointer), i32(1), i32(3), i32(1)],
        )
        return context.get_dummy_value()

    return types.void(array, index), codegen


PREFETCH = 256  # pairs ahead that a scatter asks for its write's cache line: the random writes'
# misses overlap (27.5 → 23 ms a scatter of 4.9 M ranks into 19 MB; 64 or 1024 ahead gained less)
CHUNK = 2048  # pairs per chunk of the compiled sums: their rows stay in the L1/L2 cache


@nb.njit(cache=True, nogil=True)
def slot_tables(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per image, the two terms whose sum is a pair's
    slot in the active order, and how many were drawn.

    The pair (i, j), i < j, of drawn images has slot row[i] + column[j]. An image not drawn gets
    terms so large that the sum of a pair with it reaches the spare slot (clamped there), so the
    rank walk writes without a branch. int32, like the counts: small tables stay in the L1 cache.
    """
    n = counts.shape[0]
    drawn = 0
    for i in range(n):
        drawn += counts[i] > 0
    spare = drawn * (drawn - 1) // 2
    row = np.full(n, spare, np.int32)
    column = np.full(n, 2 * spare + 1, np.int32)
    p = 0
    for i in range(n):
        if counts[i] > 0:
            row[i] = p * drawn - ((p * (p + 1)) >> 1) - p - 1
            column[i] = p
            p += 1
    return row, column, drawn


@nb.njit(cache=True, nogil=True)
def active_weights(counts: np.ndarray, drawn: int) -> np.ndarray:
    """w = c_i c_j of every active pair, in triu order of the drawn images."""
    out = np.empty(drawn * (drawn - 1) // 2, np.int32)
    a = 0
    for i in range(counts.shape[0]):
        if counts[i] == 0:
            continue
        for j in range(i + 1, counts.shape[0]):
            if counts[j] > 0:
                out[a] = counts[i] * counts[j]
                a += 1
    return out


@nb.njit(cache=True, nogil=True, inline="always")
def _pair_weight(pair: int, counts: np.ndarray) -> int:
    """c_i c_j of a sorted pair word (first image << 16 | second, tie flag in the sign bit)."""
    return counts[(pair >> 16) & 0x7FFF] * counts[pair & 0xFFFF]


@nb.njit(cache=True, nogil=True, inline="always")
def _group_weight(pairs: np.ndarray, first: int, last: int, counts: np.ndarray) -> int:
    """Σ c_i c_j of the tie group pairs[first..last]."""
    group = 0
    for q in range(first, last + 1):
        group += _pair_weight(pairs[q], counts)
    return group


@nb.njit(cache=True, nogil=True)
def doubled_ranks(
    pairs: np.ndarray, counts: np.ndarray, row: np.ndarray, column: np.ndarray, out: np.ndarray
) -> None:
    """2 × the weighted mid-rank of every active pair, written to `out` (active order, plus one
    spare last slot that absorbs the writes of pairs not drawn; see slot_tables).

    pairs: the RDM's pairs in ascending sort order, first image << 16 | second, negative when
    tied with the next. A tie group after F units of weight holding T units gets 2F + T + 1.
    """
    spare = out.shape[0] - 1
    before = 0
    k = 0
    while k < pairs.shape[0]:
        pair = pairs[k]
        if pair >= 0:
            i = pair >> 16
            j = pair & 0xFFFF
            w = counts[i] * counts[j]
            out[min(row[i] + column[j], spare)] = 2 * before + w + 1
            before += w
            k += 1
            continue
        end = k
        while pairs[end] < 0:
            end += 1
        group = _group_weight(pairs, k, end, counts)
        for q in range(k, end + 1):
            i = (pairs[q] >> 16) & 0x7FFF
            out[min(row[i] + column[pairs[q] & 0xFFFF], spare)] = 2 * before + group + 1
        before += group
        k = end + 1


def rank_sum(weights: np.ndarray) -> float:
    """Σ w·r of doubled weighted mid-ranks, whatever the order and ties: W(W + 1) for W = Σ w."""
    total = int(weights.sum(dtype=np.int64))
    return float(total * (total + 1))


@nb.njit(cache=True, nogil=True, fastmath=True)
def rank_squares(ranks: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ w·r² of each row of doubled ranks (rows ×
    active); fastmath lets the float sum vectorise."""
    out = np.zeros(ranks.shape[0])
    for t in range(ranks.shape[0]):
        row = ranks[t]
        total = 0.0
        for a in range(weights.shape[0]):
            total += float(weights[a]) * float(row[a]) * float(row[a])
        out[t] = total
    return out


CROSS_CHUNK = 512  # pairs per chunk of roi_cross_sums: its float rows of every model stay in L2


@nb.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _block_dots(
    x: np.ndarray, rows: np.ndarray, y: np.ndarray, first: int, size: int, out: np.ndarray
) -> None:
    """out[u, v] = Σ_a x[rows[u], a] · y[first + v, a] for u < 3, v < 4: twelve sums in
    registers from one read of seven rows (a model row read once for three rows, 0.217 CPU s for
    9 rows × 39 models × 4.86 M pairs, was bound by the reads; this takes 0.188)."""
    x0, x1, x2 = x[rows[0]], x[rows[1]], x[rows[2]]
    y0, y1, y2, y3 = y[first], y[first + 1], y[first + 2], y[first + 3]
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = s20 = s21 = s22 = s23 = 0.0
    for a in range(size):
        u0, u1, u2 = x0[a], x1[a], x2[a]
        v0, v1, v2, v3 = y0[a], y1[a], y2[a], y3[a]
        s00 += u0 * v0
        s01 += u0 * v1
        s02 += u0 * v2
        s03 += u0 * v3
        s10 += u1 * v0
        s11 += u1 * v1
        s12 += u1 * v2
        s13 += u1 * v3
        s20 += u2 * v0
        s21 += u2 * v1
        s22 += u2 * v2
        s23 += u2 * v3
    out[0, 0], out[0, 1], out[0, 2], out[0, 3] = s00, s01, s02, s03
    out[1, 0], out[1, 1], out[1, 2], out[1, 3] = s10, s11, s12, s13
    out[2, 0], out[2, 1], out[2, 2], out[2, 3] = s20, s21, s22, s23


@nb.njit(cache=True, nogil=True, fastmath=True)
def roi_cross_sums(
    model_ranks: np.ndarray, subject_ranks: np.ndarray, weights: np.ndarray, n_subjects: int
) -> tuple[np.ndarray, np.ndarray]:
    """Σ w·r·r' of doubled ranks within each ROI's subjects (R × S × S) and of each subject with
    each model (R × S × L). model_ranks: L × active; subject_ranks: (R·S) × active, ROI by ROI.

    Compiled, in chunks of pairs converted to float64 once, in blocks of three of a ROI's
    subjects × four models (or subjects) (_block_dots): numpy would convert every row again for
    each ROI, or multiply every row with every other.
    """
    n_models = model_ranks.shape[0]
    n_rows = subject_ranks.shape[0]
    n_rois = n_rows // n_subjects
    gram = np.zeros((n_rois, n_subjects, n_subjects))
    cross = np.zeros((n_rois, n_subjects, n_models))
    # three rows past the end: a block's rows past the last (its sums are not used) are in range
    models = np.zeros((n_models + 3, CROSS_CHUNK))
    subjects = np.zeros((n_rows + 3, CROSS_CHUNK))
    weighted = np.zeros((n_rows, CROSS_CHUNK))
    block = np.empty((3, 4))
    rows = np.empty(3, np.int64)
    for start in range(0, subject_ranks.shape[1], CROSS_CHUNK):
        size = min(CROSS_CHUNK, subject_ranks.shape[1] - start)
        weight = weights[start : start + size]
        for m in range(n_models):  # 1-d rows: these loops vectorise
            source, target = model_ranks[m, start : start + size], models[m]
            for a in range(size):
                target[a] = float(source[a])
        for q in range(n_rows):
            source, target, scaled = (
                subject_ranks[q, start : start + size],
                subjects[q],
                weighted[q],
            )
            for a in range(size):
                target[a] = float(source[a])
                scaled[a] = target[a] * float(weight[a])
        for r in range(n_rois):
            for s in range(0, n_subjects, 3):
                first, count = r * n_subjects + s, min(3, n_subjects - s)
                for u in range(3):
                    rows[u] = first + min(u, count - 1)
                for t in range(0, n_subjects, 4):
                    _block_dots(weighted, rows, subjects, r * n_subjects + t, size, block)
                    for u in range(count):
                        for v in range(min(4, n_subjects - t)):
                            gram[r, s + u, t + v] += block[u, v]
                for m in range(0, n_models, 4):
                    _block_dots(weighted, rows, models, m, size, block)
                    for u in range(count):
                        for v in range(min(4, n_models - m)):
                            cross[r, s + u, m + v] += block[u, v]
    return gram, cross


def pool_bits(
    pool: np.ndarray,
    weights: np.ndarray,
    rank_max: int | None = None,
    ranks: np.ndarray | None = None,
) -> tuple[int, int]:
    """Bits of a pooled key Σ_t pool_t · ranks_t and of a weight in a packed sort word.

    Parameters
    ----------
    pool : (S,) int64 subject counts of the pool.
    weights : (active,) int32 pair weights.
    rank_max : a bound of every doubled rank (2 Σ w + 1 bounds them all); when None, the
        maximum of `ranks` (S × active), a pass over them.

    Returns
    -------
    key_bits, weight_bits : int
    """
    if rank_max is None:
        rank_max = int(ranks.max(initial=0))
    weight_bits = max(1, int(weights.max(initial=0)).bit_length())
    return (int(pool.sum()) * int(rank_max)).bit_length(), weight_bits


def pooled_ranks(
    ranks: np.ndarray,
    pool: np.ndarray,
    weights: np.ndarray,
    out: np.ndarray,
    packed: np.ndarray | None = None,
    rank_max: int | None = None,
) -> None:
    """Doubled weighted ranks of the pooled RDM Σ_t pool_t · ranks_t, written to `out` (active
    order). Their Σ w·r is rank_sum(weights); pooled_sums gives the others. `packed`: optional
    int64 scratch of one word per active pair, reused across calls (a fresh 40 MB array per
    pool costs its page faults); rank_max: a bound of the ranks (pool_bits).

    Key, weight and pair index are packed into one int64 and sorted by numpy (its vectorised sort
    of integers, which releases the GIL), so the walk reads each weight with its key. The mean
    that rsatoolbox pools is this sum divided by Σ pool_t, which changes neither ranks nor ties.
    """
    index_bits = max(1, int(ranks.shape[1] - 1).bit_length())
    key_bits, weight_bits = pool_bits(pool, weights, rank_max, ranks)
    if key_bits + weight_bits + index_bits > 63:
        raise AnalysisError(
            "bootstrap",
            f"{ranks.shape[1]} image pairs are too many for the rank bootstrap's "
            "packed 64-bit sort of pooled ranks; use corr",
        )
    if packed is None:
        packed = np.empty(ranks.shape[1], np.int64)
    _packed_keys(ranks, pool, weights, index_bits, weight_bits, packed)
    packed.sort()
    _ranks_of_sorted(packed, index_bits, weight_bits, out)


def payload_sums(
    ranks: np.ndarray,
    pool: np.ndarray,
    weights: np.ndarray,
    carry: int,
    packed: np.ndarray | None = None,
    rank_max: int | None = None,
) -> tuple[float, float, float] | None:
    """Σ w·p·ranks_carry, Σ w·p·K and Σ w·p² of the doubled weighted ranks p of the pooled RDM
    K = Σ_t pool_t · ranks_t, without writing p (pooled_ranks and pooled_sums give the same
    sums, for every row).

    Key | weight | ranks_carry are packed into one int64 and sorted by numpy; one sequential walk
    of the sorted words then gives each tie group's rank and the three sums: no pair index, no
    scattered write, no second pass (65 ms against 100 ms for pooled_ranks + pooled_sums at
    4.86 M active pairs). Σ w·p·K = Σ_t pool_t Σ w·p·ranks_t gives a second row's cross sum
    when the pool has two subjects. The float sums are added in blocks of CHUNK words and the
    blocks' sums to the totals, as pooled_sums adds its chunks.

    Parameters
    ----------
    ranks : (S, active) int32 doubled ranks of the subjects.
    pool : (S,) int64 subject counts of the pool.
    weights : (active,) int32 pair weights.
    carry : the row whose cross sum is wanted (in the pool or not).
    packed : optional (active,) int64 scratch, reused across calls.
    rank_max : a bound of every doubled rank (pool_bits); None: from `ranks`.

    Returns
    -------
    (cross, keyed, square) : floats, or None when key, weight and one rank do not fit one int64
        (then pooled_ranks is the way).
    """
    key_bits, weight_bits = pool_bits(pool, weights, rank_max, ranks)
    payload_bits = max(1, int(ranks[carry].max(initial=0) if rank_max is None else rank_max))
    payload_bits = payload_bits.bit_length()
    if key_bits + weight_bits + payload_bits > 63:
        return None
    if packed is None:
        packed = np.empty(ranks.shape[1], np.int64)
    _packed_keys(ranks, pool, weights, payload_bits, weight_bits, packed, carry)
    packed.sort()
    return _payload_walk(packed, weight_bits, payload_bits)


@nb.njit(cache=True, nogil=True)
def _payload_walk(
    packed: np.ndarray, weight_bits: int, payload_bits: int
) -> tuple[float, float, float]:
    """Σ w·p·payload, Σ w·p·key, Σ w·p² along sorted key | weight | payload words, p the
    doubled weighted mid-rank of each tie group of keys.

    A tie group after B units of weight that ends at B' units has p = B + B' + 1, and its
    Σ w·payload is the difference of the running integer sums at its ends. So the walk keeps
    the running sums (exact integers) and, without a branch, the values at each group's end,
    for a block of CHUNK words; _group_sums then adds the block's groups in one vectorised pass
    (a branch per word on the ties cost half again as much), and the blocks' float sums are
    added to the totals.
    """
    active = packed.shape[0]
    payload_mask = (1 << payload_bits) - 1
    weight_mask = (1 << weight_bits) - 1
    key_shift = weight_bits + payload_bits
    ends = np.empty(CHUNK + 1, np.int64)  # running weight at each group's end, the previous first
    carried = np.empty(CHUNK + 1, np.int64)  # running Σ w·payload there
    keys = np.empty(CHUNK + 1, np.int64)
    cross = keyed = square = 0.0
    weight_sum = payload_sum = 0
    ends[0] = carried[0] = 0
    for start in range(0, active, CHUNK):
        m = 1
        for k in range(start, min(active, start + CHUNK)):
            word = packed[k]
            weight = (word >> payload_bits) & weight_mask
            weight_sum += weight
            payload_sum += weight * (word & payload_mask)
            key = word >> key_shift
            ends[m], carried[m], keys[m] = weight_sum, payload_sum, key
            m += ((packed[min(k + 1, active - 1)] >> key_shift) != key) | (k == active - 1)
        block = _group_sums(ends, carried, keys, m)
        cross += block[0]
        keyed += block[1]
        square += block[2]
        ends[0], carried[0] = ends[m - 1], carried[m - 1]  # a group may go on in the next block
    return cross, keyed, square


@nb.njit(cache=True, nogil=True, fastmath=True)
def _group_sums(
    ends: np.ndarray, carried: np.ndarray, keys: np.ndarray, m: int
) -> tuple[float, float, float]:
    """Σ p·X, Σ p·T·key, Σ p²·T of the groups 1..m−1 of _payload_walk (T its weight, X its
    Σ w·payload, p = ends[g − 1] + ends[g] + 1); fastmath lets the float sums vectorise."""
    cross = keyed = square = 0.0
    for g in range(1, m):
        group = float(ends[g] - ends[g - 1])
        rank = float(ends[g - 1] + ends[g] + 1)
        cross += rank * float(carried[g] - carried[g - 1])
        keyed += rank * group * float(keys[g])
        square += rank * rank * group
    return cross, keyed, square


@nb.njit(cache=True, nogil=True)
def _packed_keys(
    ranks: np.ndarray,
    pool: np.ndarray,
    weights: np.ndarray,
    low_bits: int,
    weight_bits: int,
    packed: np.ndarray,
    carry: int = -1,
) -> None:
    """Per active pair, into `packed`: (Σ_t pool_t · ranks_t) << (weight_bits + low_bits)
    | weight << low_bits | low, where low is the pair's index (carry < 0, pooled_ranks) or
    ranks_carry (payload_sums).

    In chunks of pairs, one row at a time, so that each inner loop is a plain vectorisable pass.
    """
    key = np.empty(CHUNK, np.int64)
    for start in range(0, ranks.shape[1], CHUNK):
        size = min(CHUNK, ranks.shape[1] - start)
        key[:] = 0
        for t in range(ranks.shape[0]):
            if pool[t]:
                row, times = ranks[t, start : start + size], pool[t]
                for a in range(size):
                    key[a] += times * row[a]
        out, weight = packed[start : start + size], weights[start : start + size]
        if carry >= 0:
            carried = ranks[carry, start : start + size]
            for a in range(size):
                out[a] = (((key[a] << weight_bits) | weight[a]) << low_bits) | carried[a]
        else:
            for a in range(size):
                out[a] = (((key[a] << weight_bits) | weight[a]) << low_bits) | (start + a)


@nb.njit(cache=True, nogil=True)
def _ranks_of_sorted(
    packed: np.ndarray, index_bits: int, weight_bits: int, out: np.ndarray
) -> None:
    """Doubled weighted mid-ranks along sorted packed keys, written to each pair's slot."""
    active = packed.shape[0]
    index_mask = (1 << index_bits) - 1
    weight_mask = (1 << weight_bits) - 1
    key_shift = index_bits + weight_bits
    before = 0
    k = 0
    while k < active:
        key = packed[k] >> key_shift
        end = k
        group = (packed[k] >> index_bits) & weight_mask
        while end + 1 < active and (packed[end + 1] >> key_shift) == key:
            end += 1
            group += (packed[end] >> index_bits) & weight_mask
        rank = 2 * before + group + 1
        for q in range(k, end + 1):
            out[packed[q] & index_mask] = rank
        before += group
        k = end + 1


@nb.njit(cache=True, nogil=True, fastmath=True)
def pooled_sums(
    pooled: np.ndarray, ranks: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, float]:
    """Σ w·p·r of one pooled row of doubled ranks with every row of `ranks`, and Σ w·p², in
    chunks that read each row once; fastmath lets the float sums vectorise."""
    out = np.zeros(ranks.shape[0])
    square = 0.0
    weighted = np.empty(CHUNK)
    for start in range(0, pooled.shape[0], CHUNK):
        size = min(CHUNK, pooled.shape[0] - start)
        pool, weight = pooled[start : start + size], weights[start : start + size]
        chunk_square = 0.0  # added per chunk, as the cross sums: a 4.86 M-pair sum in one
        for a in range(size):  # float was 3e-14 off the exact integer, per chunk 1e-15
            weighted[a] = float(weight[a]) * float(pool[a])
            chunk_square += weighted[a] * float(pool[a])
        square += chunk_square
        for t in range(ranks.shape[0]):
            row = ranks[t, start : start + size]
            total = 0.0
            for a in range(size):
                total += weighted[a] * float(row[a])
            out[t] += total
    return out, square


@nb.njit(cache=True, nogil=True)
def doubled_ranks_and_order(
    pairs: np.ndarray,
    counts: np.ndarray,
    row: np.ndarray,
    column: np.ndarray,
    out: np.ndarray,
    order: np.ndarray,
    values: np.ndarray,
) -> int:
    """doubled_ranks, and the active pairs in the same sort order written to `order` (one spare
    last entry; returns how many): the RDM's sort order restricted to the pairs this sample drew,
    each tie flag set when the next active pair has the same value. A walk of `order` with counts
    that are zero wherever these are (a fold of the sample's images) gives the integers of a walk
    of the whole order (pairs with weight 0 change no rank), over about 40% of the pairs.

    In two phases: the walk writes each pair and its rank sequentially (`values`: scratch of
    `order`'s length), then a pass over the active pairs scatters the ranks to their slots. The
    walk makes no scattered write for the pairs not drawn (about 60%), and the scatter has no
    dependence on a running sum (0.054 against 0.065 CPU s a 12 M pair RDM at 4916 images); it
    prefetches its slots PREFETCH pairs ahead.
    """
    before = 0
    p = 0
    k = 0
    while k < pairs.shape[0]:
        pair = pairs[k]
        if pair >= 0:
            w = counts[pair >> 16] * counts[pair & 0xFFFF]
            order[p] = pair  # kept when drawn: no branch
            values[p] = 2 * before + w + 1
            p += w > 0
            before += w
            k += 1
            continue
        end = k
        while pairs[end] < 0:
            end += 1
        group = _group_weight(pairs, k, end, counts)
        rank = 2 * before + group + 1
        first = p
        for q in range(k, end + 1):
            order[p] = pairs[q]  # flagged: tied with the next pair of the group
            values[p] = rank
            p += _pair_weight(pairs[q], counts) > 0
        if p > first:  # the group's last active pair is tied with no next one
            order[p - 1] &= 0x7FFFFFFF
        before += group
        k = end + 1
    for q in range(p):
        ahead = order[min(q + PREFETCH, p - 1)] & 0x7FFFFFFF
        _prefetch_for_write(out, row[ahead >> 16] + column[ahead & 0xFFFF])
        pair = order[q] & 0x7FFFFFFF
        out[row[pair >> 16] + column[pair & 0xFFFF]] = values[q]
    return p


@nb.njit(cache=True, nogil=True)
def split_doubled_ranks(
    order: np.ndarray,
    counts_0: np.ndarray,
    row_0: np.ndarray,
    column_0: np.ndarray,
    out_0: np.ndarray,
    counts_1: np.ndarray,
    row_1: np.ndarray,
    column_1: np.ndarray,
    out_1: np.ndarray,
) -> None:
    """doubled_ranks of the two folds of one split in one walk of a sample's active order (from
    doubled_ranks_and_order; both folds' counts zero wherever the sample's are): the same
    integers as two walks, each fold with its own running weight and tie group weights, written
    to its own `out` (with its spare slot). Every active pair is in fold 0, fold 1 or neither;
    the two writes need no branch (0.052 against 0.057 CPU s for a 12 M pair RDM's four folds).
    """
    spare_0 = out_0.shape[0] - 1
    spare_1 = out_1.shape[0] - 1
    before_0 = 0
    before_1 = 0
    k = 0
    while k < order.shape[0]:
        pair = order[k]
        if pair >= 0:
            i = pair >> 16
            j = pair & 0xFFFF
            w_0 = counts_0[i] * counts_0[j]
            w_1 = counts_1[i] * counts_1[j]
            out_0[min(row_0[i] + column_0[j], spare_0)] = 2 * before_0 + w_0 + 1
            out_1[min(row_1[i] + column_1[j], spare_1)] = 2 * before_1 + w_1 + 1
            before_0 += w_0
            before_1 += w_1
            k += 1
            continue
        end = k
        while order[end] < 0:
            end += 1
        group_0 = _group_weight(order, k, end, counts_0)
        group_1 = _group_weight(order, k, end, counts_1)
        rank_0 = 2 * before_0 + group_0 + 1
        rank_1 = 2 * before_1 + group_1 + 1
        for q in range(k, end + 1):
            i = (order[q] >> 16) & 0x7FFF
            j = order[q] & 0xFFFF
            out_0[min(row_0[i] + column_0[j], spare_0)] = rank_0
            out_1[min(row_1[i] + column_1[j], spare_1)] = rank_1
        before_0 += group_0
        before_1 += group_1
        k = end + 1
