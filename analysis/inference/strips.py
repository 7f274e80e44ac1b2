"""`pair_sums` as independent tasks over strips of images, for any study size and any executor.

A strip is the set of pairs whose first image lies in one block of images: in the
np.triu_indices order those pairs are one contiguous range of every RDM vector, so a task reads
exactly that range of each RDM (from memory or from the aligned store on disk) and sums the
block pairs (its block, every later block). Tasks are independent and their results are added
in strip order, so the sum is the same bytes on threads or on a Dask cluster.

Per block pair the K products z_left · z_right are formed a group of forms at a time, small enough
to stay in a core's cache (a gather of whole |a|·|b| planes), and each group is contracted with
the counts of block b by one matrix product and with those of block a by a batched product, so
the products are never all in memory. Block, group and sample-chunk sizes follow from memory
budgets, so memory per task stays bounded however many forms (ROIs × subjects × layers) there
are. With `full`, the same read also gives the sums on the data as they are, in float64. With
`terms`, the same products also give symmetric bilinear sums of other rows of counts (`Terms`):
each extra row costs one more column of the matrix product and no more reads. Those forms take
their products over the whole strip at once (`rectangle_sums`), so that their many columns are
contracted with block a once per strip, not once per block pair.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

from ..executor import Executor, LocalExecutor
from ..reading.align import condensed_index
from ..reading.store import row_range

STRIP_BYTES = (
    8e8  # one task's standardised strip of every row (measured best at the deposit's size)
)
GATHER_BYTES = 6.4e7  # one block pair's gathered values, (V+1)·|a|·|b|
GROUP_BYTES = 1e6  # one group of products z_left·z_right: stays in a core's L2 cache
FULL_COLUMNS = 65536  # pairs read and standardised at a time (in float64)
CHUNK_BYTES = 256e6  # one group's (forms × |a| × samples) product
TERM_CHUNK_BYTES = 7.5e5  # with terms: one group × chunk of samples product (and its w) in L2
MAX_BLOCK = 320


@dataclass(frozen=True)
class Terms:
    """More quadratic sums Q(w) = Σ_{i<j} w_i w_j z_left z_right, from the same pass and products
    as the samples' sums, for the first `forms` forms.

    vectors: J × n more rows of counts, after the samples' (rows B.. of [counts; vectors]); each
    is one more column of the matrix product. Term t gives Q(w) for the rows w = first[t] + i
    (i < length[t]), or, where minus[t] ≥ 0, w = row first[t] + i − row minus[t] + i, whose
    product with the block pair is the difference of theirs: no more columns, and the sum is
    accumulated on w itself (its rounding is that of Q(w), not of the larger sums it differs
    from).
    """

    vectors: np.ndarray
    first: tuple[int, ...]
    minus: tuple[int, ...]
    length: tuple[int, ...]
    forms: int = 0

    @property
    def rows(self) -> int:
        """Rows of the result: Σ length."""
        return int(sum(self.length))


def image_blocks(n: int, block: int) -> list[tuple[int, int]]:
    """Consecutive [start, stop) ranges of about `block` images covering 0..n."""
    count = max(1, int(np.ceil(n / block)))
    edges = np.linspace(0, n, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def block_size(n_rows: int, n_images: int, itemsize: int) -> int:
    """Images per block so that a strip of the n_rows rows fits STRIP_BYTES and a block pair's
    gathered values fit GATHER_BYTES."""
    by_strip = STRIP_BYTES / (n_rows * n_images * itemsize)
    by_gather = np.sqrt(GATHER_BYTES / (n_rows * itemsize))
    return int(np.clip(min(by_strip, by_gather), 16, MAX_BLOCK))


def group_size(a: int, b: int, itemsize: int) -> int:
    """Forms per group so that one group's products (forms × |a| × |b|) fit GROUP_BYTES."""
    return max(1, int(GROUP_BYTES // (a * b * itemsize)))


def strip_bounds(a: tuple[int, int], n: int) -> tuple[int, int]:
    """Positions [start, stop) in the vector of the pairs whose first image lies in [a0, a1)."""
    return a[0] * (2 * n - a[0] - 1) // 2, a[1] * (2 * n - a[1] - 1) // 2


def strip_values(
    rows: Sequence,
    shift: np.ndarray,
    scale: np.ndarray,
    n: int,
    a: tuple[int, int],
    dtype: type,
    full: bool = False,
) -> tuple[np.ndarray, int, np.ndarray | None]:
    """(V+1) × strip standardised values of every row (row V is the constant 1), the strip's
    start and, if `full`, the float64 Gram Σ_strip z_u z_v of the rows ((V+1) × (V+1)): every
    pair of the strip once, i.e. the sums of the data as they are, from the same read."""
    start, stop = strip_bounds(a, n)
    values = np.empty((len(rows) + 1, stop - start), dtype=dtype)
    values[-1] = 1.0
    gram = np.zeros((len(rows) + 1, len(rows) + 1)) if full else None
    for first in range(start, stop, FULL_COLUMNS):
        last = min(stop, first + FULL_COLUMNS)
        chunk = np.empty((len(rows) + 1, last - first))
        for v, row in enumerate(rows):
            chunk[v] = (row_range(row, first, last) - shift[v]) / scale[v]
        chunk[-1] = 1.0
        values[:-1, first - start : last - start] = chunk[:-1]
        if gram is not None:
            gram += chunk @ chunk.T
    return values, start, gram


def block_index(
    a: tuple[int, int], b: tuple[int, int], n: int, start: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions within a strip of the pairs (i in a, j in
    b), both triangles for a == b, and the diagonal."""
    image_rows = np.arange(*a)[:, None]
    image_cols = np.arange(*b)[None, :]
    low, high = np.minimum(image_rows, image_cols), np.maximum(image_rows, image_cols)
    diagonal = low == high
    index = condensed_index(low, high, n) - start
    index[diagonal] = 0
    return index, diagonal


def strip_sums(
    strip: int,
    *,
    rows: Sequence,
    blocks: list[tuple[int, int]],
    left: np.ndarray,
    right: np.ndarray,
    counts: np.ndarray,
    shift: np.ndarray,
    scale: np.ndarray,
    dtype: type,
    sample_chunk: int | None = None,
    full: bool = False,
    terms: Terms | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Σ over the block pairs (blocks[strip], b) with b ≥ blocks[strip]
    of Σ_{i<j} c_i c_j z_left z_right (B × K); with `full` the same
    sums on the data as they are (K, float64) from the same read; with `terms` their sums
    (terms.rows × terms.forms) from the same products.

    Products are formed a group of forms at a time, small enough to stay in cache, and each group
    is contracted with the counts of block b by one matrix product and with those of block a by a
    batched product. The forms that carry terms go through `rectangle_sums` instead."""
    n = counts.shape[1]
    a = blocks[strip]
    values, start, gram = strip_values(rows, shift, scale, n, a, dtype, full)
    counts_t = np.asarray(counts, dtype=dtype)
    samples, forms = counts.shape[0], left.size
    sums = np.zeros((samples, forms))
    term_sums = None
    wide = 0 if terms is None else terms.forms  # the forms whose products also get the terms
    if terms is not None:
        counts_t = np.concatenate([counts_t, np.asarray(terms.vectors, dtype=dtype)])
        sums[:, :wide], term_sums = rectangle_sums(
            values, a, n, start, left[:wide], right[:wide], counts_t, samples, terms
        )
    width = max(b[1] - b[0] for b in blocks[strip:])
    group = group_size(a[1] - a[0], width, np.dtype(dtype).itemsize)
    chunk = sample_chunk or int(
        np.clip(CHUNK_BYTES // (group * (a[1] - a[0]) * np.dtype(dtype).itemsize), 1, samples)
    )
    groups = [slice(g, min(forms, g + group)) for g in range(wide, forms, group)]
    first = np.empty(group * (a[1] - a[0]) * width, dtype=dtype)
    second = np.empty_like(first)
    gathered = np.empty(values.shape[0] * (a[1] - a[0]) * width, dtype=dtype)
    counts_a = np.ascontiguousarray(counts_t[:samples, a[0] : a[1]].T)  # |a| × B: einsum's layout
    for b in blocks[strip:] if groups else ():
        index, diagonal = block_index(a, b, n, start)
        block = np.take(
            values,
            index,
            axis=1,
            mode="clip",  # (V+1) × |a| × |b|, C order
            out=gathered[: values.shape[0] * index.size].reshape(values.shape[0], *index.shape),
        )
        if a == b:
            block[:, diagonal] = 0.0
        counts_b = np.ascontiguousarray(counts_t[:samples, b[0] : b[1]].T)
        for k in groups:
            shape = (k.stop - k.start, a[1] - a[0], b[1] - b[0])
            products = np.take(
                block, left[k], axis=0, out=first[: np.prod(shape)].reshape(shape), mode="clip"
            )
            products *= np.take(
                block, right[k], axis=0, out=second[: np.prod(shape)].reshape(shape), mode="clip"
            )
            if a == b:
                products *= 0.5  # the full square counts each pair twice
            flat = products.reshape(-1, shape[2])  # (G·|a|) × |b|
            for s in range(0, samples, chunk):
                part = slice(s, s + chunk)
                by_b = flat @ counts_b[:, part]  # (G·|a|) × Bc
                sums[part, k] += np.einsum(
                    "kib,ib->bk", by_b.reshape(shape[0], shape[1], -1), counts_a[:, part]
                )
    return sums, (None if gram is None else gram[left, right]), term_sums


def rectangle_sums(
    values: np.ndarray,
    a: tuple[int, int],
    n: int,
    start: int,
    left: np.ndarray,
    right: np.ndarray,
    counts: np.ndarray,
    samples: int,
    terms: Terms,
) -> tuple[np.ndarray, np.ndarray]:
    """The samples' sums (B × terms.forms) and the terms' sums (terms.rows × terms.forms) of the
    forms left, right over one strip, whose first images are block a.

    Each form's products over the whole strip (i in a, j ≥ a's first image) are contracted with
    the counts of every j by one matrix product, so the products with a chunk of rows of counts
    (`term_chunks`, small enough to stay in a core's cache) are contracted with block a once per
    strip rather than once per block pair; that contraction sums in float64 (`add_terms`).
    counts: [samples' counts; terms.vectors], rows × n, in the strip's dtype.
    """
    itemsize = counts.dtype.itemsize
    index, _ = block_index(a, (a[0], n), n, start)  # |a| × (n − a0)
    square = a[1] - a[0]  # the first |a| columns hold both triangles of block a with itself
    on_diagonal = np.arange(square)  # pair (i, i): column i − a0 of row i − a0
    group = group_size(square, n - a[0], itemsize)
    chunks = term_chunks(terms, samples, TERM_CHUNK_BYTES / (group * square * itemsize))
    counts_a = np.ascontiguousarray(counts[:, a[0] : a[1]].T)
    on_rest = [np.ascontiguousarray(counts[c.rows, a[0] :].T) for c in chunks]
    on_a = [chunk_vectors(c, counts_a) for c in chunks]
    sums = np.zeros((samples, left.size))
    term_sums = np.zeros((terms.rows, terms.forms))
    products = np.empty((group, *index.shape), dtype=counts.dtype)
    other = np.empty(index.shape, dtype=counts.dtype)
    for g in range(0, left.size, group):
        k = slice(g, min(left.size, g + group))
        size = k.stop - k.start
        for f in range(size):
            np.take(values[left[g + f]], index, out=products[f], mode="clip")
            products[f] *= np.take(values[right[g + f]], index, out=other, mode="clip")
        products[:size, on_diagonal, on_diagonal] = 0.0
        products[:size, :, :square] *= 0.5  # the full square counts each pair twice
        flat = products[:size].reshape(-1, index.shape[1])  # (G·|a|) × (n − a0)
        for c, by_rest, (chunk_a, w) in zip(chunks, on_rest, on_a, strict=True):
            by_j = (flat @ by_rest).reshape(size, square, -1)  # G × |a| × rows of the chunk
            own = slice(0, c.samples[1] - c.samples[0])
            sums[slice(*c.samples), k] += np.einsum("kib,ib->bk", by_j[..., own], chunk_a[:, own])
            add_terms(term_sums, g, by_j, w, c.out_row, c.first, c.minus, c.length)
    return sums, term_sums


@dataclass(frozen=True)
class TermChunk:
    """A chunk of samples of a strip task with terms: the rows of [counts; vectors] it needs
    (sorted; its samples' own rows first) and, per term of the chunk, the first row of its sums
    in the result, the position among `rows` of w's first row and of the row it subtracts (−1:
    none), and its length."""

    samples: tuple[int, int]
    rows: np.ndarray
    out_row: np.ndarray
    first: np.ndarray
    minus: np.ndarray
    length: np.ndarray


def term_chunks(terms: Terms, samples: int, per_chunk: float) -> list[TermChunk]:
    """Chunks of the samples whose rows (the samples' own, and their rows in every term of
    `samples` rows) number about `per_chunk`; shorter terms (rows shared by all samples) go
    whole with the first chunk."""
    starts = np.concatenate([[0], np.cumsum(terms.length)]).astype(int)
    long = [t for t, length in enumerate(terms.length) if length == samples]
    blocks = {0} | {terms.first[t] for t in long} | {terms.minus[t] for t in long}
    size = int(max(1, per_chunk // len(blocks - {-1})))
    chunks = []
    for s0 in range(0, samples, size):
        s1 = min(samples, s0 + size)
        ranges = [
            (t, s0, s1) if t in long else (t, 0, terms.length[t])
            for t in range(len(terms.length))
            if t in long or s0 == 0
        ]
        needed = [np.arange(s0, s1)]
        for t, lo, hi in ranges:
            needed.append(np.arange(terms.first[t] + lo, terms.first[t] + hi))
            if terms.minus[t] >= 0:
                needed.append(np.arange(terms.minus[t] + lo, terms.minus[t] + hi))
        rows = np.unique(np.concatenate(needed))
        chunks.append(
            TermChunk(
                (s0, s1),
                rows,
                out_row=np.array([starts[t] + lo for t, lo, _ in ranges], dtype=np.int64),
                first=np.searchsorted(rows, [terms.first[t] + lo for t, lo, _ in ranges]),
                minus=np.array(
                    [
                        -1 if terms.minus[t] < 0 else np.searchsorted(rows, terms.minus[t] + lo)
                        for t, lo, _ in ranges
                    ],
                    dtype=np.int64,
                ),
                length=np.array([hi - lo for _, lo, hi in ranges], dtype=np.int64),
            )
        )
    return chunks


def chunk_vectors(chunk: TermChunk, counts_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chunk's rows of counts on block a (|a| × rows) and every term's w on block a, side by
    side in the chunk's term order (|a| × Σ length, float64)."""
    on_a = np.ascontiguousarray(counts_a[:, chunk.rows])
    w = [
        on_a[:, f : f + n] - (on_a[:, m : m + n] if m >= 0 else 0)
        for f, m, n in zip(chunk.first, chunk.minus, chunk.length, strict=True)
    ]
    return on_a, np.ascontiguousarray(np.hstack(w))


# numba, because numpy's batched product (einsum) sums in float32 and needs a temporary for each
# difference of rows; this loop reads each product once and sums in float64.
@nb.njit(cache=True, nogil=True, fastmath=True, boundscheck=False)
def add_terms(
    out: np.ndarray,
    first_form: int,
    by_b: np.ndarray,
    w: np.ndarray,
    out_row: np.ndarray,
    first: np.ndarray,
    minus: np.ndarray,
    length: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Add one block pair's share of a chunk's terms to out[:, first_form:first_form + G].

    by_b: G × |a| × rows, the products of the block pair (G forms) times the chunk's rows of
    counts on block b; w: |a| × Σ length, every term's w on block a (`chunk_vectors`)."""
    column = 0
    for t in range(out_row.size):
        f, m, n = first[t], minus[t], length[t]
        for g in range(by_b.shape[0]):
            total = np.zeros(n)
            for i in range(by_b.shape[1]):
                x = by_b[g, i, f : f + n]
                weights = w[i, column : column + n]
                if m < 0:
                    for b in range(n):
                        total[b] += np.float64(x[b]) * np.float64(weights[b])
                else:
                    y = by_b[g, i, m : m + n]
                    for b in range(n):
                        total[b] += (np.float64(x[b]) - np.float64(y[b])) * np.float64(weights[b])
            for b in range(n):
                out[out_row[t] + b, first_form + g] += total[b]
        column += n


def pair_sums(
    rows: Sequence,
    left: np.ndarray,
    right: np.ndarray,
    counts: np.ndarray,
    shift: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    dtype: type = np.float64,
    block: int | None = None,
    sample_chunk: int | None = None,
    executor: Executor | None = None,
    advance: Callable[[float], None] | None = None,
    full: bool = False,
    terms: Terms | None = None,
) -> np.ndarray | tuple[np.ndarray, ...]:
    """Σ_{i<j} c_i c_j · z[left[k]]_ij · z[right[k]]_ij
    for every sample and form k (B × K, float64).

    rows: V RDM vectors (arrays, or stored rows read a strip at a time), z_v = (rows[v] − shift_v)
    / scale_v; index V means the constant 1. counts: B × n image counts. block / sample_chunk:
    images per block and samples per product (default: from the memory budget). `advance` is
    called with each strip's share of the work as it completes. With `full`, also the sums on
    the data as they are (1 × K, float64, c = 1), from the same reads: returns (sums, full sums).
    With `terms`, returns (sums, full sums or None, term sums (terms.rows × terms.forms)).
    """
    n = counts.shape[1]
    left, right = np.asarray(left), np.asarray(right)
    shift = np.zeros(len(rows)) if shift is None else np.asarray(shift, dtype=np.float64)
    scale = np.ones(len(rows)) if scale is None else np.asarray(scale, dtype=np.float64)
    block = block or block_size(len(rows) + 1, n, np.dtype(dtype).itemsize)
    blocks = image_blocks(n, block)
    counts_sent = small_counts(counts)  # small to send to workers
    if terms is not None:
        terms = Terms(
            small_counts(terms.vectors),
            *(tuple(map(int, t)) for t in (terms.first, terms.minus, terms.length)),
            int(terms.forms),
        )
    totals = np.zeros((counts.shape[0], left.size))
    full_totals = np.zeros((1, left.size))
    term_totals = None if terms is None else np.zeros((terms.rows, terms.forms))
    work = np.array([(n - a[0]) * (a[1] - a[0]) for a in blocks], dtype=float)
    executor = executor or LocalExecutor()
    results = executor.map(
        strip_sums,
        list(range(len(blocks))),
        rows=list(rows),
        blocks=blocks,
        left=left,
        right=right,
        counts=counts_sent,
        shift=shift,
        scale=scale,
        dtype=dtype,
        sample_chunk=sample_chunk,
        full=full,
        terms=terms,
    )
    for strip, (sums, full_sums, term_sums) in enumerate(results):
        totals += sums
        if full:
            full_totals[0] += full_sums
        if terms is not None:
            term_totals += term_sums
        if advance is not None:
            advance(work[strip] / work.sum())
    if terms is not None:
        return totals, (full_totals if full else None), term_totals
    return (totals, full_totals) if full else totals


def small_counts(counts: np.ndarray) -> np.ndarray:
    """Counts as int16 when they are whole and fit, else float64 (small to send to workers)."""
    whole = np.array_equal(counts, np.round(counts)) and np.all(
        np.abs(counts) <= np.iinfo(np.int16).max
    )
    return np.asarray(counts, dtype=np.int16 if whole else np.float64)
