"""Second-order comparisons: every ROI RDM and every layer RDM compared with each other (ROI–ROI,
layer–layer and ROI–layer) with the study's method, for a map of brain and networks in one space;
and a few RDMs on a small, source-stratified subsample of images, for drawing.

The similarity matrix is built block by block from vectors prepared once (`prepare`), so no stack
of all RDMs is ever copied: with the real data each vector holds millions of pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..reading.align import condensed_index
from .gram import (
    CHUNK_PAIRS,
    Layout,
    Products,
    chunk_pairs,
    chunk_products,
    combine,
    similarities,
)
from .methods import compare_prepared
from .ranks import average_ranks

#: Rank methods whose similarity is an inner product of ranks, so streamable in chunks of pairs.
RANKED_GRAM_METHODS = ("spearman", "rho-a")


def similarity_matrix(
    rois: np.ndarray, layers: Mapping[str, np.ndarray], method: str
) -> np.ndarray:
    """Symmetric similarity of all RDMs, ROIs first then each network's layers in order, from
    vectors already prepared for `method` (rows are RDMs)."""
    blocks = [rois, *layers.values()]
    sizes = [len(b) for b in blocks]
    edges = np.concatenate([[0], np.cumsum(sizes)])
    out = np.empty((edges[-1], edges[-1]))
    for i, a in enumerate(blocks):
        for j in range(i, len(blocks)):
            block = compare_prepared(a, blocks[j], method)
            out[edges[i] : edges[i + 1], edges[j] : edges[j + 1]] = block
            out[edges[j] : edges[j + 1], edges[i] : edges[i + 1]] = block.T
    return out


def second_order_table(
    roi_names: Sequence[str],
    roi_prepared: np.ndarray,
    layer_names: Mapping[str, Sequence[str]],
    layer_prepared: Mapping[str, np.ndarray],
    method: str,
) -> pd.DataFrame:
    """Tidy rows (kind_a, network_a, name_a, kind_b, network_b, name_b, method, r), one per
    unordered pair of distinct RDMs (the upper triangle, ROIs first); network is '' for ROIs."""
    return second_order_frame(
        roi_names,
        {n: layer_names[n] for n in layer_prepared},
        similarity_matrix(roi_prepared, layer_prepared, method),
        method,
    )


def second_order_frame(
    roi_names: Sequence[str],
    layer_names: Mapping[str, Sequence[str]],
    similarity: np.ndarray,
    method: str,
) -> pd.DataFrame:
    """The tidy rows of `second_order_table` from a similarity matrix over ROIs then layers."""
    items = [("roi", "", str(r)) for r in roi_names]
    items += [
        ("layer", network, str(layer))
        for network, layers in layer_names.items()
        for layer in layers
    ]
    a, b = np.triu_indices(len(items), 1)
    kinds, networks, names = (np.array(column, dtype=object) for column in zip(*items, strict=True))
    return pd.DataFrame(
        {
            "kind_a": kinds[a],
            "network_a": networks[a],
            "name_a": names[a],
            "kind_b": kinds[b],
            "network_b": networks[b],
            "name_b": names[b],
            "method": method,
            "r": similarity[a, b],
        }
    )


def streamed_products(
    readers: Sequence[Callable[[int, int], np.ndarray]],
    n_pairs: int,
    centred: bool,
    chunk: int = CHUNK_PAIRS,
) -> tuple[Products, Layout]:
    """The sums (gram.py) of every two RDM vectors read in chunks of pairs
    (`readers[i](start, stop)`), centred (corr) or raw (cosine): memory holds one chunk of every
    vector, whatever the RDMs' size, and each vector is read once."""
    layout = Layout(targets=len(readers))
    parts = [
        chunk_products(
            np.stack([np.asarray(read(start, stop), dtype=np.float64) for read in readers]),
            layout,
            centred=centred,
        )
        for start, stop in chunk_pairs(n_pairs, chunk)
    ]
    return combine(parts, layout), layout


def streamed_similarity(
    readers: Sequence[Callable[[int, int], np.ndarray]],
    n_pairs: int,
    method: str,
    chunk: int = CHUNK_PAIRS,
) -> np.ndarray:
    """corr or cosine between every two RDM vectors, read in chunks of pairs
    (`readers[i](start, stop)`, streamed_products).

    Returns
    -------
    (len(readers), len(readers)) float64 array
    """
    products, layout = streamed_products(readers, n_pairs, method == "corr", chunk)
    similarity, _, _ = similarities(products, layout)
    return similarity


def doubled_ranks(vector: np.ndarray) -> np.ndarray:
    """2 × the average ranks of one RDM vector (scipy's rankdata), as integers: exact, in half
    the memory of float ranks (int32 while 2·pairs + 1 fits)."""
    vector = np.asarray(vector)
    dtype = np.int32 if 2 * vector.shape[-1] + 1 < 2**31 else np.int64
    return (2.0 * average_ranks(vector.reshape(1, -1))[0]).astype(dtype)


def ranked_similarity(
    doubled: Sequence[np.ndarray], method: str, chunk: int = CHUNK_PAIRS
) -> np.ndarray:
    """spearman or rho-a between every two RDM vectors, given their doubled ranks
    (`doubled_ranks`), streamed in chunks of pairs: spearman is the corr of the ranks, rho-a
    12 Σ (r_a − m)(r_b − m) / (n³ − n) over n pairs (rsatoolbox's compare). Only the integer
    ranks are held, one chunk of them in floats at a time: float ranks of every RDM of a
    deposit-sized study (33 ROIs and 39 layers at 4916 images) took 13 GB.

    Returns
    -------
    (len(doubled), len(doubled)) float64 array
    """
    if method not in RANKED_GRAM_METHODS:
        raise ValueError(f"ranked_similarity takes {RANKED_GRAM_METHODS}, not {method}")
    readers = [lambda start, stop, row=row: row[start:stop] / 2.0 for row in doubled]
    n_pairs = doubled[0].shape[0]
    products, layout = streamed_products(readers, n_pairs, True, chunk)
    if method == "spearman":
        return similarities(products, layout)[0]
    return 12.0 * products.cross / float(n_pairs**3 - n_pairs)


def stratified_images(sources: Sequence[str], n_images: int = 48) -> np.ndarray:
    """Positions of about `n_images` images, as many per source as the sources allow, evenly spaced
    within each source in the canonical order, returned ordered by source then position."""
    sources = np.asarray(sources, dtype=object)
    names = sorted(set(sources))
    per_source = max(1, n_images // max(len(names), 1))
    chosen = []
    for source in names:
        where = np.flatnonzero(sources == source)
        take = np.unique(
            np.linspace(0, len(where) - 1, min(per_source, len(where))).round().astype(int)
        )
        chosen.append(where[take])
    return np.concatenate(chosen)


def rdm_examples_table(
    images: Sequence[str],
    sources: Sequence[str],
    vectors: Mapping[str, np.ndarray | Callable[[np.ndarray], np.ndarray]],
    n_images: int = 48,
) -> pd.DataFrame:
    """Tidy rows (rdm, image_a, image_b, source_a, source_b, dissimilarity):
    each named RDM vector (canonical triu order over `images`, whose sources are
    `sources`; or a function giving its values at given positions) restricted to a
    source-stratified subsample, one row per pair."""
    picked = stratified_images(sources, n_images)
    a, b = np.triu_indices(len(picked), 1)
    first, second = picked[a], picked[b]
    index = condensed_index(np.minimum(first, second), np.maximum(first, second), len(images))
    names = np.asarray(images, dtype=object)
    source = np.asarray(sources, dtype=object)
    frames = [
        pd.DataFrame(
            {
                "rdm": label,
                "image_a": names[first],
                "image_b": names[second],
                "source_a": source[first],
                "source_b": source[second],
                "dissimilarity": vector(index) if callable(vector) else np.asarray(vector)[index],
            }
        )
        for label, vector in vectors.items()
    ]
    return pd.concat(frames, ignore_index=True)
