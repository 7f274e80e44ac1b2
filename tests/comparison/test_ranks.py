"""Rank-once machinery against scipy and rsatoolbox on small vectors (with ties)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from rsatoolbox.rdm.compare import _tau_a

from analysis.comparison import kendall, ranks


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


@pytest.mark.parametrize("tied", [False, True])
def test_tau_a_many_equals_rsatoolbox(tied: bool) -> None:
    rng = np.random.default_rng(2)
    make = (lambda: _with_ties(rng, 400)) if tied else (lambda: rng.random(400))
    models = np.stack([make() for _ in range(3)])
    data = np.stack([models[0] + make() for _ in range(2)])
    expected = np.array([[_tau_a(m, d) for d in data] for m in models])
    np.testing.assert_allclose(kendall.tau_a_many(models, data), expected, rtol=0, atol=1e-12)


def test_tau_a_many_matches_public_scipy_route() -> None:
    rng = np.random.default_rng(3)
    x, y = _with_ties(rng, 300), _with_ties(rng, 300)
    assert kendall.tau_a_many(x, y)[0, 0] == pytest.approx(
        kendall.tau_a_scipy_free(x, y), abs=1e-12
    )


def test_weighted_tau_a_equals_tau_a_of_the_repeated_vectors() -> None:
    rng = np.random.default_rng(4)
    x, y = _with_ties(rng, 60), rng.random(60)
    weights = rng.integers(0, 3, size=(4, 60)).astype(float)
    got = kendall.weighted_tau_a(x, y, weights, block=7)
    for b in range(4):
        reps = weights[b].astype(int)
        assert got[b] == pytest.approx(_tau_a(np.repeat(x, reps), np.repeat(y, reps)), abs=1e-12)


def test_tau_a_many_in_worker_processes_equals_one_process() -> None:
    rng = np.random.default_rng(5)
    models, data = _with_ties(rng, 500)[None] + rng.random((3, 500)), rng.random((4, 500))
    np.testing.assert_array_equal(
        kendall.tau_a_many(models, data, processes=2, min_work=0),
        kendall.tau_a_many(models, data, processes=1),
    )
