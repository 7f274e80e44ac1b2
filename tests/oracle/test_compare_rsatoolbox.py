"""Our vectorised comparisons agree with rsatoolbox.rdm.compare for every method."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox

from analysis.comparison.methods import compare, undefined_rows
from analysis.schema import METHODS


def _vectors(rng, n_rdm, n_pairs, ties=False):
    values = rng.standard_normal((n_rdm, n_pairs))
    return np.round(values, 1) if ties else values


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ties", [False, True])
def test_compare_matches_rsatoolbox(method, ties):
    rng = np.random.default_rng(3)
    models = _vectors(rng, 4, 190, ties)
    data = _vectors(rng, 3, 190, ties) + 0.5 * models[:3]
    expected = rsatoolbox.rdm.compare(
        rsatoolbox.rdm.RDMs(models), rsatoolbox.rdm.RDMs(data), method
    )
    ours = compare(models, data, method)
    assert ours.shape == (4, 3)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        compare(np.ones((1, 3)), np.ones((1, 3)), "pearson")


def test_undefined_rows():
    vectors = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    assert undefined_rows(vectors, "corr").tolist() == [True, True, False]
    assert undefined_rows(vectors, "cosine").tolist() == [False, True, False]
