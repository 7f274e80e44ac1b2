"""Resampled comparisons against rsatoolbox on identical
samples (small n), and float32 against float64."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox

from analysis import inference
from analysis.errors import AnalysisError
from analysis.inference import moments as bootstrap_moments
from analysis.inference import rank_moments
from analysis.inference.dual_bootstrap import subject_rows
from tests.helpers import random_study, rsatoolbox_dual_bootstrap

METHODS = ["corr", "cosine", "spearman", "rho-a", "tau-a"]


@pytest.mark.parametrize("method", METHODS)
def test_dual_bootstrap_equals_rsatoolbox_on_the_same_samples(method: str, monkeypatch) -> None:
    subjects, models = random_study(18, 1, 3, 3, seed=1, tied=method in ("spearman", "tau-a"))
    reference, resampling = rsatoolbox_dual_bootstrap(subjects[0], models, method, 12, monkeypatch)
    ours = inference.dual_bootstrap(subjects, models, resampling, method, dtype=np.float64)
    expected_evals = reference.evaluations[:, :, 0, 0, :]  # samples × layers × 3
    expected_ceiling = reference.noise_ceiling[:, :, 0, :].transpose(1, 0, 2)  # samples × 2 × 3
    ok = ~np.isnan(expected_evals[:, 0, 0])
    np.testing.assert_array_equal(ours.valid, ok)
    np.testing.assert_allclose(ours.evaluations[ok, 0], expected_evals[ok], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.noise_ceiling[ok, 0], expected_ceiling[ok], rtol=0, atol=1e-9)


def test_several_rois_share_draws_and_each_equals_rsatoolbox(monkeypatch) -> None:
    subjects, models = random_study(15, 2, 4, 2, seed=2)
    reference, resampling = rsatoolbox_dual_bootstrap(
        subjects[1], models, "corr", 10, monkeypatch, seed=5
    )
    ours = inference.dual_bootstrap(subjects, models, resampling, "corr", dtype=np.float64)
    np.testing.assert_allclose(
        ours.evaluations[:, 1], reference.evaluations[:, :, 0, 0, :], atol=1e-9, rtol=0
    )


def test_heavily_duplicated_sample_equals_subsample_pattern_and_compare() -> None:
    """Only 4 distinct images drawn, with copies: pairs of copies of one image must be excluded."""
    subjects, models = random_study(12, 1, 2, 2, seed=3)
    pattern_idx = np.array([0, 0, 0, 3, 3, 5, 7, 7, 7, 7, 0, 3])
    data = rsatoolbox.rdm.RDMs(subjects[0]).subsample_pattern("index", pattern_idx)
    layers = rsatoolbox.rdm.RDMs(models).subsample_pattern("index", pattern_idx)
    counts = np.bincount(pattern_idx, minlength=12)[None]
    for method in ("corr", "cosine"):
        moments = bootstrap_moments.linear_moments(
            subject_rows(subjects), list(models), counts, method
        )
        expected = rsatoolbox.rdm.compare(data, layers, method)  # subjects × layers
        np.testing.assert_allclose(
            bootstrap_moments.similarity(moments, method)[0, 0], expected, atol=1e-12, rtol=0
        )


def test_pair_sums_equal_brute_force() -> None:
    rng = np.random.default_rng(4)
    n = 23
    rows = [rng.normal(size=n * (n - 1) // 2) for _ in range(3)]
    counts = rng.integers(0, 3, size=(5, n))
    i, j = np.triu_indices(n, 1)
    weights = counts[:, i] * counts[:, j]
    left, right = np.array([0, 1, 2, 3, 0]), np.array([1, 1, 3, 3, 2])
    extended = rows + [np.ones_like(rows[0])]
    expected = np.stack(
        [weights @ (extended[a] * extended[b]) for a, b in zip(left, right, strict=True)], axis=1
    )
    got = bootstrap_moments.pair_sums(rows, left, right, counts, block=5, sample_chunk=2)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_products_in_small_groups_and_the_full_data_sums_from_the_same_read(monkeypatch) -> None:
    """Groups of one form (many products per block) give the brute-force sums, and `full` adds the
    sums on the data as they are (every weight 1) from the same strips."""
    from analysis.inference import strips

    rng = np.random.default_rng(5)
    n = 31
    rows = [rng.normal(size=n * (n - 1) // 2) for _ in range(4)]
    counts = rng.integers(0, 4, size=(6, n))
    i, j = np.triu_indices(n, 1)
    extended = rows + [np.ones_like(rows[0])]
    left, right = rng.integers(0, 5, 17), rng.integers(0, 5, 17)
    products = np.stack(
        [extended[a] * extended[b] for a, b in zip(left, right, strict=True)], axis=1
    )
    monkeypatch.setattr(strips, "GROUP_BYTES", 1)  # one form per group
    monkeypatch.setattr(strips, "FULL_COLUMNS", 7)  # the strip read in several chunks
    got, full = strips.pair_sums(rows, left, right, counts, block=6, full=True)
    np.testing.assert_allclose(got, (counts[:, i] * counts[:, j]) @ products, rtol=1e-12)
    np.testing.assert_allclose(full, products.sum(axis=0)[None], rtol=1e-12)
    assert np.array_equal(strips.pair_sums(rows, left, right, counts, block=6), got)


def test_float32_products_stay_within_1e6_of_float64() -> None:
    subjects, models = random_study(400, 2, 3, 5, seed=5)
    resampling = inference.draw_resampling(400, 3, 40, seed=0)
    exact = inference.dual_bootstrap(subjects, models, resampling, "corr", dtype=np.float64)
    fast = inference.dual_bootstrap(subjects, models, resampling, "corr", dtype=np.float32)
    assert np.max(np.abs(exact.evaluations - fast.evaluations)) < 1e-6
    assert np.max(np.abs(exact.noise_ceiling - fast.noise_ceiling)) < 1e-6
    assert np.max(np.abs(exact.evaluations - fast.evaluations)) > 0  # it really ran in float32


def test_samples_with_fewer_than_three_images_are_dropped_and_counted() -> None:
    subjects, models = random_study(10, 1, 3, 2, seed=6)
    images = np.tile(np.arange(10), (4, 1))
    images[1] = [2, 2, 2, 2, 5, 5, 5, 5, 5, 2]  # two distinct images: rsatoolbox makes this NaN
    result = inference.dual_bootstrap(
        subjects, models, inference.Resampling(images, np.tile([0, 1, 2], (4, 1))), "corr"
    )
    assert list(result.valid) == [True, False, True, True]
    assert result.dropped_few_images == 1 and result.dropped_undefined == 0
    assert np.isnan(result.evaluations[1]).all()


def test_zero_variance_sample_is_dropped_not_crashed() -> None:
    subjects, models = random_study(8, 1, 3, 2, seed=7)
    models[0] = np.arange(models.shape[1], dtype=float)
    n = 8
    i, j = np.triu_indices(n, 1)
    models[0][(i < 3) & (j < 3)] = 1.0  # pairs among images 0, 1, 2 are all equal
    images = np.array([[0, 0, 1, 1, 2, 2, 0, 1], list(range(8))])
    result = inference.dual_bootstrap(
        subjects, models, inference.Resampling(images, np.tile([0, 1, 2], (2, 1))), "corr"
    )
    assert list(result.valid) == [False, True]
    assert result.dropped_undefined == 1


def test_tau_a_bootstrap_refuses_full_size_with_an_estimate() -> None:
    with pytest.raises(AnalysisError, match="tau-a bootstrap"):
        rank_moments.check_tau_a_feasible(2985 * 2984 // 2, 1000, 10, 3, 5)


def test_long_rank_bootstrap_is_announced_with_its_duration():
    from analysis.inference.rank_moments import rank_bootstrap_warning

    assert rank_bootstrap_warning(1770, 100, 10, "spearman") is None
    message = rank_bootstrap_warning(4_455_000, 1000, 10, "spearman", threads=2)
    assert "about 27 min on 2 core(s)" in message and "corr" in message
    assert rank_bootstrap_warning(4_455_000, 100, 10, "spearman", threads=2) is None
