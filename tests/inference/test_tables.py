"""Result statistics against rsatoolbox's Result,
seeded draws, the inference tables and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from analysis import inference as inf
from analysis.errors import AnalysisError
from analysis.inference.tables import roi_columns
from analysis.schema import BOOTSTRAP_METHODS, columns
from tests.helpers import random_study, rsatoolbox_dual_bootstrap


@pytest.mark.parametrize("method", ["corr", "spearman"])
def test_statistics_equal_rsatoolbox_result(method: str, monkeypatch) -> None:
    subjects, models = random_study(16, 1, 3, 4, seed=11)
    reference, resampling = rsatoolbox_dual_bootstrap(
        subjects[0], models, method, 60, monkeypatch, seed=2
    )
    ours = inf.dual_bootstrap(subjects, models, resampling, method, dtype=np.float64)
    stats = inf.model_statistics(
        ours.evaluations[ours.valid][:, 0],
        ours.noise_ceiling[ours.valid][:, 0],
        n_rdm=3,
        n_pattern=16,
    )
    left, right = np.triu_indices(4, 1)
    close = dict(atol=1e-9, rtol=0)
    np.testing.assert_allclose(stats.means, reference.get_means(), **close)
    np.testing.assert_allclose(stats.model_var, reference.model_var, **close)
    np.testing.assert_allclose(stats.diff_var, reference.diff_var, **close)
    np.testing.assert_allclose(stats.ceiling_var, reference.noise_ceil_var, **close)
    np.testing.assert_allclose(np.sqrt(stats.model_var), reference.get_sem(), **close)
    np.testing.assert_allclose(stats.p_zero, reference.test_zero(), **close)
    np.testing.assert_allclose(stats.p_ceiling, reference.test_noise(), **close)
    np.testing.assert_allclose(stats.p_pairwise, reference.test_pairwise()[left, right], **close)
    np.testing.assert_allclose(
        stats.ci, np.array(reference.get_ci(0.95)), **close
    )  # t method, its default
    assert stats.dof == reference.dof == 2


def test_draws_are_seeded_and_recorded() -> None:
    a = inf.draw_resampling(30, 3, 5, seed=7)
    b = inf.draw_resampling(30, 3, 5, seed=7)
    c = inf.draw_resampling(30, 3, 5, seed=8)
    np.testing.assert_array_equal(a.image_indices, b.image_indices)
    assert not np.array_equal(a.image_indices, c.image_indices)
    np.testing.assert_array_equal(a.image_counts.sum(axis=1), 30)
    np.testing.assert_array_equal(a.image_counts[2], np.bincount(a.image_indices[2], minlength=30))


def test_corrections() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.5])
    np.testing.assert_allclose(inf.adjust(p, "fdr"), scipy.stats.false_discovery_control(p))
    np.testing.assert_allclose(inf.adjust(p, "bonferroni"), [0.04, 0.16, 0.12, 1.0])
    np.testing.assert_allclose(inf.adjust(p, "none"), p)
    with pytest.raises(AnalysisError):
        inf.adjust(p, "holm")


def _planted(n_images: int = 40, seed: int = 0):
    """Layer 'mid' carries the ROI's signal; 'noise' carries none."""
    subjects, models = random_study(n_images, 2, 3, 3, seed=seed)
    rng = np.random.default_rng(seed + 1)
    models[2] = rng.normal(size=models.shape[1])
    models[1] = subjects.mean(axis=(0, 1)) + rng.normal(0, 0.1, models.shape[1])
    return subjects, {"net": models}, ["V1", "LOC"], {"net": ["early", "mid", "noise"]}


def test_tables_have_the_contract_columns_and_find_the_planted_layer() -> None:
    subjects, models, rois, layers = _planted()
    output = inf.inference_arrays(
        subjects, models, rois, layers, "corr", samples=200, seed=0, progress=False
    )
    tables = output.tables
    inference, ceiling, pairwise = tables["inference"], tables["noise_ceiling"], tables["pairwise"]
    assert list(inference.columns) == roi_columns("inference") and len(inference) == 6
    assert list(ceiling.columns) == roi_columns("noise_ceiling") and list(ceiling["roi"]) == rois
    assert list(pairwise.columns) == roi_columns("pairwise") and len(pairwise) == 6
    assert output.bootstrap["samples"] == 200 and output.bootstrap["seed"] == 0
    assert output.bootstrap["valid_samples"] == 200 and output.bootstrap["correction"] == "fdr"
    mid = inference[inference.layer == "mid"]
    noise = inference[inference.layer == "noise"]
    assert mid.significant_zero.all() and not noise.significant_zero.any()
    assert (mid.ci_low > 0).all() and (noise.ci_low < 0).all()
    mid_vs_noise = pairwise[(pairwise.layer_a == "mid") & (pairwise.layer_b == "noise")]
    assert mid_vs_noise.significant.all() and (mid_vs_noise.difference > 0).all()
    assert (ceiling.lower <= ceiling.upper).all() and (ceiling.lower_sem > 0).all()
    again = inf.inference_arrays(
        subjects, models, rois, layers, "corr", samples=200, seed=0, progress=False
    )
    pd.testing.assert_frame_equal(again.tables["inference"], inference)


@pytest.mark.parametrize("method", ["cosine", "spearman", "rho-a", "tau-a"])
def test_every_method_runs_end_to_end(method: str) -> None:
    subjects, models, rois, layers = _planted(n_images=20)
    tables = inf.inference_arrays(
        subjects, models, rois, layers, method, samples=40, seed=1, progress=False
    ).tables
    assert tables["inference"].method.eq(method).all()
    assert np.isfinite(
        tables["inference"][["r", "sem", "ci_low", "ci_high", "p_zero"]].to_numpy()
    ).all()


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(method="pearson"), "unknown method"),
        (dict(samples=1), "give no variance"),
        (dict(n_images=3), "too few to resample"),
        (dict(nan=True), "NaN"),
        (dict(constant=True), "constant"),
        (dict(nan=True, method="spearman"), "NaN"),  # checked in the sort tasks
        (dict(constant=True, method="rho-a"), "constant"),
    ],
)
def test_bad_input_is_one_clear_error(change: dict, message: str) -> None:
    n_images = change.get("n_images", 12)
    subjects, models = random_study(n_images, 1, change.get("n_subjects", 3), 2, seed=3)
    if change.get("nan"):
        subjects[0, 0, 0] = np.nan
    if change.get("constant"):
        models[1] = 0.5
    with pytest.raises(AnalysisError, match=message):
        inf.inference_arrays(
            subjects,
            {"net": models},
            ["V1"],
            {"net": ["a", "b"]},
            change.get("method", "corr"),
            samples=change.get("samples", 10),
            seed=0,
            progress=False,
        )


def test_too_few_usable_samples_is_an_error_not_a_table() -> None:
    subjects, models = random_study(4, 1, 2, 2, seed=4)
    images = np.array([[0, 0, 1, 1], [2, 2, 2, 3], [1, 1, 1, 1]])  # all have < 3 distinct images
    resampling = inf.Resampling(images, np.array([[0, 1]] * 3))
    with pytest.raises(AnalysisError, match="usable"):
        inf.inference_arrays(
            subjects,
            {"net": models},
            ["V1"],
            {"net": ["a", "b"]},
            "corr",
            samples=3,
            seed=0,
            progress=False,
            resampling=resampling,
        )


@pytest.mark.parametrize("method", ["corr_cov", "cosine_cov"])
def test_whitened_methods_find_the_planted_layer(method) -> None:
    subjects, models, rois, layers = _planted()
    output = inf.inference_arrays(
        subjects, models, rois, layers, method, samples=100, seed=0, progress=False
    )
    inference = output.tables["inference"]
    assert set(inference.method) == {method} and output.bootstrap["valid_samples"] == 100
    assert inference[inference.layer == "mid"].significant_zero.all()
    assert not inference[inference.layer == "noise"].significant_zero.any()


def test_an_unknown_method_is_refused_by_the_bootstrap() -> None:
    subjects, models, rois, layers = _planted(n_images=12)
    with pytest.raises(AnalysisError, match="unknown method 'kendall'"):
        inf.inference_arrays(
            subjects, models, rois, layers, "kendall", samples=10, seed=0, progress=False
        )


def test_a_group_of_one_roi_gets_that_rois_tests_and_a_group_mean_its_own() -> None:
    """Group tables come from the same samples as the ROI tests: a group of one ROI repeats that
    ROI's rows exactly; a group of two is tested on the mean of the two ROIs' evaluations."""
    subjects, models, rois, layers = _planted()
    output = inf.inference_arrays(
        subjects,
        models,
        rois,
        layers,
        "corr",
        samples=80,
        seed=0,
        progress=False,
        groups=[("A", "only V1", [0]), ("A", "both", [0, 1])],
    )
    tables = output.tables
    group, roi = tables["group_inference"], tables["inference"]
    single = group[group.group == "only V1"].reset_index(drop=True)
    v1 = roi[roi.roi == "V1"].reset_index(drop=True)
    shared = ["layer", "r", "sem", "ci_low", "ci_high", "p_zero", "significant_zero", "peak"]
    pd.testing.assert_frame_equal(single[shared], v1[shared])
    assert list(single.resolved) == list(v1.resolved)
    pairs = tables["group_pairwise"]
    np.testing.assert_allclose(
        pairs[pairs.group == "only V1"]["p"].to_numpy(),
        tables["pairwise"][tables["pairwise"].roi == "V1"]["p"].to_numpy(),
    )
    both = group[group.group == "both"].set_index("layer")["r"]
    np.testing.assert_allclose(both, roi.groupby("layer", sort=False)["r"].mean()[both.index])
    assert list(group.columns) == columns("group_inference")


@pytest.mark.parametrize("method", BOOTSTRAP_METHODS)
def test_one_subject_runs_over_images_only_for_every_method(method: str) -> None:
    subjects, models, rois, layers = _planted(n_images=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division-by-zero from the unused ceilings
        output = inf.inference_arrays(
            subjects[:, :1], models, rois, layers, method, samples=30, seed=1, progress=False
        )
    tables = output.tables
    assert output.bootstrap["kind"] == "pattern" and output.bootstrap["valid_samples"] == 30
    assert np.isfinite(
        tables["inference"][["r", "sem", "ci_low", "ci_high", "p_zero"]].to_numpy()
    ).all()
    assert tables["inference"][["r_normalised", "p_ceiling"]].isna().to_numpy().all()
    assert tables["noise_ceiling"].empty and len(tables["pairwise"]) == 6


def test_two_subjects_are_a_dual_bootstrap() -> None:
    subjects, models, rois, layers = _planted(n_images=20)
    output = inf.inference_arrays(
        subjects[:, :2], models, rois, layers, "corr", samples=30, seed=1, progress=False
    )
    assert output.bootstrap["kind"] == "dual"
    assert output.bootstrap["generalises_over"] == ["images", "subjects"]
    assert len(output.tables["noise_ceiling"]) == 2


def test_too_few_samples_for_a_ceiling_or_a_cross_validation_warn_and_leave_nan() -> None:
    """Two subjects, 3 samples of which one drew both subjects; 8 images (a cross-validation needs
    6 distinct ones): a warning each, NaN statistics, the rows still there."""
    from analysis.errors import AnalysisWarning

    subjects, models = random_study(8, 2, 2, 4, seed=1)
    with pytest.warns(AnalysisWarning) as caught:
        output = inf.inference_arrays(
            subjects,
            {"a": models[:2], "b": models[2:]},
            ["r1", "r2"],
            {"a": ["x", "y"], "b": ["z", "w"]},
            "corr",
            samples=3,
            seed=0,
            progress=False,
        )
    messages = " ".join(str(w.message) for w in caught)
    assert "noise ceiling" in messages and "cross-validated" in messages
    tables = output.tables
    assert tables["noise_ceiling"]["lower_sem"].isna().all()
    assert tables["inference"]["r_normalised"].isna().all()
    assert len(tables["network_comparison"]) == 2 and tables["network_comparison"]["p"].isna().all()
