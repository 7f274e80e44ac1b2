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
from .gram import CHUNK_PAIRS, Layout, chunk_pairs, chunk_products, combine, similarities
from .methods import compare_prepared


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


def streamed_similarity(
    readers: Sequence[Callable[[int, int], np.ndarray]],
    n_pairs: int,
    method: str,
    chunk: int = CHUNK_PAIRS,
) -> np.ndarray:
    """corr or cosine between every two RDM vectors, read in chunks of pairs
    (`readers[i](start, stop)`): sums over chunks (gram.py), so memory holds one chunk of every
    vector, whatever the RDMs' size, and each vector is read once.

    Returns
    -------
    (len(readers), len(readers)) float64 array
    """
    layout = Layout(targets=len(readers))
    parts = [
        chunk_products(
            np.stack([np.asarray(read(start, stop), dtype=np.float64) for read in readers]),
            layout,
            centred=method == "corr",
        )
        for start, stop in chunk_pairs(n_pairs, chunk)
    ]
    similarity, _, _ = similarities(combine(parts, layout), layout)
    return similarity


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
