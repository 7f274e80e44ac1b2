"""The cross-validated comparison from the corr/cosine bootstrap's own pass (strips.Terms): the
terms are the quadratic sums they say, in any chunks of samples and on any number of threads, and
the folds' similarities equal those of the comparison's own pass."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from analysis.executor import LocalExecutor
from analysis.inference import crossvalidated as cv
from analysis.inference import strips
from analysis.inference.dual_bootstrap import dual_bootstrap, subject_rows
from analysis.inference.resampling import draw_resampling
from tests.helpers import random_study


def _quadratic(rows: np.ndarray, left, right, w: np.ndarray) -> np.ndarray:
    """Σ_{i<j} w_i w_j z_left z_right for every row of w and form, by explicit pairs."""
    n = w.shape[1]
    i, j = np.triu_indices(n, 1)
    z = np.vstack([rows, np.ones(rows.shape[1])])
    return (w[:, i] * w[:, j]) @ (z[left] * z[right]).T


@pytest.mark.parametrize("term_bytes", [strips.TERM_CHUNK_BYTES, 2e3])
def test_terms_are_the_quadratic_sums_of_their_rows(monkeypatch, term_bytes: float) -> None:
    monkeypatch.setattr(strips, "TERM_CHUNK_BYTES", term_bytes)  # 2e3: many chunks of samples
    rng = np.random.default_rng(3)
    n, samples = 23, 7
    rows = rng.normal(size=(4, n * (n - 1) // 2))
    left, right = np.array([0, 1, 2, 4, 3, 0]), np.array([0, 2, 4, 4, 1, 3])
    counts = rng.integers(0, 3, (samples, n))
    folds = counts * (rng.random((samples, n)) < 0.5)  # rows B..2B−1
    fixed = rng.integers(0, 2, (2, n))  # rows 2B, 2B+1: shared by every sample
    terms = strips.Terms(
        np.vstack([folds, fixed]),
        first=(samples, 0, 2 * samples, 2 * samples + 1),
        minus=(-1, samples, -1, 2 * samples),
        length=(samples, samples, 1, 1),
        forms=4,
    )
    sums, full, got = strips.pair_sums(
        list(rows), left, right, counts, block=6, terms=terms, full=True
    )
    expected = np.vstack(
        [
            _quadratic(rows, left, right, w)
            for w in (folds, counts - folds, fixed[:1], fixed[1:] - fixed[:1])
        ]
    )
    np.testing.assert_allclose(got, expected[:, :4], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(sums, _quadratic(rows, left, right, counts), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(full, _quadratic(rows, left, right, np.ones((1, n))), rtol=1e-12)
    again = strips.pair_sums(
        list(rows), left, right, counts, block=6, terms=terms, executor=LocalExecutor(2)
    )
    one = strips.pair_sums(
        list(rows), left, right, counts, block=6, terms=terms, executor=LocalExecutor(1)
    )
    assert np.array_equal(again[0], one[0]) and np.array_equal(again[2], one[2])  # same bytes
    assert np.array_equal(again[2], got) and np.array_equal(again[0], sums)


@pytest.mark.parametrize("method", ["corr", "cosine"])
def test_the_bootstraps_pass_gives_the_comparisons_own_pass(method: str) -> None:
    subjects, models = random_study(40, 2, 3, 5, seed=8)
    resampling = draw_resampling(40, 3, 30, seed=4)
    labels = cv.draw_folds(resampling)
    spans = [slice(0, 2), slice(2, 5)]
    alone = cv.cross_validated(subject_rows(subjects), list(models), spans, resampling, method)
    plain = dual_bootstrap(subjects, models, resampling, method, np.float64)
    result = dual_bootstrap(subjects, models, resampling, method, np.float64, folds=labels)
    fused = cv.select_networks(result.extra["fold_means"], spans, resampling.image_counts)
    assert fused.valid.sum() > 20 and np.array_equal(fused.valid, alone.valid)
    np.testing.assert_array_equal(fused.chosen[fused.valid], alone.chosen[alone.valid])
    np.testing.assert_allclose(fused.evaluations, alone.evaluations, atol=1e-13, equal_nan=True)
    np.testing.assert_allclose(result.evaluations, plain.evaluations, atol=1e-13)
    np.testing.assert_allclose(result.noise_ceiling, plain.noise_ceiling, atol=1e-13)


def test_float32_fold_similarities_stay_within_1e6_of_float64() -> None:
    subjects, models = random_study(400, 2, 3, 4, seed=9)
    resampling = draw_resampling(400, 3, 20, seed=1)
    labels = cv.draw_folds(resampling)
    means = [
        dual_bootstrap(subjects, models, resampling, "corr", dtype, folds=labels).extra[
            "fold_means"
        ]
        for dtype in (np.float64, np.float32)
    ]
    assert 0 < np.max(np.abs(means[0] - means[1])) < 1e-6


def test_a_study_too_large_for_the_fold_terms_takes_the_comparisons_own_pass(monkeypatch) -> None:
    from analysis.inference import inference_arrays

    db = importlib.import_module(
        "analysis.inference.dual_bootstrap"
    )  # the module, not the function

    subjects, models = random_study(30, 2, 3, 5, seed=10)
    networks = {"a": models[:2], "b": models[2:]}
    layers = {"a": ["a0", "a1"], "b": ["b0", "b1", "b2"]}

    def comparison():
        return inference_arrays(
            subjects, networks, ["r0", "r1"], layers, "corr", 40, 3, progress=False
        ).tables["network_comparison"]

    calls = []
    monkeypatch.setattr(
        cv, "cross_validated", lambda *a, _f=cv.cross_validated, **k: calls.append(1) or _f(*a, **k)
    )
    fused = comparison()
    assert not calls  # from the bootstrap's own pass
    monkeypatch.setattr(db, "FOLD_TERM_BYTES", 0.0)
    alone = comparison()
    assert calls  # in a pass of its own
    numeric = fused.select_dtypes("number").columns
    np.testing.assert_allclose(fused[numeric], alone[numeric], atol=1e-12)
