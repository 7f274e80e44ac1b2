"""The output contract, in one place: tables, their columns and order, the stage that writes each,
the comparison methods and their labels.

The analysis writes these tables, the report reads them and the tests check them; README and
docs/CONTRACTS.md describe them. Change a column here and every one of them follows.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """One results table: NAME.csv with these columns, in this order, written by `stage`."""

    name: str
    columns: tuple[str, ...]
    stage: str
    description: str

    @property
    def file(self) -> str:
        return f"{self.name}.csv"


POINT, INFERENCE = "point", "inference"
STAGES = (POINT, INFERENCE)

TABLES: dict[str, Table] = {t.name: t for t in (
    Table("per_subject", ("subject", "roi", "network", "layer", "method", "r"), POINT,
          "r of every subject's ROI RDM with every layer RDM"),
    Table("joint", ("roi", "network", "layer", "method", "r"), POINT,
          "r of each ROI's RDM averaged over subjects with every layer RDM"),
    Table("by_group", ("group", "network", "layer", "method", "mean", "sem", "n_subjects"), POINT,
          "per subject the mean r over a group's ROIs; then mean and SEM (ddof 1) across subjects"),
    Table("second_order", ("kind_a", "network_a", "name_a", "kind_b", "network_b", "name_b", "method", "r"),
          POINT, "similarity between every two RDMs among the subject-averaged ROI RDMs (kind roi, network '') "
                 "and all layer RDMs, one row per unordered pair, for the second-order map"),
    Table("rdm_examples", ("rdm", "image_a", "image_b", "source_a", "source_b", "dissimilarity"), POINT,
          "a few RDMs (first ROI of the first and last group, subject-averaged; first and last layer of the "
          "first network) on about 48 images stratified by source, one row per image pair"),
    Table("inference", ("roi", "network", "layer", "method", "r", "sem", "ci_low", "ci_high",
                        "p_zero", "p_ceiling", "significant_zero", "significant_ceiling"), INFERENCE,
          "dual-bootstrap SEM, 95% interval and tests of every ROI × layer"),
    Table("noise_ceiling", ("roi", "method", "lower", "upper", "lower_sem", "upper_sem"), INFERENCE,
          "lower and upper noise-ceiling bounds of every ROI with their bootstrap SEM"),
    Table("pairwise", ("roi", "network", "layer_a", "layer_b", "difference", "p", "p_adjusted",
                       "significant"), INFERENCE,
          "tests between every two layers of a network, per ROI"),
)}


def stage_tables(stage: str) -> tuple[str, ...]:
    """The names of the tables one stage writes, in contract order."""
    return tuple(name for name, table in TABLES.items() if table.stage == stage)


def columns(name: str) -> list[str]:
    """The columns of table `name`, in order."""
    return list(TABLES[name].columns)


#: Comparison methods, as rsatoolbox.rdm.compare names them, with the label for axes and prose.
METHOD_LABELS: dict[str, str] = {
    "corr": "Pearson r",
    "cosine": "cosine similarity",
    "spearman": "Spearman ρ",
    "rho-a": "Spearman ρ_A",
    "tau-a": "Kendall τ_A",
}
METHODS: tuple[str, ...] = tuple(METHOD_LABELS)
#: Methods compared through a linear transform of the vectors (centre, scale): the bootstrap
#: computes them as matrix products; the others rank.
LINEAR_METHODS: tuple[str, ...] = ("corr", "cosine")
RANK_METHODS: tuple[str, ...] = ("spearman", "rho-a", "tau-a")

#: Multiple-comparison corrections of the inference tables, with their names in prose.
CORRECTIONS: dict[str, str] = {
    "fdr": "false discovery rate (Benjamini–Hochberg)",
    "bonferroni": "Bonferroni correction",
    "none": "no correction",
}


def method_label(method: str) -> str:
    """The label of a comparison method, e.g. 'Pearson r'."""
    return METHOD_LABELS.get(method, f"{method} (RDM similarity)")
