"""Comparing RDMs as rsatoolbox.rdm.compare does, for many vectors at once: the methods, ranks
computed once per RDM, and Kendall's tau-a."""

from __future__ import annotations

from ..lazy import attach

#: Public name → the module that defines it. Loaded on first use (PEP 562), so that importing one
#: light module of this package (e.g. a cached rerun's) does not load the numeric ones.
_SOURCES = {
    "average_ranks": "ranks",
    "check_defined": "methods",
    "compare": "methods",
    "compare_prepared": "methods",
    "prepare": "methods",
    "sort_orders": "ranks",
    "tau_a_many": "kendall",
    "undefined_rows": "methods",
    "weighted_ranks": "ranks",
    "weighted_tau_a": "kendall",
}
__getattr__, __dir__, __all__ = attach(__name__, _SOURCES)
