"""Whitened dual bootstrap (corr_cov, cosine_cov) against rsatoolbox on identical resamplings.

rsatoolbox 0.3.2 runs these only below 100 images: from 100 images `_cov_weighting` uses sparse
indicator matrices (int8) and its missing-values branch fails at `sumI[n_dist:, :] /= 2`
(rsatoolbox/rdm/compare.py line 493: a float result cannot be cast back to int8). Above that we
compare with rsatoolbox's own dense code, forced by a monkeypatch.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import rsatoolbox

from analysis import inference
from analysis.comparison.methods import compare
from analysis.inference import moments as bootstrap_moments
from analysis.inference import whitened_moments
from analysis.inference.dual_bootstrap import images_from_pairs, subject_rows
from tests.helpers import random_study, rsatoolbox_dual_bootstrap

rsa_compare = importlib.import_module(
    "rsatoolbox.rdm.compare"
)  # the module (rsatoolbox.rdm.compare is the function)

METHODS = ["corr_cov", "cosine_cov"]


def _assert_equal_to_rsatoolbox(subjects, models, method, samples, monkeypatch, roi=0, seed=0):
    reference, resampling = rsatoolbox_dual_bootstrap(
        subjects[roi], models, method, samples, monkeypatch, seed
    )
    ours = inference.dual_bootstrap(subjects, models, resampling, method, dtype=np.float64)
    expected_evals = reference.evaluations[:, :, 0, 0, :]  # samples × layers × 3
    expected_ceiling = reference.noise_ceiling[:, :, 0, :].transpose(1, 0, 2)  # samples × 2 × 3
    ok = ~np.isnan(expected_evals[:, 0, 0])
    assert ok.sum() >= samples - 1
    np.testing.assert_array_equal(ours.valid, ok)
    np.testing.assert_allclose(ours.evaluations[ok, roi], expected_evals[ok], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.noise_ceiling[ok, roi], expected_ceiling[ok], rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_dual_bootstrap_equals_rsatoolbox_on_the_same_samples(method, monkeypatch) -> None:
    subjects, models = random_study(40, 2, 3, 3, seed=11)
    _assert_equal_to_rsatoolbox(subjects, models, method, 12, monkeypatch, roi=1, seed=3)


@pytest.mark.parametrize("method", METHODS)
def test_raw_dissimilarities_far_from_zero_equal_rsatoolbox(method, monkeypatch) -> None:
    """cosine_cov is not shift-invariant: a large common level must be carried exactly."""
    subjects, models = random_study(25, 1, 2, 2, seed=12)
    _assert_equal_to_rsatoolbox(subjects + 5.0, 3.0 * models + 2.0, method, 10, monkeypatch, seed=4)


@pytest.mark.parametrize("method", METHODS)
def test_beyond_99_images_equals_rsatoolbox_dense_path(method, monkeypatch) -> None:
    monkeypatch.setattr(rsa_compare, "row_col_indicator_g_sparse", rsa_compare.row_col_indicator_g)
    subjects, models = random_study(110, 1, 2, 2, seed=13)
    _assert_equal_to_rsatoolbox(subjects, models, method, 3, monkeypatch, seed=5)


def test_rsatoolbox_fails_on_resampled_rdms_from_100_images() -> None:
    """The limitation documented above; if rsatoolbox fixes it, the oracle tests can grow."""
    subjects, _ = random_study(100, 1, 1, 1, seed=14)
    resampled = rsatoolbox.rdm.RDMs(subjects[0]).subsample_pattern("index", np.r_[0, np.arange(99)])
    with pytest.raises(TypeError, match="int8"):
        rsatoolbox.rdm.compare(resampled, resampled, "corr_cov")


def _one_sample(subjects, models, pattern_idx, method):
    counts = np.bincount(pattern_idx, minlength=images_from_pairs(models.shape[1]))[None]
    rows, model_rows = subject_rows(subjects), list(models)
    standard = bootstrap_moments.standardisation(
        model_rows + [v for roi in rows for v in roi], "corr"
    )
    moments = bootstrap_moments.linear_moments(rows, model_rows, counts, "corr", standard=standard)
    return whitened_moments.whitened_products(rows, model_rows, counts, moments, *standard, method)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "pattern_idx",
    [
        [0, 0, 0, 3, 3, 5, 7, 7, 7, 7, 0, 3],  # few distinct images, many copies
        [2, 2, 2, 2, 2, 2, 2, 0, 4, 9, 11, 5],  # image 2 drawn n/2 + 1 times: d = 0, the limit form
        [2, 2, 2, 2, 2, 2, 2, 2, 0, 4, 9, 5],  # drawn more than n/2 + 1 times: d < 0
        list(range(11, -1, -1)),  # every image once: rsatoolbox's branch without NaN
    ],
)
def test_one_resampled_rdm_equals_subsample_pattern_and_compare(method, pattern_idx) -> None:
    subjects, models = random_study(12, 1, 3, 2, seed=15)
    pattern_idx = np.array(pattern_idx)
    data = rsatoolbox.rdm.RDMs(subjects[0]).subsample_pattern("index", pattern_idx)
    layers = rsatoolbox.rdm.RDMs(models).subsample_pattern("index", pattern_idx)
    products = _one_sample(subjects, models, pattern_idx, method)
    expected = rsatoolbox.rdm.compare(data, layers, method)  # subjects × layers
    np.testing.assert_allclose(
        whitened_moments.whitened_similarity(products)[0, 0], expected, atol=1e-12, rtol=0
    )
    expected_gram = rsatoolbox.rdm.compare(data, data, method)
    gram = products.subject_gram[0, 0]
    norms = np.sqrt(np.diagonal(gram))
    np.testing.assert_allclose(gram / np.outer(norms, norms), expected_gram, atol=1e-12, rtol=0)


@pytest.mark.parametrize("method", METHODS)
def test_full_data_values_are_the_point_estimates(method) -> None:
    subjects, models = random_study(30, 2, 3, 2, seed=16)
    result = inference.dual_bootstrap(
        subjects, models, inference.draw_resampling(30, 3, 3, seed=1), method
    )
    for r in range(2):
        np.testing.assert_allclose(
            result.point_subject[r], compare(models, subjects[r], method).T, atol=1e-12, rtol=0
        )


@pytest.mark.parametrize("method", METHODS)
def test_float32_products_stay_within_1e6_of_float64(method) -> None:
    subjects, models = random_study(400, 2, 3, 4, seed=17)
    resampling = inference.draw_resampling(400, 3, 20, seed=0)
    exact = inference.dual_bootstrap(subjects + 3.0, models, resampling, method, dtype=np.float64)
    fast = inference.dual_bootstrap(subjects + 3.0, models, resampling, method, dtype=np.float32)
    assert np.max(np.abs(exact.evaluations - fast.evaluations)) < 1e-6
    assert np.max(np.abs(exact.noise_ceiling - fast.noise_ceiling)) < 1e-6
    assert np.max(np.abs(exact.evaluations - fast.evaluations)) > 0  # it really ran in float32
