"""Noise ceilings against rsatoolbox's boot_noise_ceiling, on the data and on resampled data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rsatoolbox
from rsatoolbox.inference.noise_ceiling import boot_noise_ceiling

from analysis import inference
from analysis.inference import noise_ceiling

METHODS = ["corr", "cosine", "spearman", "rho-a", "tau-a"]


def _subjects(n_images: int, n_subjects: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pairs = n_images * (n_images - 1) // 2
    return rng.random(pairs) + rng.normal(0, 0.7, (1, n_subjects, pairs))


def _ours(
    subjects: np.ndarray, image_idx: np.ndarray, subject_idx: np.ndarray, method: str
) -> np.ndarray:
    models = subjects[0, :1] * 0 + np.arange(
        subjects.shape[2]
    )  # any model; only the ceiling is read
    result = inference.dual_bootstrap(
        subjects,
        models,
        inference.Resampling(image_idx[None], subject_idx[None]),
        method,
        dtype=np.float64,
    )
    return result.noise_ceiling[0, 0, :, 0]  # lower, upper of the "both" variant


def _theirs(
    subjects: np.ndarray, image_idx: np.ndarray, subject_idx: np.ndarray, method: str
) -> np.ndarray:
    rdms = rsatoolbox.rdm.RDMs(subjects[0]).subsample("index", subject_idx)
    rdms = rdms.subsample_pattern("index", image_idx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array(boot_noise_ceiling(rdms, method=method, rdm_descriptor="index"))


@pytest.mark.parametrize("method", METHODS)
def test_ceiling_on_resampled_images_and_duplicated_subjects(method: str) -> None:
    subjects = _subjects(14, 4, seed=1)
    rng = np.random.default_rng(2)
    image_idx = rng.integers(0, 14, 14)
    subject_idx = np.array([0, 2, 2, 3])  # subject 1 missing, subject 2 twice
    np.testing.assert_allclose(
        _ours(subjects, image_idx, subject_idx, method),
        _theirs(subjects, image_idx, subject_idx, method),
        atol=1e-9,
        rtol=0,
    )


@pytest.mark.parametrize("method", ["corr", "spearman"])
def test_single_distinct_subject_gives_equal_bounds_as_rsatoolbox(method: str) -> None:
    subjects = _subjects(12, 3, seed=3)
    image_idx = np.arange(12)
    subject_idx = np.array([1, 1, 1])
    ours = _ours(subjects, image_idx, subject_idx, method)
    np.testing.assert_allclose(ours, _theirs(subjects, image_idx, subject_idx, method), atol=1e-9)
    assert ours[0] == ours[1]


@pytest.mark.parametrize("method", METHODS)
def test_point_ceiling_equals_boot_noise_ceiling_on_all_data(method: str) -> None:
    subjects = _subjects(16, 3, seed=4)
    models = subjects[0, :2] + 1.0
    result = inference.dual_bootstrap(
        subjects, models, inference.draw_resampling(16, 3, 2, 0), method, dtype=np.float64
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = boot_noise_ceiling(rsatoolbox.rdm.RDMs(subjects[0]), method=method)
    np.testing.assert_allclose(result.point_ceiling[0], expected, atol=1e-9, rtol=0)


def test_ceiling_bounds_average_over_distinct_subjects_only() -> None:
    upper = np.array([[[0.2, 0.4, 0.9]]])
    lower = np.array([[[0.1, 0.3, 0.8]]])
    low, up = noise_ceiling.ceiling_bounds(upper, lower, np.array([[2, 1, 0]]))
    assert low[0, 0] == pytest.approx(0.2) and up[0, 0] == pytest.approx(0.3)


def test_linear_pool_matches_explicit_pool() -> None:
    """The closed form for compare(pool, y_s) against pooling and correlating explicitly."""
    rng = np.random.default_rng(5)
    y = rng.normal(size=(3, 50))
    counts = np.array([[2.0, 0.0, 1.0]])
    centred = y - y.mean(axis=1, keepdims=True)
    cov = (centred @ centred.T)[None, None]
    upper, lower = noise_ceiling.pooled_similarity_linear(cov, counts)
    z = centred / centred.std(axis=1, keepdims=True)
    pool = (2 * z[0] + z[2]) / 3
    assert upper[0, 0, 2] == pytest.approx(np.corrcoef(pool, y[2])[0, 1], abs=1e-12)
    assert lower[0, 0, 0] == pytest.approx(np.corrcoef(z[2], y[0])[0, 1], abs=1e-12)
    assert METHODS  # module imported for the fixture helpers
