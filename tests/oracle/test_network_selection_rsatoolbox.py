"""Cross-validated network comparison (ModelSelect + fit_select + eval_dual_bootstrap with
k_pattern = 2) against rsatoolbox on identical resamplings and folds; against a brute force
beyond; and the padded null (a network padded with exchangeable layers gains nothing)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rsatoolbox
from rsatoolbox.inference import evaluate as rsa_evaluate
from rsatoolbox.model.fitter import fit_select

from analysis.inference import crossvalidated as cv
from analysis.inference import statistics as st
from analysis.inference.dual_bootstrap import dual_bootstrap, subject_rows
from analysis.inference.resampling import Resampling
from tests.helpers import random_study


def _rsatoolbox_select(subjects, networks, method, samples, monkeypatch, seed=0):
    """eval_dual_bootstrap of one ModelSelect per network, with the draws and folds it made."""
    drawn, folds = [], []
    sample_fn, fold_fn = rsa_evaluate.bootstrap_sample, rsa_evaluate.sets_k_fold

    def record_sample(*args, **kwargs):
        sample, rdm_idx, pattern_idx = sample_fn(*args, **kwargs)
        drawn.append((np.array(rdm_idx), np.array(pattern_idx)))
        return sample, rdm_idx, pattern_idx

    def record_folds(*args, **kwargs):
        train, test, ceil = fold_fn(*args, **kwargs)
        folds.append([np.array(t[1]) for t in test])
        return train, test, ceil

    monkeypatch.setattr(rsa_evaluate, "bootstrap_sample", record_sample)
    monkeypatch.setattr(rsa_evaluate, "sets_k_fold", record_folds)
    np.random.seed(seed)  # noqa: NPY002 (rsatoolbox draws from numpy's global generator)
    models = [
        rsatoolbox.model.ModelSelect(name, rsatoolbox.rdm.RDMs(layers))
        for name, layers in networks.items()
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rsa_evaluate.eval_dual_bootstrap(
            models,
            rsatoolbox.rdm.RDMs(subjects),
            method=method,
            fitter=[fit_select] * len(models),
            k_pattern=2,
            k_rdm=1,
            N=samples,
        )
    n_images = len(drawn[0][1])
    resampling = Resampling(
        image_indices=np.array([p for _, p in drawn]),
        subject_indices=np.array([r for r, _ in drawn]),
    )
    # folds: per sample 2 repetitions × (both, rdm, pattern), in that call order; only valid samples
    labels = np.full((samples, 3, 2, n_images), -1)
    calls = iter(folds)
    for b, (_, pattern_idx) in enumerate(drawn):
        if len(np.unique(pattern_idx)) < 6:
            continue
        for rep in range(2):
            for variant in range(3):
                for f, images in enumerate(next(calls)):
                    labels[b, variant, rep, images] = f
    return result, resampling, labels


@pytest.mark.parametrize("method", ["corr", "cosine", "spearman"])
def test_cross_validated_selection_equals_rsatoolbox(method: str, monkeypatch) -> None:
    subjects, models = random_study(14, 1, 3, 5, seed=21)
    networks = {"a": models[:2], "b": models[2:]}
    reference, resampling, labels = _rsatoolbox_select(
        subjects[0], networks, method, 12, monkeypatch
    )
    spans = st.network_spans([2, 3])
    ours = cv.cross_validated(
        subject_rows(subjects), list(models), spans, resampling, method, labels=labels
    )
    expected = reference.evaluations  # N × networks × folds × n_cv × 3
    ok = ~np.isnan(expected[:, 0, 0, 0, 0])
    np.testing.assert_array_equal(ours.valid, ok)
    got = ours.evaluations[:, 0]  # N × networks × folds × n_cv × 3
    np.testing.assert_allclose(got[ok], expected[ok], atol=1e-9, rtol=0)
    means, model_var, diff, diff_var = cv.network_statistics(got[ok], 3, 14)
    np.testing.assert_allclose(means, reference.get_means(), atol=1e-12)
    np.testing.assert_allclose(model_var, reference.model_var, atol=1e-12)
    np.testing.assert_allclose(diff_var, reference.diff_var, atol=1e-12)
    # also from the bootstrap's own pass (corr, cosine: strips.Terms; spearman: the folds'
    # ranks in the bootstrap's walks), with rsatoolbox's folds (not shared between variants)
    result = dual_bootstrap(subjects, models, resampling, method, np.float64, folds=labels)
    assert "fold_means" in result.extra
    fused = cv.select_networks(result.extra["fold_means"], spans, resampling.image_counts)
    np.testing.assert_array_equal(fused.valid, ok)
    np.testing.assert_allclose(fused.evaluations[ok, 0], expected[ok], atol=1e-9, rtol=0)


def _brute_force(subjects, models, spans, image_counts, subject_counts, labels, k):
    """Cross-validated evaluations by explicit resampled vectors (np.corrcoef on repeated pairs)."""
    n = image_counts.shape[1]
    i, j = np.triu_indices(n, 1)
    samples = image_counts.shape[0]
    out = np.full((samples, len(spans), k, labels.shape[2], 3), np.nan)
    for b in range(samples):
        for v, (c, w) in enumerate(
            [
                (image_counts[b], subject_counts[b]),
                (np.ones(n, int), subject_counts[b]),
                (image_counts[b], np.ones_like(subject_counts[b])),
            ]
        ):
            for rep in range(labels.shape[2]):
                for f in range(k):
                    fold = labels[b, v, rep] == f
                    rest = (labels[b, v, rep] >= 0) & ~fold
                    test_w = (c * fold)[i] * (c * fold)[j]
                    train_w = (c * rest)[i] * (c * rest)[j]

                    def evaluate(weights, layer, w=w):
                        repeat = lambda x: np.repeat(x, weights)  # noqa: E731
                        rs = [
                            np.corrcoef(repeat(models[layer]), repeat(subjects[s]))[0, 1]
                            for s in range(subjects.shape[0])
                        ]
                        return np.dot(w, rs) / subjects.shape[0]

                    for m, span in enumerate(spans):
                        layers = range(span.start, span.stop)
                        best = max(layers, key=lambda layer: evaluate(train_w, layer))
                        out[b, m, f, rep, v] = evaluate(test_w, best)
    return out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the brute force on unusable samples
def test_cross_validated_selection_equals_brute_force_with_three_folds() -> None:
    subjects, models = random_study(12, 1, 3, 4, seed=22)
    resampling = Resampling(
        np.random.default_rng(1).integers(0, 12, (3, 12)),
        np.random.default_rng(2).integers(0, 3, (3, 3)),
        seed=5,
    )
    spans = st.network_spans([1, 3])
    labels = cv.draw_folds(resampling, k=3, n_cv=2)
    ours = cv.cross_validated(
        subject_rows(subjects), list(models), spans, resampling, "corr", labels=labels, k=3
    )
    expected = _brute_force(
        subjects[0],
        models,
        spans,
        resampling.image_counts,
        resampling.subject_counts,
        labels,
        3,
    )
    ok = ours.valid
    assert ok.any()
    np.testing.assert_allclose(ours.evaluations[ok, 0], expected[ok], atol=1e-9)
    result = dual_bootstrap(subjects, models, resampling, "corr", folds=labels, k_pattern=3)
    fused = cv.select_networks(result.extra["fold_means"], spans, resampling.image_counts, 3)
    np.testing.assert_array_equal(fused.valid, ok)
    np.testing.assert_allclose(fused.evaluations[ok, 0], expected[ok], atol=1e-9)


def test_folds_follow_rsatoolbox_group_sizes() -> None:
    present = np.ones((1, 7), bool)
    labels = cv.fold_labels(present, np.arange(7.0)[None], 2)
    # positions 0-2 → fold 0, 3-5 → fold 1, the last (position 6) → fold m − 1 − 6 = 0
    assert list(labels[0]) == [0, 0, 0, 1, 1, 1, 0]
    labels = cv.fold_labels(np.array([[True, False, True, True]]), np.array([[3.0, 0, 1, 2]]), 2)
    assert list(labels[0]) == [0, -1, 0, 1]  # order: image 2, 3, 0 (the last to fold 0)
