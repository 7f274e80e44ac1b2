"""Rank-based comparators. Placeholder implementation of Kendall's tau-a, one pair at a time."""
from __future__ import annotations

import numpy as np
from rsatoolbox.rdm.compare import _tau_a


def tau_a_many(models: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Kendall's tau-a of every model row with every data row (rsatoolbox's _tau_a per pair)."""
    return np.array([[_tau_a(m, d) for d in data] for m in models])
