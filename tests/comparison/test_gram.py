"""Sums over chunks of pairs (comparison/gram.py): equal to rsatoolbox's corr and cosine on the
whole vectors, whatever the chunk size, for values far from zero; constant and all-zero rows
found across chunks."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox

from analysis.comparison.gram import Layout, chunk_pairs, chunk_products, combine, similarities


def _total(vectors: np.ndarray, layout: Layout, method: str, chunk: int):
    parts = [
        chunk_products(vectors[:, start:stop].copy(), layout, centred=method == "corr")
        for start, stop in chunk_pairs(vectors.shape[1], chunk)
    ]
    return combine(parts, layout)


def _combined(vectors: np.ndarray, layout: Layout, method: str, chunk: int):
    total = _total(vectors, layout, method, chunk)
    return total, similarities(total, layout)


@pytest.mark.parametrize("method", ["corr", "cosine"])
@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_chunked_sums_equal_rsatoolbox(method: str, chunk: int) -> None:
    rng = np.random.default_rng(11)
    vectors = 1e3 + rng.random((9, 300))  # a large mean and a small spread: no cancellation
    vectors[4] *= 1.0 + 1e-3 * rng.standard_normal(300)
    layout = Layout(targets=3, blocks=((3, 6), (6, 9)), pairs=((3, 6), (5, 8)))
    _, (cross, blocks, pairs) = _combined(vectors, layout, method, chunk)
    rdms = rsatoolbox.rdm.RDMs(vectors)
    expected = rsatoolbox.rdm.compare(rdms, rdms, method)
    pearson = rsatoolbox.rdm.compare(rdms, rdms, "corr")
    np.testing.assert_allclose(cross, expected[:, :3], rtol=0, atol=1e-10)
    np.testing.assert_allclose(blocks[0], expected[3:6, 3:6], rtol=0, atol=1e-10)
    np.testing.assert_allclose(blocks[1], expected[6:9, 6:9], rtol=0, atol=1e-10)
    np.testing.assert_allclose(pairs, [pearson[3, 6], pearson[5, 8]], rtol=0, atol=1e-10)


def test_chunks_do_not_change_the_result_beyond_round_off() -> None:
    rng = np.random.default_rng(12)
    vectors = rng.random((5, 1000))
    layout = Layout(targets=5)
    whole = _combined(vectors, layout, "corr", 1000)[1][0]
    chunked = _combined(vectors, layout, "corr", 37)[1][0]
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-14)


def test_rows_constant_or_zero_across_chunks_are_found() -> None:
    vectors = np.ones((4, 20))
    vectors[1, 13] = 2.0  # varies only in its second chunk (chunks of 10), after the head
    vectors[2, 10:] = 3.0  # constant within each chunk, not across them
    vectors[3] = 0.0
    layout = Layout(targets=1)
    corr = _total(vectors, layout, "corr", 10)
    cosine = _total(vectors, layout, "cosine", 10)
    assert corr.varies.tolist() == [False, True, True, False]
    assert cosine.varies.tolist() == [True, True, True, False]
