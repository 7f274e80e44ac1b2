"""Inner products of many RDM vectors read in chunks of pairs: exact, and the same bytes on any
number of threads.

Each chunk of pairs gives its size, each vector's mean over the chunk and the inner products
of the chunk's vectors with a few target vectors (the layers), within blocks (the ROIs of an
atlas) and of given pairs of vectors, by BLAS (``matmul``) on one thread (the executors set
that): for a fixed chunk size a chunk's sums do not depend on where or beside what it ran.
For corr the products are of values centred on the chunk's own means, and chunks are combined
in their order by the pairwise update of Chan, Golub and LeVeque (1979):
C = Σ_c C_c + Σ_c n_c (m_c − m)(m_c − m)ᵀ, with m the overall mean; so values far from zero
lose nothing to cancellation. For cosine the raw products are summed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Pairs per chunk. Fixed, whatever the threads or memory: chunk boundaries decide the sums'
#: round-off, so they must not depend on where the work runs.
CHUNK_PAIRS = 1 << 18
_HEAD = 64  # values first checked for a change; only rows constant there are checked in full


@dataclass(frozen=True)
class Layout:
    """Which products to take of the rows of a chunk (V vectors).

    targets: rows [0, targets) are compared with every row (cross, V × targets).
    blocks: (start, stop) row ranges whose own Gram matrices are kept.
    pairs: (k, 2) rows whose inner product is kept, always of centred values.
    """

    targets: int
    blocks: tuple[tuple[int, int], ...] = ()
    pairs: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Products:
    """Sums over pairs, per chunk or combined; centred for corr (`centred`), raw for cosine.

    count: pairs; means: (V,); squares: (V,) Σx²; cross: (V, targets); blocks: Gram matrix of
    each block; pairs: (k,) centred Σ x_a x_b; first: (V,) each row's first value; varies:
    (V,) whether a row is not constant (corr) or not all zero (cosine).
    """

    centred: bool
    count: int
    means: np.ndarray
    squares: np.ndarray
    cross: np.ndarray
    blocks: tuple[np.ndarray, ...]
    pairs: np.ndarray
    first: np.ndarray
    varies: np.ndarray


def chunk_pairs(n_pairs: int, chunk: int = CHUNK_PAIRS) -> list[tuple[int, int]]:
    """The chunks [start, stop) of `n_pairs` pairs, `chunk` at a time."""
    return [(start, min(start + chunk, n_pairs)) for start in range(0, n_pairs, chunk)]


def _varies(values: np.ndarray, centred: bool) -> np.ndarray:
    """Rows not constant (centred: corr) or not all zero (cosine), looking at a head first."""

    def differs(rows: np.ndarray) -> np.ndarray:
        return np.any(rows != (rows[:, :1] if centred else 0.0), axis=1)

    found = differs(values[:, :_HEAD])
    rest = np.flatnonzero(~found)
    if rest.size:
        found[rest] = differs(values[rest])
    return found


def chunk_products(values: np.ndarray, layout: Layout, centred: bool) -> Products:
    """The sums of one chunk (V × n values, overwritten when `centred`).

    Parameters
    ----------
    values : (V, n) float64 array
        The chunk of every vector, C-contiguous.
    layout : Layout
        Which products to keep.
    centred : bool
        True for corr (products of values centred on the chunk's means), False for cosine.

    Returns
    -------
    Products of this chunk
    """
    count = values.shape[1]
    first = values[:, 0].copy()
    varies = _varies(values, centred)
    means = values.mean(axis=1)
    pairs = np.array([a for a, _ in layout.pairs], dtype=np.intp)
    partners = np.array([b for _, b in layout.pairs], dtype=np.intp)
    if centred:
        values -= means[:, None]
        ours, theirs = values[pairs], values[partners]
    else:
        ours, theirs = values[pairs] - means[pairs, None], values[partners] - means[partners, None]
    pair_sums = np.stack(
        [
            np.einsum("ij,ij->i", ours, theirs),
            np.einsum("ij,ij->i", ours, ours),
            np.einsum("ij,ij->i", theirs, theirs),
        ],
        axis=1,
    ).reshape(-1, 3)
    targets = values[: layout.targets]
    return Products(
        centred=centred,
        count=count,
        means=means,
        squares=np.einsum("ij,ij->i", values, values),
        cross=values @ targets.T,
        blocks=tuple(values[a:b] @ values[a:b].T for a, b in layout.blocks),
        pairs=pair_sums,
        first=first,
        varies=varies,
    )


def combine(chunks: list[Products], layout: Layout) -> Products:
    """The sums over every chunk, added in the list's order (so the same bytes every time).

    Parameters
    ----------
    chunks : list of Products
        Every chunk's sums, in chunk order.
    layout : Layout
        The layout the chunks were computed with.

    Returns
    -------
    Products over all pairs (first: the first chunk's; varies: anywhere)
    """
    centred = chunks[0].centred
    count = sum(c.count for c in chunks)
    means = np.zeros_like(chunks[0].means)
    for c in chunks:
        means += c.count * c.means
    means /= count
    squares = np.zeros_like(chunks[0].squares)
    cross = np.zeros_like(chunks[0].cross)
    blocks = [np.zeros_like(b) for b in chunks[0].blocks]
    pair_sums = np.zeros_like(chunks[0].pairs)
    varies = np.zeros_like(chunks[0].varies)
    pairs = np.array([a for a, _ in layout.pairs], dtype=np.intp)
    partners = np.array([b for _, b in layout.pairs], dtype=np.intp)
    for c in chunks:
        shift = c.means - means  # the chunk mean's offset, for the centred sums
        squares += c.squares
        cross += c.cross
        for total, block in zip(blocks, c.blocks, strict=True):
            total += block
        pair_sums += c.pairs
        pair_sums += c.count * np.stack(
            [shift[pairs] * shift[partners], shift[pairs] ** 2, shift[partners] ** 2], axis=1
        ).reshape(-1, 3)
        varies |= c.varies
        if centred:  # a row constant in every chunk varies if two chunks' constants differ
            varies |= c.first != chunks[0].first
            squares += c.count * shift * shift
            cross += c.count * np.outer(shift, shift[: layout.targets])
            for total, (a, b) in zip(blocks, layout.blocks, strict=True):
                total += c.count * np.outer(shift[a:b], shift[a:b])
    return Products(
        centred=centred,
        count=count,
        means=means,
        squares=squares,
        cross=cross,
        blocks=tuple(blocks),
        pairs=pair_sums,
        first=chunks[0].first,
        varies=varies,
    )


def similarities(
    products: Products, layout: Layout
) -> tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray]:
    """corr or cosine from combined sums: (V × targets) of every row with the targets, each
    block's own (b × b) matrix (both normalised by the rows' `squares`), and the Pearson r of
    each pair (always centred), (k,)."""
    norms = np.sqrt(products.squares)
    cross = products.cross / norms[:, None] / norms[None, : products.cross.shape[1]]
    blocks = tuple(
        block / norms[a:b, None] / norms[None, a:b]
        for block, (a, b) in zip(products.blocks, layout.blocks, strict=True)
    )
    pairs = products.pairs
    return cross, blocks, pairs[:, 0] / np.sqrt(pairs[:, 1] * pairs[:, 2])
