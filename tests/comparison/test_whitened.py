"""Whitened comparisons (sigma_k = identity) equal rsatoolbox's corr_cov and cosine_cov."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox
from rsatoolbox.rdm.compare import _cov_weighting

from analysis.comparison.methods import compare
from analysis.comparison.whitened import whitened


@pytest.mark.parametrize("method", ["corr_cov", "cosine_cov"])
@pytest.mark.parametrize(
    "n_images", [3, 12, 99, 120]
)  # 120: rsatoolbox's sparse path (≥ 100 images)
def test_equal_to_rsatoolbox(method, n_images):
    rng = np.random.default_rng(n_images)
    pairs = n_images * (n_images - 1) // 2
    models, data = rng.random((3, pairs)), rng.random((4, pairs)) + rng.random(pairs)
    expected = rsatoolbox.rdm.compare(
        rsatoolbox.rdm.RDMs(models), rsatoolbox.rdm.RDMs(data), method
    )
    assert np.abs(compare(models, data, method) - expected).max() < 1e-9


def test_whitened_vectors_are_rsatoolbox_cov_weighting():
    vectors = np.random.default_rng(1).random((2, 45))
    assert np.allclose(whitened(vectors), _cov_weighting(vectors, np.ones(45, bool)), atol=1e-12)


def test_not_an_upper_triangle_is_refused():
    with pytest.raises(ValueError, match="not the length"):
        whitened(np.ones((1, 7)))
