"""One subject: inference over images only equals rsatoolbox's eval_bootstrap_pattern (and its
Result) on the same draws, per sample and in every statistic the tables report."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import inference as inf
from analysis.inference import statistics as st
from tests.helpers import random_study, rsatoolbox_pattern_bootstrap

CLOSE = {"atol": 1e-9, "rtol": 0}
METHODS = ["corr", "cosine", "spearman", "rho-a", "tau-a"]


@pytest.mark.parametrize("method", METHODS)
def test_one_subject_samples_equal_eval_bootstrap_pattern(method: str, monkeypatch) -> None:
    subjects, models = random_study(14, 1, 1, 3, seed=21, tied=method in ("spearman", "tau-a"))
    reference, resampling = rsatoolbox_pattern_bootstrap(
        subjects[0], models, method, 15, monkeypatch, seed=3
    )
    ours = inf.dual_bootstrap(subjects, models, resampling, method, dtype=np.float64)
    ok = np.isfinite(reference.evaluations[:, 0])
    np.testing.assert_array_equal(ours.valid, ok)
    pattern = ours.evaluations[:, 0, :, -1]  # samples × layers, the images-only variant
    np.testing.assert_allclose(pattern[ok], reference.evaluations[ok], **CLOSE)


@pytest.fixture(scope="module")
def one_subject():
    """rsatoolbox's Result and our tables for one subject, one ROI, four layers, the same draws."""
    monkeypatch = pytest.MonkeyPatch()
    subjects, models = random_study(16, 1, 1, 4, seed=12)
    reference, resampling = rsatoolbox_pattern_bootstrap(
        subjects[0], models, "corr", 80, monkeypatch, seed=4
    )
    monkeypatch.undo()
    ours = inf.dual_bootstrap(subjects, models, resampling, "corr", dtype=np.float64)
    stats = inf.model_statistics(
        ours.evaluations[ours.valid][:, 0],
        ours.noise_ceiling[ours.valid][:, 0],
        n_rdm=None,
        n_pattern=16,
    )
    output = inf.inference_arrays(
        subjects,
        {"net": models},
        ["IT"],
        {"net": ["a", "b", "c", "d"]},
        "corr",
        samples=80,
        seed=0,
        correction="none",
        progress=False,
        resampling=resampling,
    )
    return reference, stats, output


def test_statistics_equal_the_pattern_result(one_subject) -> None:
    reference, stats, _ = one_subject
    left, right = np.triu_indices(4, 1)
    assert reference.cv_method == "bootstrap_pattern"
    assert stats.dof == reference.dof == 15
    np.testing.assert_allclose(stats.means, reference.get_means(), **CLOSE)
    np.testing.assert_allclose(stats.model_var, reference.model_var, **CLOSE)
    np.testing.assert_allclose(stats.diff_var, reference.diff_var, **CLOSE)
    np.testing.assert_allclose(stats.p_zero, reference.test_zero(), **CLOSE)
    np.testing.assert_allclose(stats.p_pairwise, reference.test_pairwise()[left, right], **CLOSE)
    np.testing.assert_allclose(stats.ci, np.array(reference.get_ci(0.95)), **CLOSE)


def test_tables_report_the_pattern_result_and_no_ceiling(one_subject) -> None:
    reference, _, output = one_subject
    inference = output.tables["inference"]
    one_sided = reference.test_zero()
    np.testing.assert_allclose(inference["sem"], reference.get_sem(), **CLOSE)
    np.testing.assert_allclose(
        inference[["ci_low", "ci_high"]].to_numpy().T, np.array(reference.get_ci(0.95)), **CLOSE
    )
    np.testing.assert_allclose(
        inference["p_zero"], 2 * np.minimum(one_sided, 1 - one_sided), **CLOSE
    )
    left, right = np.triu_indices(4, 1)
    np.testing.assert_allclose(
        output.tables["pairwise"]["p"], reference.test_pairwise()[left, right], **CLOSE
    )
    assert inference["r_normalised"].isna().all() and inference["p_ceiling"].isna().all()
    assert not inference["significant_ceiling"].any()
    assert output.tables["noise_ceiling"].empty
    assert list(output.tables["noise_ceiling"].columns) == list(
        inf.tables.roi_columns("noise_ceiling")
    )
    assert output.bootstrap["kind"] == "pattern"
    assert output.bootstrap["generalises_over"] == ["images"]
    np.testing.assert_allclose(output.tables["peak_layer"]["share"].sum(), 1.0)


def test_network_comparison_over_images_only(one_subject) -> None:
    """Two networks, one subject: the difference's variance is the pattern variant's, corrected."""
    subjects, models = random_study(16, 1, 1, 4, seed=12)
    resampling = inf.draw_resampling(16, 1, 50, seed=1)
    output = inf.inference_arrays(
        subjects,
        {"x": models[:2], "y": models[2:]},
        ["IT"],
        {"x": ["a", "b"], "y": ["c", "d"]},
        "corr",
        samples=50,
        seed=1,
        correction="none",
        progress=False,
        resampling=resampling,
    )
    result = inf.dual_bootstrap(subjects, models, resampling, "corr", dtype=np.float64)
    pattern = result.evaluations[result.valid][:, 0, :, -1]
    difference = pattern[:, :2].max(axis=1) - pattern[:, 2:].max(axis=1)
    variance = 16 / 15 * difference.var(ddof=1)
    row = output.tables["network_comparison"].iloc[0]
    np.testing.assert_allclose(row["sem"], np.sqrt(variance), **CLOSE)
    np.testing.assert_allclose(row["p"], st.two_sided_p(difference.mean(), variance, 15), **CLOSE)
