"""Second-order comparisons agree with rsatoolbox.rdm.compare on every pair of RDMs, and the RDM
examples are the right entries of the right RDMs on a source-balanced subsample."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox
import scipy.stats
from scipy.spatial.distance import squareform

from analysis.comparison.methods import prepare
from analysis.comparison.second_order import (
    doubled_ranks,
    ranked_similarity,
    rdm_examples_table,
    second_order_table,
    stratified_images,
    streamed_similarity,
)
from analysis.reading.images import source_of

SOURCES = {"COCO": r"^COCO_", "ImageNet": r"^n\d{8}_"}


def sources_of(images):
    return [source_of(name, SOURCES) for name in images]


@pytest.mark.parametrize("method", ["corr", "cosine", "spearman", "tau-a"])
def test_second_order_equals_rsatoolbox_for_every_pair(method):
    rng = np.random.default_rng(3)
    n_pairs = 45
    rois = rng.random((3, n_pairs))
    layers = {"net A": rng.random((2, n_pairs)), "net B": rng.random((4, n_pairs))}
    names = {"net A": ("a1", "a2"), "net B": ("b1", "b2", "b3", "b4")}
    table = second_order_table(
        ("V1", "V2", "LOC"),
        prepare(rois, method),
        names,
        {n: prepare(v, method) for n, v in layers.items()},
        method,
    )
    everything = np.vstack([rois, *layers.values()])
    expected = rsatoolbox.rdm.compare(
        rsatoolbox.rdm.RDMs(everything), rsatoolbox.rdm.RDMs(everything), method
    )
    n = len(everything)
    assert len(table) == n * (n - 1) // 2
    i, j = np.triu_indices(n, 1)
    assert np.allclose(table["r"], expected[i, j], atol=1e-9)
    assert list(
        table.iloc[0][["kind_a", "network_a", "name_a", "kind_b", "network_b", "name_b"]]
    ) == ["roi", "", "V1", "roi", "", "V2"]
    last = table.iloc[-1]
    assert (last["network_a"], last["name_a"], last["network_b"], last["name_b"]) == (
        "net B",
        "b3",
        "net B",
        "b4",
    )
    assert set(table["kind_a"]) == {"roi", "layer"} and (table["method"] == method).all()


def test_stratified_subsample_balances_sources_and_orders_by_source():
    images = sorted(
        [f"COCO_{i:03d}.jpg" for i in range(50)]
        + [f"n{i:08d}_1.JPEG" for i in range(30)]
        + [f"scene{i}.jpg" for i in range(5)]
    )
    picked = stratified_images(sources_of(images), 30)
    sources = [sources_of(images)[k] for k in picked]
    assert (
        sources.count("COCO") == 10
        and sources.count("ImageNet") == 10
        and sources.count("other") == 5
    )
    assert sources == sorted(sources)
    assert len(set(picked)) == len(picked)


def test_rdm_examples_are_entries_of_the_full_rdm():
    rng = np.random.default_rng(0)
    images = sorted(
        [f"COCO_{i:03d}.jpg" for i in range(12)]
        + [f"n{i:08d}_1.JPEG" for i in range(9)]
        + [f"scene{i}.jpg" for i in range(7)]
    )
    n = len(images)
    vector = rng.random(n * (n - 1) // 2)
    table = rdm_examples_table(images, sources_of(images), {"V1": vector}, n_images=12)
    square = squareform(vector)
    where = {name: k for k, name in enumerate(images)}
    expected = [
        square[where[a], where[b]] for a, b in zip(table["image_a"], table["image_b"], strict=True)
    ]
    assert np.allclose(table["dissimilarity"], expected)
    assert len(table) == 12 * 11 // 2
    assert list(table.columns) == [
        "rdm",
        "image_a",
        "image_b",
        "source_a",
        "source_b",
        "dissimilarity",
    ]


@pytest.mark.parametrize("method", ["corr", "cosine"])
def test_streamed_similarity_in_small_chunks_equals_rsatoolbox(method):
    rng = np.random.default_rng(5)
    vectors = rng.random((7, 190)) + 3.0  # a large mean: centring must not lose the small spread
    readers = [lambda start, stop, v=v: v[start:stop] for v in vectors]
    similarity = streamed_similarity(readers, vectors.shape[1], method, chunk=13)
    rdms = rsatoolbox.rdm.RDMs(vectors)
    assert np.allclose(similarity, rsatoolbox.rdm.compare(rdms, rdms, method), atol=1e-9, rtol=0)


@pytest.mark.parametrize("method", ["spearman", "rho-a"])
def test_ranked_similarity_in_small_chunks_equals_rsatoolbox(method):
    rng = np.random.default_rng(6)
    vectors = np.round(rng.random((6, 190)) * 20) + 1e6  # ties in every vector; a large mean
    doubled = [doubled_ranks(v) for v in vectors]
    assert all(d.dtype == np.int32 for d in doubled)
    np.testing.assert_array_equal(np.stack(doubled), 2 * scipy.stats.rankdata(vectors, axis=1))
    similarity = ranked_similarity(doubled, method, chunk=13)
    rdms = rsatoolbox.rdm.RDMs(vectors)
    assert np.allclose(similarity, rsatoolbox.rdm.compare(rdms, rdms, method), atol=1e-12, rtol=0)


def test_ranked_similarity_refuses_other_methods():
    with pytest.raises(ValueError, match="tau-a"):
        ranked_similarity([np.arange(6), np.arange(6)[::-1]], "tau-a")
