"""Comparing RDMs as rsatoolbox.rdm.compare does, for many vectors at once: the methods, ranks
computed once per RDM, and Kendall's tau-a."""

from .kendall import tau_a_many, weighted_tau_a
from .methods import check_defined, compare, compare_prepared, prepare, undefined_rows
from .ranks import average_ranks, sort_orders, weighted_ranks

__all__ = [
    "average_ranks",
    "check_defined",
    "compare",
    "compare_prepared",
    "prepare",
    "sort_orders",
    "tau_a_many",
    "undefined_rows",
    "weighted_ranks",
    "weighted_tau_a",
]
