"""Rank-once machinery (average and weighted ranks) against scipy on small vectors (with ties);
the tau-a tests are in test_kendall.py."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from analysis.comparison import ranks


def _with_ties(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.integers(0, size // 3, size).astype(float)


@pytest.mark.parametrize("tied", [False, True])
def test_average_ranks_equal_rankdata(tied: bool) -> None:
    rng = np.random.default_rng(0)
    vectors = np.stack([_with_ties(rng, 300) if tied else rng.random(300) for _ in range(4)])
    np.testing.assert_array_equal(
        ranks.average_ranks(vectors), scipy.stats.rankdata(vectors, axis=1)
    )


@pytest.mark.parametrize("tied", [False, True])
def test_weighted_ranks_equal_rankdata_of_the_repeated_vector(tied: bool) -> None:
    rng = np.random.default_rng(1)
    vector = _with_ties(rng, 200) if tied else rng.random(200)
    weights = rng.integers(0, 4, size=(5, 200)).astype(float)
    order, values_sorted = ranks.sort_orders(vector)
    got = ranks.weighted_ranks(order[0], values_sorted[0], weights)
    got_rows = ranks.weighted_ranks_of_rows(np.tile(vector, (5, 1)), weights)
    for b in range(5):
        keep = weights[b] > 0
        expected = scipy.stats.rankdata(np.repeat(vector, weights[b].astype(int)))
        # every copy of an entry gets the same rank; compare with the first copy's
        first_copy = np.cumsum(weights[b].astype(int))[keep] - weights[b][keep].astype(int)
        np.testing.assert_array_equal(got[b, keep], expected[first_copy])
        np.testing.assert_array_equal(got_rows[b, keep], expected[first_copy])
