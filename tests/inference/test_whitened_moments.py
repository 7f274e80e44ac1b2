"""The whitened bootstrap's algebra: the closed form against whitened vectors built by hand, the
limit form at d = 0, chunks of samples, and threads (rsatoolbox itself: tests/oracle)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.comparison.whitened import whitened
from analysis.executor import LocalExecutor, RunContext, running
from analysis.inference import moments as bootstrap_moments
from analysis.inference import whitened_moments
from analysis.inference.dual_bootstrap import subject_rows
from tests.helpers import random_study


def _products(subjects, models, counts, method="corr_cov"):
    rows, model_rows = subject_rows(subjects), list(models)
    standard = bootstrap_moments.standardisation(
        model_rows + [v for roi in rows for v in roi], "corr"
    )
    moments = bootstrap_moments.linear_moments(rows, model_rows, counts, "corr", standard=standard)
    return whitened_moments.whitened_products(rows, model_rows, counts, moments, *standard, method)


def _by_hand(vector: np.ndarray, pattern_idx: np.ndarray) -> np.ndarray:
    """Whitened vector of the resampled RDM by solving
    the missing-pairs double centring directly."""
    n = int((1 + np.sqrt(1 + 8 * vector.size)) / 2)
    full = np.zeros((n, n))
    full[np.triu_indices(n, 1)] = vector
    full += full.T
    g = -0.5 * full[np.ix_(pattern_idx, pattern_idx)]
    present = pattern_idx[:, None] != pattern_idx[None, :]
    m = pattern_idx.size
    # normal equations Σ_{v~u} (g_uv − b_u − b_v) = 2 b_u
    system = np.diag(present.sum(axis=1) + 2.0) + present
    b = np.linalg.solve(system, (g * present).sum(axis=1))
    residual = np.where(present, g - b[:, None] - b[None, :], 0.0)
    upper = np.triu_indices(m, 1)
    keep = present[upper]
    return np.concatenate([np.sqrt(2) * residual[upper][keep], -2 * b])


@pytest.mark.parametrize(
    "pattern_idx", [[0, 0, 1, 2, 3, 3, 3, 5, 6, 7], [4, 4, 4, 4, 4, 4, 0, 1, 2, 3]]
)
def test_closed_form_equals_the_whitened_vectors_built_by_hand(pattern_idx) -> None:
    subjects, models = random_study(10, 1, 2, 1, seed=21)
    pattern_idx = np.array(pattern_idx)
    counts = np.bincount(pattern_idx, minlength=10)[None]
    x, y = models[0] + 2.0, subjects[0, 1]
    products = _products(subjects + 0.0, models + 2.0, counts, "cosine_cov")
    vx, vy = _by_hand(x, pattern_idx), _by_hand(y, pattern_idx)
    expected = vx @ vy / np.sqrt(vx @ vx * (vy @ vy))
    assert whitened_moments.whitened_similarity(products)[0, 0, 1, 0] == pytest.approx(
        expected, abs=1e-12
    )


def test_every_image_once_is_rsatoolbox_double_centring() -> None:
    vector = np.random.default_rng(22).random(45)
    assert np.allclose(_by_hand(vector, np.arange(10)), whitened(vector)[0], atol=1e-12)


def test_limit_form_is_the_limit() -> None:
    """d_k = 0 (c_k = n/2 + 1) is the limit of the general form as d_k → 0."""
    rng = np.random.default_rng(23)
    u, v = rng.normal(size=(2, 1, 6))
    counts = np.array([[4.0, 1, 1, 0, 0, 0]])  # n = 6: d_0 = 0
    exact = whitened_moments.bilinear(
        whitened_moments.reduce(u[:, None], whitened_moments.weights(counts)),
        whitened_moments.reduce(v[:, None], whitened_moments.weights(counts)),
        whitened_moments.weights(counts),
    )[0, 0, 0]
    near = counts.copy()
    near[0, 0] = 4.0 - 1e-7  # d_0 = 2e-7, general form (Σc changes by 1e-7 too, negligibly)
    w = whitened_moments.weights(near)
    assert w.pivot[0] == -1
    approx = whitened_moments.bilinear(
        whitened_moments.reduce(u[:, None], w), whitened_moments.reduce(v[:, None], w), w
    )[0, 0, 0]
    assert approx == pytest.approx(exact, rel=1e-5)


def test_chunks_of_samples_and_threads_give_the_same_bytes(monkeypatch) -> None:
    subjects, models = random_study(30, 2, 3, 2, seed=24)
    counts = np.random.default_rng(25).multinomial(30, np.ones(30) / 30, size=7)
    with running(RunContext(LocalExecutor(threads=1))):
        whole = _products(subjects, models, counts)
    monkeypatch.setattr(whitened_moments, "U_BYTES", 8 * 30 * 12 * 3)  # 3 samples per chunk
    with running(RunContext(LocalExecutor(threads=2))):
        chunked = _products(subjects, models, counts)
    for name in ("model_square", "subject_gram", "cross", "subject_norm"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(chunked, name))
