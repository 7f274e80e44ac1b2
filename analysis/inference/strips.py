"""`pair_sums` as independent tasks over strips of images, for any study size and any executor.

A strip is the set of pairs whose first image lies in one block of images: in the
np.triu_indices order those pairs are one contiguous range of every RDM vector, so a task reads
exactly that range of each RDM (from memory or from the aligned store on disk) and sums the
block pairs (its block, every later block). Tasks are independent and their results are added
in strip order, so the sum is the same bytes on threads or on a Dask cluster.

Per block pair the K products z_left · z_right are formed with the forms as the leading axis
(a gather of whole |a|·|b| planes, much faster than gathering along a middle axis), contracted
with the counts of block b by one matrix product and with those of block a by a batched
product. Block and sample-chunk sizes follow from a memory budget, so memory per task stays
bounded however many forms (ROIs × subjects × layers) there are.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..executor import Executor, LocalExecutor
from ..reading.align import condensed_index
from ..reading.store import row_range

FORMS_BYTES = 1e9     # the two form buffers of one task (measured best: blocks of ~128 images at K ≈ 7500)
CHUNK_BYTES = 256e6   # one task's (forms × images × samples) product
MAX_BLOCK = 320


def image_blocks(n: int, block: int) -> list[tuple[int, int]]:
    """Consecutive [start, stop) ranges of about `block` images covering 0..n."""
    count = max(1, int(np.ceil(n / block)))
    edges = np.linspace(0, n, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def block_size(n_forms: int, itemsize: int) -> int:
    """Images per block so that a block pair's two form buffers (2·K·|a|·|b| values) fit FORMS_BYTES."""
    return int(np.clip(np.sqrt(FORMS_BYTES / (2 * n_forms * itemsize)), 16, MAX_BLOCK))


def strip_bounds(a: tuple[int, int], n: int) -> tuple[int, int]:
    """Positions [start, stop) in the vector of the pairs whose first image lies in [a0, a1)."""
    return a[0] * (2 * n - a[0] - 1) // 2, a[1] * (2 * n - a[1] - 1) // 2


def strip_values(rows: Sequence, shift: np.ndarray, scale: np.ndarray, n: int, a: tuple[int, int],
                 dtype: type) -> tuple[np.ndarray, int]:
    """(V+1) × strip standardised values of every row (row V is the constant 1), and the strip's start."""
    start, stop = strip_bounds(a, n)
    values = np.empty((len(rows) + 1, stop - start), dtype=dtype)
    for v, row in enumerate(rows):
        values[v] = (row_range(row, start, stop) - shift[v]) / scale[v]
    values[-1] = 1.0
    return values, start


def block_index(a: tuple[int, int], b: tuple[int, int], n: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions within a strip of the pairs (i in a, j in b), both triangles for a == b, and the diagonal."""
    image_rows = np.arange(*a)[:, None]
    image_cols = np.arange(*b)[None, :]
    low, high = np.minimum(image_rows, image_cols), np.maximum(image_rows, image_cols)
    diagonal = low == high
    index = condensed_index(low, high, n) - start
    index[diagonal] = 0
    return index, diagonal


def strip_sums(strip: int, *, rows: Sequence, blocks: list[tuple[int, int]], left: np.ndarray,
               right: np.ndarray, counts: np.ndarray, shift: np.ndarray, scale: np.ndarray,
               dtype: type, sample_chunk: int) -> np.ndarray:
    """Σ over the block pairs (blocks[strip], b) with b ≥ blocks[strip] of Σ_{i<j} c_i c_j z_left z_right: B × K."""
    n = counts.shape[1]
    a = blocks[strip]
    values, start = strip_values(rows, shift, scale, n, a, dtype)
    counts_t = np.asarray(counts, dtype=dtype)
    sums = np.zeros((counts.shape[0], left.size))
    size = (a[1] - a[0]) * max(b[1] - b[0] for b in blocks[strip:])
    first = np.empty(left.size * size, dtype=dtype)
    second = np.empty(left.size * size, dtype=dtype)
    for b in blocks[strip:]:
        index, diagonal = block_index(a, b, n, start)
        block = values[:, index]  # (V+1) × |a| × |b|
        if a == b:
            block[:, diagonal] = 0.0
        shape = (left.size, a[1] - a[0], b[1] - b[0])
        forms = np.take(block, left, axis=0, out=first[:np.prod(shape)].reshape(shape))
        forms *= np.take(block, right, axis=0, out=second[:np.prod(shape)].reshape(shape))
        del block
        if a == b:
            forms *= 0.5  # the full square counts each pair twice
        flat = forms.reshape(-1, shape[2])  # (K·|a|) × |b|
        for s in range(0, counts.shape[0], sample_chunk):
            chunk = slice(s, s + sample_chunk)
            by_b = flat @ counts_t[chunk, b[0]:b[1]].T  # (K·|a|) × Bc
            sums[chunk] += np.einsum("kib,bi->bk", by_b.reshape(shape[0], shape[1], -1),
                                     counts_t[chunk, a[0]:a[1]])
    return sums


def pair_sums(rows: Sequence, left: np.ndarray, right: np.ndarray, counts: np.ndarray,
              shift: np.ndarray | None = None, scale: np.ndarray | None = None,
              dtype: type = np.float64, block: int | None = None, sample_chunk: int | None = None,
              executor: Executor | None = None, advance: Callable[[float], None] | None = None) -> np.ndarray:
    """Σ_{i<j} c_i c_j · z[left[k]]_ij · z[right[k]]_ij for every sample and form k (B × K, float64).

    rows: V RDM vectors (arrays, or stored rows read a strip at a time), z_v = (rows[v] − shift_v)
    / scale_v; index V means the constant 1. counts: B × n image counts. block / sample_chunk:
    images per block and samples per product (default: from the memory budget). `advance` is
    called with each strip's share of the work as it completes.
    """
    n = counts.shape[1]
    left, right = np.asarray(left), np.asarray(right)
    shift = np.zeros(len(rows)) if shift is None else np.asarray(shift, dtype=np.float64)
    scale = np.ones(len(rows)) if scale is None else np.asarray(scale, dtype=np.float64)
    itemsize = np.dtype(dtype).itemsize
    block = block or block_size(left.size, itemsize)
    sample_chunk = sample_chunk or int(np.clip(CHUNK_BYTES // (left.size * block * itemsize), 1, 256))
    blocks = image_blocks(n, block)
    whole = np.array_equal(counts, np.round(counts)) and np.all(np.abs(counts) <= np.iinfo(np.int16).max)
    counts_sent = np.asarray(counts, dtype=np.int16 if whole else np.float64)  # small to send to workers
    totals = np.zeros((counts.shape[0], left.size))
    work = np.array([(n - a[0]) * (a[1] - a[0]) for a in blocks], dtype=float)
    executor = executor or LocalExecutor()
    results = executor.map(strip_sums, list(range(len(blocks))), rows=list(rows), blocks=blocks, left=left,
                           right=right, counts=counts_sent, shift=shift, scale=scale, dtype=dtype,
                           sample_chunk=sample_chunk)
    for strip, sums in enumerate(results):
        totals += sums
        if advance is not None:
            advance(work[strip] / work.sum())
    return totals
