"""Intervals that agree with the tests, peak-layer shares and network comparisons, against
rsatoolbox's Result and brute-force loops."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import rsatoolbox
import scipy.stats
from rsatoolbox.inference.result import Result

from analysis import inference as inf
from analysis.inference import statistics
from analysis.inference.tables import roi_columns as columns
from analysis.schema import CORRECTIONS
from tests.helpers import random_study, rsatoolbox_dual_bootstrap

CLOSE = {"atol": 1e-9, "rtol": 0}


def _models(n: int) -> list:
    dummy = rsatoolbox.rdm.RDMs(np.zeros((1, 3)))
    return [rsatoolbox.model.ModelFixed(f"m{i}", dummy) for i in range(n)]


def _result_of(values: np.ndarray, n_rdm: int, n_pattern: int) -> Result:
    """An rsatoolbox Result whose 'models' are the N ×
    K × 3 values, variances as eval_dual_bootstrap."""
    centred = values - values.mean(axis=0, keepdims=True)
    variances = np.einsum("ijk,ilk->kjl", centred, centred) / (values.shape[0] - 1)
    return Result(
        _models(values.shape[1]),
        values,
        "corr",
        "dual_bootstrap",
        np.zeros((2, values.shape[0], 3)),
        variances=variances,
        dof=min(n_rdm, n_pattern) - 1,
        n_rdm=n_rdm,
        n_pattern=n_pattern,
    )


@pytest.fixture(scope="module")
def reference():
    monkeypatch = pytest.MonkeyPatch()
    subjects, models = random_study(16, 1, 3, 4, seed=11)
    result, resampling = rsatoolbox_dual_bootstrap(
        subjects[0], models, "corr", 60, monkeypatch, seed=2
    )
    monkeypatch.undo()
    ours = inf.dual_bootstrap(subjects, models, resampling, "corr", dtype=np.float64)
    stats = inf.model_statistics(
        ours.evaluations[ours.valid][:, 0],
        ours.noise_ceiling[ours.valid][:, 0],
        n_rdm=3,
        n_pattern=16,
    )
    return result, stats


@pytest.mark.parametrize("level", [0.05, 0.01, 0.2])
def test_interval_is_rsatoolbox_get_ci_with_the_t_method(reference, level: float) -> None:
    result, stats = reference
    low, high = statistics.t_interval(stats.means, stats.model_var, stats.dof, level)
    expected = np.array(result.get_ci(1 - level))  # default test_type 't-test'
    np.testing.assert_allclose(np.array([low, high]), expected, **CLOSE)
    if level == 0.05:
        np.testing.assert_allclose(stats.ci, expected, **CLOSE)


def test_two_sided_p_is_twice_rsatoolbox_one_sided(reference) -> None:
    result, stats = reference
    one_sided = result.test_zero()
    np.testing.assert_allclose(stats.p_zero, one_sided, **CLOSE)
    np.testing.assert_allclose(
        statistics.two_sided_p(stats.means, stats.model_var, stats.dof),
        2 * np.minimum(one_sided, 1 - one_sided),
        **CLOSE,
    )


@pytest.mark.parametrize("correction", CORRECTIONS)
def test_interval_excludes_zero_exactly_when_the_corrected_test_rejects(correction: str) -> None:
    rng = np.random.default_rng(0)
    checked = rejected = 0
    for _ in range(400):
        size = int(rng.integers(1, 20))
        estimate = rng.normal(0, 1, size) * rng.choice([0.0, 0.5, 3.0], size)
        variance = rng.uniform(0.01, 0.3, size) ** 2
        tests = statistics.family_tests(
            estimate, variance, dof=int(rng.integers(1, 10)), correction=correction, alpha=0.05
        )
        excludes = (tests["ci_low"] > 0) | (tests["ci_high"] < 0)
        np.testing.assert_array_equal(excludes, tests["significant"])
        np.testing.assert_array_equal(tests["significant"], tests["p_adjusted"] < 0.05)
        checked += size
        rejected += int(tests["significant"].sum())
    assert 0 < rejected < checked  # both outcomes occur, so the check can fail


def test_per_test_level_is_the_threshold_of_the_adjusted_tests() -> None:
    p = np.array([0.001, 0.008, 0.012, 0.02, 0.04, 0.3, 0.9])
    assert statistics.per_test_level(p, "none", 0.05) == 0.05
    assert statistics.per_test_level(p, "bonferroni", 0.05) == pytest.approx(0.05 / 7)
    # BH at 0.05 with m = 7 rejects p_(i) < i·0.05/7:
    # 0.001, 0.008, 0.012, 0.02 (0.02 < 4·0.05/7 = 0.0286)
    assert statistics.per_test_level(p, "fdr", 0.05) == pytest.approx(4 * 0.05 / 7)
    assert statistics.per_test_level(np.array([0.5, 0.9]), "fdr", 0.05) == pytest.approx(0.05 / 2)


def test_adjust() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.5])
    np.testing.assert_allclose(statistics.adjust(p, "fdr"), scipy.stats.false_discovery_control(p))
    np.testing.assert_allclose(statistics.adjust(p, "bonferroni"), [0.04, 0.16, 0.12, 1.0])
    np.testing.assert_allclose(statistics.adjust(p, "none"), p)


def test_normalised_is_nan_where_the_ceiling_bounds_nothing() -> None:
    got = statistics.normalised(np.array([0.1, 0.2, 0.3, -0.1]), np.array([0.4, 0.0, -0.2, 0.5]))
    np.testing.assert_allclose(got, [0.25, np.nan, np.nan, -0.2])
    np.testing.assert_allclose(statistics.normalised(np.array([0.1, 0.2]), 0.4), [0.25, 0.5])


def test_peak_shares_count_best_layers_and_split_ties() -> None:
    per_sample = np.array([[0.1, 0.3, 0.2], [0.4, 0.3, 0.2], [0.1, 0.3, 0.3], [0.0, 0.5, 0.1]])
    np.testing.assert_allclose(statistics.peak_shares(per_sample), [0.25, 0.5 + 0.125, 0.125])
    rng = np.random.default_rng(1)
    values = rng.normal(size=(500, 7))
    shares = statistics.peak_shares(values)
    brute = (
        np.array([sum(int(np.argmax(row) == layer) for row in values) for layer in range(7)]) / 500
    )
    np.testing.assert_allclose(shares, brute)
    assert shares.sum() == pytest.approx(1.0)


def _brute_force_network_comparison(evaluations, sizes, n_rdm, n_pattern):
    """Per pair of networks, loops over samples and variants: max per network, variance, t-test."""
    edges = np.concatenate([[0], np.cumsum(sizes)])
    dof = min(n_rdm, n_pattern) - 1
    out = []
    for a, b in itertools.combinations(range(len(sizes)), 2):
        diff = np.empty(evaluations.shape[0:1] + (3,))
        for i in range(evaluations.shape[0]):
            for v in range(3):
                diff[i, v] = max(evaluations[i, edges[a] : edges[a + 1], v]) - max(
                    evaluations[i, edges[b] : edges[b + 1], v]
                )
        variances = [np.var(diff[:, v], ddof=1) for v in range(3)]
        variance = statistics.dual_variance(np.array(variances), n_rdm, n_pattern)
        mean = diff.mean()
        t = mean / np.sqrt(max(variance, np.finfo(float).eps))
        out.append((mean, variance, 2 * (1 - scipy.stats.t.cdf(abs(t), dof))))
    return np.array(out)


def test_network_comparison_equals_a_brute_force_loop_and_rsatoolbox() -> None:
    rng = np.random.default_rng(3)
    sizes = [2, 4, 3]
    evaluations = (
        rng.normal(0.2, 0.05, (50, sum(sizes), 3)) + np.linspace(0, 0.05, sum(sizes))[None, :, None]
    )
    spans = statistics.network_spans(sizes)
    differences = statistics.network_differences(evaluations, spans)
    mean, variance = statistics.difference_statistics(differences, n_rdm=4, n_pattern=30)
    p = statistics.two_sided_p(mean, variance, statistics.degrees_of_freedom(4, 30))
    expected = _brute_force_network_comparison(evaluations, sizes, 4, 30)
    np.testing.assert_allclose(np.stack([mean, variance, p], axis=1), expected, atol=1e-12, rtol=0)
    # rsatoolbox's Result with the per-sample best layer of each network as its 'models'
    best = _result_of(statistics.best_layer_values(evaluations, spans), n_rdm=4, n_pattern=30)
    left, right = statistics.network_pairs(3)
    np.testing.assert_allclose(best.diff_var, variance, **CLOSE)
    np.testing.assert_allclose(best.test_pairwise()[left, right], p, **CLOSE)
    # and with the differences as 'models': the interval is its get_ci
    as_models = _result_of(differences, n_rdm=4, n_pattern=30)
    np.testing.assert_allclose(as_models.get_means(), mean, **CLOSE)
    np.testing.assert_allclose(
        np.array(as_models.get_ci(0.95)),
        np.array(statistics.t_interval(mean, variance, 3, 0.05)),
        **CLOSE,
    )


def test_choice_of_layer_adds_uncertainty() -> None:
    """Two equally good layers: the per-sample best is above either, and the winner varies."""
    rng = np.random.default_rng(5)
    evaluations = rng.normal(0.3, 0.02, (2000, 3, 3))
    evaluations[:, 2] = 0.1
    best = statistics.best_layer_values(evaluations, statistics.network_spans([2, 1]))
    assert best[:, 0].mean() > evaluations[:, :2].mean() + 0.005
    shares = statistics.peak_shares(evaluations[:, :2].mean(axis=-1))
    assert 0.45 < shares[0] < 0.55


def _planted(n_networks: int):
    subjects, models = random_study(30, 2, 3, 5, seed=8)
    rng = np.random.default_rng(9)
    models[1] = subjects.mean(axis=(0, 1)) + rng.normal(0, 0.3, models.shape[1])
    models[4] = rng.normal(size=models.shape[1])
    nets = {"good": models[:3], "weak": models[3:]}
    layers = {"good": ["g1", "g2", "g3"], "weak": ["w1", "w2"]}
    if n_networks == 1:
        nets, layers = {"good": models}, {"good": ["g1", "g2", "g3", "g4", "g5"]}
    return subjects, nets, ["V1", "LOC"], layers


@pytest.mark.parametrize("correction", CORRECTIONS)
def test_tables_intervals_agree_with_significance_on_every_row(correction: str) -> None:
    subjects, models, rois, layers = _planted(2)
    tables = inf.inference_arrays(
        subjects,
        models,
        rois,
        layers,
        "corr",
        samples=120,
        seed=3,
        correction=correction,
        progress=False,
    ).tables
    inference, networks = tables["inference"], tables["network_comparison"]
    for table, flag in ((inference, "significant_zero"), (networks, "significant")):
        excludes = (table.ci_low > 0) | (table.ci_high < 0)
        assert (excludes == table[flag]).all()
        # the recorded coverage is the interval's: half-width
        # = t quantile at ci_level × SEM (SEM > 0 here)
        dof = 3 - 1
        half = scipy.stats.t.isf((1 - table.ci_level) / 2, dof) * table["sem"]
        np.testing.assert_allclose((table.ci_high - table.ci_low) / 2, half, rtol=1e-9)
        expected = {"none": 0.95, "bonferroni": None, "fdr": None}[correction]
        assert (table.ci_level >= 0.95 - 1e-12).all() and (
            expected is None or (table.ci_level == expected).all()
        )
    assert inference.significant_zero.any() and not inference.significant_zero.all()
    ceiling = tables["noise_ceiling"].set_index("roi")["lower"]
    np.testing.assert_allclose(
        inference.r_normalised, inference.r / inference.roi.map(ceiling).to_numpy()
    )
    assert list(tables["peak_layer"].columns) == columns("peak_layer")
    np.testing.assert_allclose(tables["peak_layer"].groupby(["roi", "network"])["share"].sum(), 1.0)
    assert list(networks.columns) == columns("network_comparison") and len(networks) == 2
    assert list(networks.network_a) == ["good"] * 2 and list(networks.network_b) == ["weak"] * 2
    point = inference.groupby(["roi", "network"], sort=False)["r"].max()
    for row in networks.itertuples():
        assert row.difference == pytest.approx(point[(row.roi, "good")] - point[(row.roi, "weak")])
        assert row.ci_low < row.ci_high and row.sem > 0


def test_one_network_gives_an_empty_comparison_with_columns() -> None:
    subjects, models, rois, layers = _planted(1)
    tables = inf.inference_arrays(
        subjects, models, rois, layers, "corr", samples=40, seed=3, progress=False
    ).tables
    assert tables["network_comparison"].empty
    assert list(tables["network_comparison"].columns) == columns("network_comparison")
    assert len(tables["peak_layer"]) == 10
