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
            "peak_consistency",
            ("atlas", "roi", "network", "layer", "method", "r", "n_subjects", "n_sharing"),
            POINT,
            "per ROI and network, the peak layer of the subject-averaged RDM (largest r in joint) "
            "and how many of the subjects' own peak layers (largest r in per_subject) are that "
            "layer",
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
                "peak",
                "resolved",
            ),
            INFERENCE,
            "r, r / lower noise ceiling (NaN unless the ROI's lower bound is above zero), "
            "bootstrap SEM (dual; images only with one subject, where r_normalised and p_ceiling "
            "are NaN), t interval and two-sided tests of every ROI × layer; the interval "
            "(coverage ci_level: 1 − alpha, or wider under a multiple-comparison correction) "
            "excludes 0 exactly when significant_zero; peak marks the layer with the largest r of "
            "its network, resolved a peak with r > 0, significant_zero and a significant pairwise "
            "test against every other layer of its network",
        ),
        Table(
            "noise_ceiling",
            (
                "atlas",
                "roi",
                "method",
                "lower",
                "upper",
                "lower_sem",
                "upper_sem",
                "p_lower",
                "lower_above_zero",
            ),
            INFERENCE,
            "lower and upper noise-ceiling bounds of every ROI with their bootstrap SEM (from the "
            "samples bootstrap.ceiling_samples names), the one-sided t-test of lower > 0 (p_lower) "
            "and whether it rejects after the study's correction over all ROIs (lower_above_zero; "
            "r_normalised is NaN otherwise); no rows with one subject: there is no noise ceiling",
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
            "group_inference",
            (
                "atlas",
                "group",
                "network",
                "layer",
                "method",
                "r",
                "sem",
                "ci_low",
                "ci_high",
                "ci_level",
                "p_zero",
                "significant_zero",
                "peak",
                "resolved",
            ),
            INFERENCE,
            "per ROI group of roi_groups: r averaged over the group's ROIs, tested from the same "
            "bootstrap samples as the ROI tests (each sample's evaluations averaged over the "
            "group's ROIs); family: the layers of one network for one group; peak and resolved "
            "as in inference",
        ),
        Table(
            "group_pairwise",
            (
                "atlas",
                "group",
                "network",
                "layer_a",
                "layer_b",
                "difference",
                "p",
                "p_adjusted",
                "significant",
            ),
            INFERENCE,
            "tests between every two layers of a network for the ROI-averaged r of each group; "
            "family: the layer pairs of one network for one group",
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
                "r_a",
                "r_b",
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
            "cross-validated comparison of two networks per ROI (rsatoolbox's ModelSelect + "
            "fit_select in eval_dual_bootstrap, k_pattern = 2, n_cv = 2): in every bootstrap "
            "sample each network's layer is chosen on one fold of the images and evaluated on the "
            "other; r_a, r_b and difference (r_a − r_b) are bootstrap means of these, and the "
            "interval is centred on difference; empty with one network",
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

#: Which bootstrap samples the noise-ceiling statistics (SEM of the bounds, tests against the
#: lower bound) use; study file `bootstrap.ceiling_samples`.
CEILING_SAMPLES: dict[str, str] = {
    "distinct": "the bootstrap samples that drew at least two distinct subjects (a "
    "leave-one-subject-out bound needs two; with one, rsatoolbox's lower bound equals its upper "
    "bound)",
    "rsatoolbox": "every valid bootstrap sample, as rsatoolbox's eval_dual_bootstrap (samples that "
    "drew a single distinct subject give lower = upper bound)",
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
