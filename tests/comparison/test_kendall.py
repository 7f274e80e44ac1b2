"""Kendall's tau-a (compiled counts, threads, the weighted form) against brute force, rsatoolbox
and scipy, with every kind of tie: every tau-a test in one place."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from rsatoolbox.rdm.compare import _tau_a

from analysis.comparison import kendall, kendall_kernels


def _brute_inversions(values: np.ndarray, block: int = 1000) -> int:
    """Pairs i < j with values[i] > values[j], by comparing every pair (in row blocks)."""
    total = 0
    for start in range(0, values.size, block):
        rows = values[start : start + block, None] > values[None, :]
        total += int(np.triu(rows, start + 1).sum())  # column j > row i = start + r
    return total


def _with_ties(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.integers(0, size // 3, size).astype(float)


def _scipy_tau_a(x: np.ndarray, y: np.ndarray) -> float:
    """tau-a from scipy's tau-b: tau_b · sqrt((tot - xtie)(tot - ytie)) / tot."""
    tot = x.size * (x.size - 1) / 2
    ties = [sum(c * (c - 1) / 2 for c in np.unique(v, return_counts=True)[1]) for v in (x, y)]
    tau_b = scipy.stats.kendalltau(x, y, variant="b").statistic
    return float(tau_b * np.sqrt((tot - ties[0]) * (tot - ties[1])) / tot)


# one digit (ties, short and long segments); two digits with long or only short second-level
# segments; three digits (a scattered middle level)
@pytest.mark.parametrize(
    ("levels", "size"),
    [
        (2, 1500),
        (7, 1500),
        (300, 40),
        (300, 1500),
        (5000, 1500),
        (1 << 20, 1500),
        (1 << 14, 9000),
        (1 << 18, 9000),
        (1 << 26, 9000),
    ],
)
def test_inversions_equal_brute_force(levels: int, size: int) -> None:
    rng = np.random.default_rng(levels + size)
    values = rng.integers(0, levels, size).astype(np.int32)
    bits = max(1, int(values.max()).bit_length())
    got = kendall_kernels.inversions(values.copy(), np.empty_like(values), bits)
    assert got == _brute_inversions(values)


@pytest.mark.parametrize("ties", ["none", "x", "y", "both"])
def test_tau_a_many_equals_rsatoolbox_and_scipy(ties: str) -> None:
    rng = np.random.default_rng(11)
    size = 700

    def vector(tied: bool) -> np.ndarray:
        return rng.integers(0, 12, size).astype(float) if tied else rng.random(size)

    models = np.stack([vector(ties in ("x", "both")) for _ in range(3)])
    data = np.stack([models[0] * 0.3 + vector(ties in ("y", "both")) for _ in range(2)])
    if ties in ("y", "both"):
        data = np.round(data)
    got = kendall.tau_a_many(models, data, threads=2, min_work=0)
    for m in range(3):
        for d in range(2):
            assert got[m, d] == _tau_a(models[m], data[d])  # the same integers: equal floats
            assert got[m, d] == pytest.approx(_scipy_tau_a(models[m], data[d]), abs=1e-12)


def test_tau_a_many_multi_level_counts_equal_rsatoolbox() -> None:
    rng = np.random.default_rng(12)
    x = rng.random(30_000)
    y = np.stack([x + rng.normal(0, 1, x.size), -x + np.round(rng.normal(0, 3, x.size))])
    np.testing.assert_array_equal(kendall.tau_a_many(x, y)[0], [_tau_a(x, row) for row in y])


def test_close_values_and_signed_zeros_are_ranked_exactly() -> None:
    base = 1.0 + np.arange(40) * np.finfo(float).eps  # differ only in the last mantissa bits
    x = np.r_[base, [0.0, -0.0, 0.0, -0.0]]
    y = np.r_[base[::-1], [-0.0, 0.0, 1.0, 2.0]]
    ranked = kendall.rank_vector(x)
    np.testing.assert_array_equal(x[ranked.order], np.sort(x))
    assert ranked.tie_pairs == 6  # the four zeros are one tie group
    assert kendall.tau_a_many(x, y)[0, 0] == _tau_a(x, y)


@pytest.mark.parametrize("kind", ["distinct", "tied", "close"])
def test_rank_vector_equals_scipy_dense_ranks(kind: str) -> None:
    rng = np.random.default_rng(13)
    if kind == "distinct":  # each value has leading key bits of its own
        vector = rng.random(5000)
    elif kind == "tied":  # runs of equal values, tie groups
        vector = rng.integers(0, 400, 5000).astype(float)
    else:  # distinct values that share their leading key bits, some tied
        vector = 1.0 + rng.integers(0, 3000, 5000) * np.finfo(float).eps
    ranked = kendall.rank_vector(vector)
    dense = scipy.stats.rankdata(vector, method="dense").astype(np.int64) - 1
    np.testing.assert_array_equal(ranked.dense, dense)
    np.testing.assert_array_equal(vector[ranked.order], np.sort(vector))
    counts = np.unique(vector, return_counts=True)[1]
    assert ranked.tie_pairs == int((counts * (counts - 1) // 2).sum())
    assert ranked.tie_starts.size == int((counts > 1).sum())
    sorted_vector = vector[ranked.order]
    for start, stop in zip(ranked.tie_starts, ranked.tie_stops, strict=True):
        assert np.all(sorted_vector[start:stop] == sorted_vector[start])
        assert stop == vector.size or sorted_vector[stop] != sorted_vector[start]
    assert ranked.bits == max(1, int(dense.max()).bit_length())


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        kendall.tau_a_many(np.array([1.0, np.nan, 2.0]), np.array([1.0, 2.0, 3.0]))


def test_rows_ranked_once_give_the_same_tau_a_as_plain_rows() -> None:
    import rsatoolbox

    from analysis.comparison.kendall import rank_rows
    from analysis.comparison.methods import compare_prepared
    from analysis.pipeline.streaming import prepared_batch, release_prepared

    rng = np.random.default_rng(11)
    models = np.round(rng.standard_normal((3, 300)), 1)
    data = np.round(rng.standard_normal((2, 300)), 1) + models[:2]
    expected = rsatoolbox.rdm.compare(
        rsatoolbox.rdm.RDMs(models), rsatoolbox.rdm.RDMs(data), "tau-a"
    )
    np.testing.assert_allclose(
        kendall.tau_a_many(rank_rows(models), data), expected, rtol=0, atol=1e-12
    )
    batch = prepared_batch(
        "test-token", {"net": (list(models), ("a", "b", "c"), "net.h5")}, "tau-a"
    )
    try:
        np.testing.assert_allclose(
            compare_prepared(batch["net"], data, "tau-a"), expected, rtol=0, atol=1e-12
        )
    finally:
        release_prepared()


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
    assert kendall.tau_a_many(x, y)[0, 0] == pytest.approx(_scipy_tau_a(x, y), abs=1e-12)


def test_weighted_tau_a_equals_tau_a_of_the_repeated_vectors() -> None:
    rng = np.random.default_rng(4)
    x, y = _with_ties(rng, 60), rng.random(60)
    weights = rng.integers(0, 3, size=(4, 60)).astype(float)
    got = kendall.weighted_tau_a(x, y, weights, block=7)
    for b in range(4):
        reps = weights[b].astype(int)
        assert got[b] == pytest.approx(_tau_a(np.repeat(x, reps), np.repeat(y, reps)), abs=1e-12)


def test_tau_a_many_in_threads_equals_one_thread() -> None:
    rng = np.random.default_rng(5)
    models, data = _with_ties(rng, 500)[None] + rng.random((3, 500)), rng.random((4, 500))
    np.testing.assert_array_equal(
        kendall.tau_a_many(models, data, threads=2, min_work=0),
        kendall.tau_a_many(models, data, threads=1),
    )
