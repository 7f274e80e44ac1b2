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

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "per_subject",
            ("subject", "atlas", "roi", "network", "layer", "method", "n_images", "r"),
            POINT,
            "r of every subject's ROI RDM with every layer RDM, on n_images images",
        ),
        Table(
            "joint",
            ("atlas", "roi", "network", "layer", "method", "r"),
            POINT,
            "r of each ROI's RDM averaged over subjects with every layer RDM",
        ),
        Table(
            "group_mean",
            ("atlas", "roi", "network", "layer", "method", "r"),
            POINT,
            "r of each ROI RDM of a group-mean file (the deposit's MEAN "
            "files) with every layer RDM (no rows when the study has none)",
        ),
        Table(
            "by_group",
            ("atlas", "group", "network", "layer", "method", "mean", "sem", "n_subjects"),
            POINT,
            "per subject the mean r over a group's ROIs; then mean and SEM (ddof 1) across "
            "subjects (no rows without roi_groups; sem NaN with one subject)",
        ),
        Table(
            "images",
            ("role", "name", "atlas", "source", "images_in_file", "images_kept", "images_dropped"),
            POINT,
            "per input file (source 'all') and per image source: images in the file, kept by "
            "the alignment to the common images, and dropped",
        ),
        Table(
            "second_order",
            (
                "atlas",
                "kind_a",
                "network_a",
                "name_a",
                "kind_b",
                "network_b",
                "name_b",
                "method",
                "r",
            ),
            POINT,
            "per atlas, similarity between every two RDMs among the "
            "subject-averaged ROI RDMs (kind roi, network '') and all layer "
            "RDMs, one row per unordered pair, for the second-order map",
        ),
        Table(
            "rdm_examples",
            ("atlas", "rdm", "image_a", "image_b", "source_a", "source_b", "dissimilarity"),
            POINT,
            "per atlas a few RDMs (first ROI of the first and last group, "
            "subject-averaged; first and last layer of the first network) "
            "on about 48 images stratified by source, one row per image pair",
        ),
        Table(
            "inference",
            (
                "atlas",
                "roi",
                "network",
                "layer",
                "method",
                "r",
                "r_normalised",
                "sem",
                "ci_low",
                "ci_high",
                "ci_level",
                "p_zero",
                "p_ceiling",
                "significant_zero",
                "significant_ceiling",
            ),
            INFERENCE,
            "r, r / lower noise ceiling, bootstrap SEM (dual; images only with one subject, where "
            "r_normalised and p_ceiling are NaN), t interval and two-sided tests of every ROI × "
            "layer; the interval (coverage ci_level: 1 − alpha, or wider under a "
            "multiple-comparison correction) excludes 0 exactly when significant_zero",
        ),
        Table(
            "noise_ceiling",
            ("atlas", "roi", "method", "lower", "upper", "lower_sem", "upper_sem"),
            INFERENCE,
            "lower and upper noise-ceiling bounds of every ROI with their bootstrap SEM (no rows "
            "with one subject: there is no noise ceiling)",
        ),
        Table(
            "pairwise",
            (
                "atlas",
                "roi",
                "network",
                "layer_a",
                "layer_b",
                "difference",
                "p",
                "p_adjusted",
                "significant",
            ),
            INFERENCE,
            "tests between every two layers of a network, per ROI",
        ),
        Table(
            "peak_layer",
            ("atlas", "roi", "network", "layer", "share"),
            INFERENCE,
            "share of valid bootstrap samples in which the layer is the network's best for the ROI",
        ),
        Table(
            "network_comparison",
            (
                "atlas",
                "roi",
                "network_a",
                "network_b",
                "difference",
                "sem",
                "ci_low",
                "ci_high",
                "ci_level",
                "p",
                "p_adjusted",
                "significant",
            ),
            INFERENCE,
            "best layer of network_a minus best layer of network_b per ROI, the "
            "best layer chosen in every bootstrap sample; empty with one network",
        ),
    )
}
#: The atlas name of a study whose subjects have one RDM file each (no atlas named).
DEFAULT_ATLAS = "default"
#: The `source` of a file's total row in the images table.
ALL_SOURCES = "all"


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
    "corr_cov": "whitened Pearson r",
    "cosine_cov": "whitened cosine similarity",
}
METHODS: tuple[str, ...] = tuple(METHOD_LABELS)
#: Methods compared through a linear transform of the vectors (centre, scale): the bootstrap
#: computes them as matrix products; the others rank.
LINEAR_METHODS: tuple[str, ...] = ("corr", "cosine")
RANK_METHODS: tuple[str, ...] = ("spearman", "rho-a", "tau-a")
#: Whitened methods (sigma_k = identity): the bootstrap
#: adds one matrix product per RDM to the corr moments.
WHITENED_METHODS: tuple[str, ...] = ("corr_cov", "cosine_cov")
#: Methods the dual bootstrap computes: all of them.
BOOTSTRAP_METHODS: tuple[str, ...] = LINEAR_METHODS + RANK_METHODS + WHITENED_METHODS
#: What each method computes, in words (Markdown with
#: citation keys of references.bib), for the report.
METHOD_DESCRIPTIONS: dict[str, str] = {
    "corr": (
        "the Pearson correlation between the two RDMs' vectors of pairwise dissimilarities (the "
        "upper triangle, without the diagonal), which ignores the overall level and scale of each "
        "RDM"
    ),
    "cosine": (
        "the cosine of the angle between the two RDMs' vectors of pairwise dissimilarities, which "
        "ignores the scale but not the level of each RDM"
    ),
    "spearman": (
        "the Spearman rank correlation between the two RDMs' vectors of pairwise dissimilarities, "
        "which only uses the order of the dissimilarities"
    ),
    "rho-a": (
        "Spearman's ρ-a between the two RDMs' vectors of pairwise dissimilarities, a rank "
        "correlation suited to models that predict ties [@nili2014toolbox]"
    ),
    "tau-a": (
        "Kendall's τ-a between the two RDMs' vectors of pairwise dissimilarities, a rank "
        "correlation suited to models that predict ties [@nili2014toolbox]"
    ),
    "corr_cov": (
        "the whitened Pearson correlation [@diedrichsen2021comparing]: each RDM is centred, turned "
        "into a double-centred second-moment matrix and the two are compared by their cosine, "
        "which weights the dissimilarities by their expected covariance under the assumption that "
        "the noise of the patterns behind the RDMs is independent and equally large for every image"
    ),
    "cosine_cov": (
        "the whitened cosine similarity [@diedrichsen2021comparing], a linear centred-kernel "
        "alignment of the double-centred second-moment matrices, which weights the dissimilarities "
        "by their expected covariance under the assumption that the noise of the patterns behind "
        "the RDMs is independent and equally large for every image"
    ),
}

#: Multiple-comparison corrections of the inference tables, with their names in prose.
CORRECTIONS: dict[str, str] = {
    "fdr": "false discovery rate (Benjamini–Hochberg)",
    "bonferroni": "Bonferroni correction",
    "none": "no correction",
}


def method_label(method: str) -> str:
    """The label of a comparison method, e.g. 'Pearson r'."""
    return METHOD_LABELS.get(method, f"{method} (RDM similarity)")
