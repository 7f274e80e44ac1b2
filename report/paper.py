"""The paper's prose that depends on the study: methods, limitations, data and code availability and
how to cite. Every number comes from the manifest or a result table."""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
from importlib import metadata

import numpy as np
import pandas as pd
import yaml

from analysis.schema import CORRECTIONS, METHOD_DESCRIPTIONS

from .metadata import Paper, citation_text, load_paper
from .metadata import bibtex as metadata_bibtex
from .results import Results, project_root
from .sentences import dof, noun, t_critical
from .style import averaged_label, measure_label, single_label
from .text import document_metadata, extremes, join, md, plural, shared, split_hemisphere

MATCH_WORDS = {
    "exact": "Image names were matched exactly. ",
    "stem-casefold": (
        "Image names were matched without folders, file extension and letter case (`images.match: "
        "stem-casefold`). "
    ),
}


def _subject_files(res: Results) -> list[dict]:
    return [i for i in res.manifest.get("inputs", []) if i.get("role") == "subject"]


def rdm_word(res: Results, network: str, many: bool = False) -> str:
    """'layer' for a network whose RDMs are layers in depth order, 'model' for a set of models."""
    word = "layer" if res.ordered(network) else "model"
    return word + "s" if many else word


def networks_phrase(res: Results) -> str:
    """'AlexNet (5 layers) and Models (8 models)': every network with its RDM count."""
    return join(f"{md(n)} ({plural(len(res.layers(n)), rdm_word(res, n))})" for n in res.networks)


def dataset_citation_keys(res: Results) -> list[str]:
    """The `references.bib` keys the study's `dataset.cite` names (none without a dataset)."""
    cite = res.dataset.get("cite") or []
    return [str(k) for k in ([cite] if isinstance(cite, str) else cite) if str(k).strip()]


def data_citation(res: Results) -> str:
    """The Markdown citation of the study's data, '[@a; @b]', or '' when the study cites none."""
    keys = dataset_citation_keys(res)
    return "[" + "; ".join(f"@{k}" for k in keys) + "]" if keys else ""


def data_source(res: Results) -> str:
    """Where the files come from, as a Markdown link (DOI first, else URL), or ''."""
    data = res.dataset
    doi, url = str(data.get("doi") or "").strip(), str(data.get("url") or "").strip()
    if doi:
        return f"doi [{md(doi)}](https://doi.org/{doi})"
    if url:
        return f"<{url}>"
    return ""


def _sentence(text: str) -> str:
    """A study-given text as one escaped sentence that ends with a full stop."""
    text = md(text).rstrip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def introduction(res: Results) -> str:
    """What this report asks, in the study's terms (layers of networks, or a set of models)."""
    ordered, unordered = res.ordered_networks, res.unordered_networks()
    asks = []
    if ordered:
        asks.append(
            f"which {'layer' if len(ordered) == 1 else 'layers of which networks'} "
            f"({join(md(n) for n in ordered)})"
        )
    if unordered:
        asks.append(f"which of the models in {join(md(n) for n in unordered)}")
    data = f" of {md(res.dataset['name'])}" if res.dataset.get("name") else ""
    return (
        f"This report asks {' and '.join(asks)} best match the representational geometry of the "
        f"regions of interest (ROIs){data}, and how certain each answer is."
    )


def _loss_sentence(res: Results) -> str:
    """The smallest file and the largest loss, every file that shares an extreme named."""
    inputs = res.manifest["inputs"]
    names = [
        md(
            f"{i.get('name')} ({i['atlas']})"
            if i.get("atlas") and res.atlases != ["default"]
            else i.get("name")
        )
        for i in inputs
    ]
    sizes = [int(i.get("images_in_file", 0)) for i in inputs]
    dropped = [int(i.get("images_dropped", 0)) for i in inputs]
    smallest = extremes(sizes, largest=False)
    if len(smallest) == len(inputs):
        text = f"Every file holds {sizes[0]} images. "
    else:
        text = (
            f"The smallest {'file' if len(smallest) == 1 else 'files'}, "
            f"{shared([names[k] for k in smallest], len(inputs), 'files')} ({sizes[smallest[0]]} "
            f"images{'' if len(smallest) == 1 else ' each'}), "
            f"{'bounds' if len(smallest) == 1 else 'bound'} the common set. "
        )
    if max(dropped) == 0:
        return text + "No file lost any image. "
    most = extremes(dropped)
    if len(most) == 1:
        k = most[0]
        return text + (
            f"The largest loss is in {names[k]}, which kept {inputs[k].get('images_kept')} of its "
            f"{sizes[k]} images. "
        )
    return text + (
        f"The largest loss, {dropped[most[0]]} images, is shared by "
        f"{shared([names[k] for k in most], len(inputs), 'files')}. "
    )


def roi_paragraph(res: Results) -> str:
    """Where the ROI groups come from (the study file), and which literature latencies apply."""
    grouped = res.grouped_atlases()
    if not grouped:
        text = (
            "The study file defines no ROI groups (`roi_groups`), so the report shows every ROI "
            "on its own, in the order of the files, and has no group summaries."
        )
    else:
        missing = [a for a in res.atlases if a not in grouped]
        text = (
            "The ROI groups are not a property of the data: they come from the study file (its "
            "`roi_groups` entry), which orders them from early to high-level (@tbl-groups). A "
            "different grouping changes only the group summaries, not the per-ROI results."
        )
        if missing:
            text += (
                f" The study gives no groups for {join(md(a) for a in missing)}; "
                f"{'its' if len(missing) == 1 else 'their'} ROIs appear only one by one."
            )
    covered = latency_rows(res)
    if covered:
        text += (
            " @tbl-latencies lists onset latencies reported in the literature for the areas among "
            "this study's ROIs (matched by name), with the kind of evidence each row rests on: "
            "only some are direct human timing measurements."
        )
    return text


def latency_rows(res: Results) -> list[str]:
    """The areas of report/latencies.csv that name one of the study's ROIs (see
    tables.latency_areas)."""
    from .tables import latency_areas

    return latency_areas([roi for atlas in res.atlases for roi in res.rois(atlas)])


def hemisphere_pairs(res: Results) -> list[tuple[str, str, list[str]]]:
    """(atlas, group, areas) where a group holds the left and the right ROI of one area: names that
    differ only in a hemisphere prefix or suffix (LH/RH, lh_/rh_, L_/R_, left/right)."""
    found = []
    for atlas in res.grouped_atlases():
        for group, rois in res.groups(atlas).items():
            sides: dict[str, set[str]] = {}
            for roi in rois:
                split = split_hemisphere(roi)
                if split:
                    sides.setdefault(split[1].casefold(), set()).add(split[0])
            areas = sorted(area for area, seen in sides.items() if seen == {"L", "R"})
            if areas:
                found.append((atlas, group, areas))
    return found


def acknowledgements(res: Results) -> str:
    """The methods this work follows, and the study's own acknowledgements, where it gives them."""
    text = (
        "The comparisons and the inference follow the RSA toolbox (rsatoolbox) "
        "[@vandenbosch2025rsatoolbox], against which this code is tested"
    )
    text += (
        ", and Schütt et al.'s tutorial on statistical inference on representational geometries "
        "[@schutt2023statistical], which the original analysis credits."
    )
    if res.dataset.get("acknowledgements"):
        text += " " + _sentence(str(res.dataset["acknowledgements"]))
    return text


def data_paragraph(res: Results) -> str:
    """Where the data come from (the study's `dataset` section) and which files were read."""
    data = res.dataset
    n_subject_files = len(_subject_files(res))
    n_network_files = sum(1 for i in res.manifest["inputs"] if i.get("role") == "network")
    holds = {
        "layer": "one RDM per layer of a network",
        "model": "one RDM per model (the study marks them as a set of models, not layers in "
        "depth order)",
        "layer or model": "one RDM per layer, or per model where the study marks the network's "
        "RDMs as a set of models rather than layers in depth order",
    }[noun(res)]
    n_mean_files = sum(1 for i in res.manifest["inputs"] if i.get("role") == "group_mean")
    atlases = (
        ""
        if res.atlases == ["default"]
        else f" The ROIs come from {plural(len(res.atlases), 'atlas', 'atlases')} "
        f"({join(md(a) for a in res.atlases)}), each analysed on its own."
    )
    text = []
    if data.get("name"):
        cite = data_citation(res)
        text.append(f"The RDMs come from {md(data['name'])}{' ' + cite if cite else ''}.")
    for key in ("description", "subjects", "rdms"):
        if data.get(key):
            text.append(_sentence(str(data[key])))
    means = f", {plural(n_mean_files, 'group-mean file')}" if n_mean_files else ""
    text.append(
        f"This analysis read {plural(n_subject_files, 'subject file')} "
        f"({plural(len(res.subjects), 'subject')}: {join(md(s) for s in res.subjects)}){means} and "
        f"{plural(n_network_files, 'network file')}: {networks_phrase(res)}. Each subject file "
        f"holds one RDM per ROI; each network file holds {holds}."
    )
    if res.synthetic:
        text.append("They are synthetic files written by `python -m analysis demo`.")
    elif data_source(res):
        text.append(f"The files come from {data_source(res)}.")
    elif not res.declared:
        text.append(
            "The study file has no `dataset` section, so this report does not say where the files "
            "come from or how their RDMs were made."
        )
    text.append(
        f"{atlases} @tbl-study summarises the study and @tbl-inputs lists every file with its "
        "SHA-256 checksum; the provenance appendix gives the full checksums and sizes."
    )
    return " ".join(t.strip() for t in text if t.strip())


def alignment_paragraph(res: Results) -> str:
    """How the files were aligned to common images, and what that cost."""
    m = res.manifest
    n = m.get("n_common_images")
    match = str(((m.get("study") or {}).get("images") or {}).get("match", "exact"))
    text = (
        "RDMs can only be compared over the same images in the same order. Every file was "
        f"therefore reduced to the images present in all of them, {n} images, sorted by name, and "
        "each RDM's rows and columns were reordered to that list. No dissimilarity is recomputed; "
        "entries for other images are dropped. "
        f"{MATCH_WORDS.get(match, '')}" + _loss_sentence(res)
    )
    images = res.table("images")
    sources = (
        [s for s in dict.fromkeys(images["source"]) if s != "all"] if images is not None else []
    )
    if len(sources) > 1:
        text += (
            "@tbl-images breaks the kept and dropped images down by image source "
            f"({join(md(s) for s in sources)}), so a reader can see whether the alignment changed "
            "the mix of sources."
        )
    else:
        text += "@tbl-images gives the counts per file."
    image_sets = m.get("image_sets")
    if isinstance(image_sets, dict) and image_sets:
        by_set: dict[str, list[str]] = {}
        for table, images in image_sets.items():
            by_set.setdefault(str(images), []).append(f"`{table}`")
        text += (
            " Which images each table uses (from the manifest): "
            + "; ".join(f"{join(tables)}: {md(images)}" for images, tables in by_set.items())
            + "."
        )
    return text


def comparison_paragraph(res: Results) -> str:
    """The comparison method in words."""
    words = METHOD_DESCRIPTIONS.get(res.method, f"rsatoolbox's `{res.method}` comparison")
    group_mean = ""
    if res.table("group_mean") is not None:
        group_mean = (
            " The study also gives group-mean RDMs per ROI (its `group_mean` files); their "
            "comparisons with every layer are in `group_mean.csv`."
        )
        agreement = [
            v
            for atlas in (res.manifest.get("group_mean_agreement") or {}).values()
            for v in atlas.values()
        ]
        if agreement:
            group_mean += (
                " Those group-mean RDMs correlate with our own subject averages at Pearson r = "
                f"{min(agreement):.3f}–{max(agreement):.3f} over {len(agreement)} ROIs."
            )
    if len(res.subjects) == 1:
        per = (
            f"Values are computed for the one subject, {md(res.subjects[0])} (`per_subject.csv`; "
            "`joint.csv` holds the same values, since there is no other subject to average with)."
        )
    else:
        per = (
            "Values are computed per subject (`per_subject.csv`) and for ROI RDMs averaged over "
            "subjects after alignment (`joint.csv`), which are less noisy than any single "
            "subject's."
        )
    groups = ""
    if res.grouped_atlases():
        groups = (
            " For ROI groups, each subject's values are averaged over the group's ROIs, and the "
            "mean "
            + (
                "and standard error across subjects are reported"
                if len(res.subjects) > 1
                else "is reported (one subject: no standard error)"
            )
            + " (`by_group.csv`)."
        )
    return (
        f"Each ROI RDM was compared with each {noun(res)} RDM by {words}; the report calls this "
        f"value *{measure_label(res.method)}*. The comparisons reproduce rsatoolbox's `compare` "
        "[@vandenbosch2025rsatoolbox] to within 10⁻⁹ (the test suite checks this on its own test "
        f"data). {per}{groups}{group_mean} The report uses two quantities and names them "
        f"throughout. *{single_label(res.method)}* is the similarity of each subject's ROI RDM "
        f"with a {noun(res)}, averaged over subjects (`per_subject.csv`, and `r` of "
        "`inference.csv`): the value the bootstrap tests and the one comparable with the noise "
        f"ceiling, which is built from single subjects too. *{averaged_label(res.method)}* is "
        "the similarity of the ROI RDM averaged over subjects after alignment (`joint.csv`): "
        "less noisy than any single subject's RDM, so usually larger, and not comparable with "
        "the ceiling."
    )


def inference_paragraph(res: Results) -> str:
    """How the uncertainty was computed, and what the intervals, bars and tests are."""
    params = res.manifest.get("parameters", {})
    boot = res.manifest.get("bootstrap", {})
    correction = CORRECTIONS.get(boot.get("correction", "fdr"), boot.get("correction", "fdr"))
    degrees = dof(res)
    dropped = int(boot.get("samples", 0)) - int(boot.get("valid_samples", boot.get("samples", 0)))
    usable = (
        f"All {boot.get('samples')} samples were usable."
        if dropped == 0
        else f"{boot.get('valid_samples')} of {boot.get('samples')} samples were usable: "
        f"{boot.get('dropped_few_images')} drew fewer than 3 distinct images and "
        f"{boot.get('dropped_undefined')} gave an undefined similarity, and were left out."
    )
    extra = []
    inference = res.table("inference")
    if inference is not None and "resolved" in inference.columns:
        word, words = noun(res), noun(res, many=True)
        depth = " or placed on the depth axis" if res.ordered_networks else ""
        extra.append(
            f"The **peak {word}** of a network for an ROI is its {word} with the largest value; "
            "the peak is **resolved** when that value is significantly above zero and the "
            f"pairwise test separates it from every other {word} of the network. Only resolved "
            f"peaks are counted{depth}."
        )
    if res.table("peak_layer") is not None:
        extra.append(
            "The share of bootstrap samples in which a layer is the best (`peak_layer.csv`) is "
            "shown as a "
            "description of how stable the peak is; it is not a test."
        )
    if res.table("group_inference") is not None:
        extra.append(
            "**ROI groups** are tested from the same bootstrap samples as single ROIs: in every "
            "sample the "
            "evaluations are averaged over the group's ROIs, and the group's mean gets the same "
            "variance, "
            "tests, intervals and peak rule (`group_inference.csv`, `group_pairwise.csv`), so a "
            "group "
            "statement and the ROI tests come from one set of samples."
        )
    if res.table("network_comparison") is not None:
        selection = boot.get("network_selection") or {}
        extra.append(
            "**Networks** are compared without favouring those with more layers, as rsatoolbox "
            "does for a "
            "model that selects among candidate RDMs (`ModelSelect` with `fit_select`) in "
            "`eval_dual_bootstrap` with cross-validation over images: in every bootstrap sample, "
            "for each "
            f"of its three variants and {selection.get('n_cv', 2)} random splits, the distinct "
            "images drawn "
            f"are split into {selection.get('k_pattern', 2)} folds; each network's layer is chosen "
            "on one "
            "fold (the largest mean over subjects) and evaluated on the other, and the variance is "
            "corrected for the randomness of the split. The difference between two networks' "
            "cross-validated values, its t interval (centred on that difference) and its test are "
            "in "
            "`network_comparison.csv`. Taking each network's best layer on the same data it is "
            "evaluated on "
            "would favour networks with more layers and is not used."
        )
    word, words = noun(res), noun(res, many=True)
    ceiling = len(res.subjects) > 1
    family_list = [
        f"the {words} of one network for one ROI (tests against zero"
        + (" and against the ceiling)" if ceiling else ")"),
        f"the {word} pairs of one network for one ROI",
    ]
    if res.table("group_inference") is not None:
        family_list.append("the same for one ROI group")
    if len(res.networks) > 1:
        family_list.append("the network pairs of one ROI")
    if ceiling:
        family_list.append("all ROIs of the study for the test of the lower ceiling bound")
    families = f"**Families** of the multiple-comparison correction: {join(family_list)}."
    ceiling_samples = boot.get("ceiling_valid_samples")
    ceiling_text = (
        f" The ceilings' standard errors and the tests against the lower bound use the "
        f"{ceiling_samples} of {boot.get('valid_samples')} samples that drew at least two distinct "
        "subjects: a leave-one-subject-out bound needs two, and rsatoolbox, which keeps the "
        "others, "
        "sets their lower bound to the upper one, which with few subjects makes the lower bound's "
        "standard error larger than the bound itself."
        if boot.get("ceiling_samples") == "distinct" and ceiling_samples is not None
        else (
            " The ceilings' standard errors use every sample, as rsatoolbox's "
            "`eval_dual_bootstrap` "
            "(study setting `bootstrap.ceiling_samples: rsatoolbox`)."
            if boot.get("ceiling_samples") == "rsatoolbox"
            else ""
        )
    )
    if res.over_images_only:
        how = (
            f"Uncertainty comes from a bootstrap over images only with {params.get('samples')} "
            f"samples (seed {params.get('seed')}), computed as rsatoolbox's "
            f"`eval_bootstrap_pattern`: the study has one subject, {md(res.subjects[0])}, so the "
            "intervals and tests generalise over images, not over people. Each sample resamples "
            "images with replacement and pairs between copies of one image are left out. Tests "
            f"are t tests on the bootstrap variance with {degrees} degrees of freedom (images − 1)"
        )
        ceiling = (
            " With one subject there is no noise ceiling (it needs other subjects to predict), so "
            "no value is compared with one."
        )
    else:
        how = (
            "Uncertainty comes from a dual bootstrap over images and subjects "
            f"[@schutt2023statistical] with {params.get('samples')} samples (seed "
            f"{params.get('seed')}), computed exactly as rsatoolbox's `eval_dual_bootstrap`: each "
            "sample resamples images and subjects with replacement, pairs between copies of one "
            "image are left out, and the variances of the subject-only, image-only and joint "
            "bootstraps are combined with the two-factor correction of @schutt2023statistical. "
            f"Tests are t tests on this corrected variance with {degrees} degrees of freedom "
            "(subjects − 1)"
        )
        ceiling = (
            " The **noise ceiling** [@nili2014toolbox] bounds what any model could reach given "
            "the variability between subjects: its upper bound is the mean similarity of each "
            "subject's RDM with the average of all subjects, its lower bound the same with the "
            "average of the other subjects. Values divided by the lower bound (*r / lower "
            "ceiling*) are given only where that bound is significantly above zero (a one-sided t "
            "test of its bootstrap mean with the same corrected variance)." + ceiling_text
        )
    against = (
        "against zero, against the lower bound of the noise ceiling,"
        if res.has_ceiling
        else "against zero,"
    )
    between = (
        f" and between every two {noun(res, many=True)} of a network, corrected for multiple "
        f"comparisons within each family (below) with {correction} [@benjamini1995controlling]"
        if res.table("pairwise") is not None
        else f", corrected for multiple comparisons within each family (below) with {correction} "
        "[@benjamini1995controlling]"
    )
    return (
        f"{how}, two-sided at α = {boot.get('alpha', 0.05)}: {against}{between}. **Intervals** are "
        "t intervals from the same variance and degrees of freedom (rsatoolbox's "
        "`Result.get_ci`), at the level at which an interval excludes zero exactly when its value "
        "is marked significant: 95% without correction, adjusted for the number of tests "
        "otherwise (Bonferroni, or false-coverage-rate intervals under the false discovery rate "
        f"[@benjamini2005false]). With {degrees} degrees of freedom even an uncorrected 95% "
        f"interval is ±{t_critical(degrees):.2f} standard "
        f"errors wide.{coverage(res)}{ceiling} " + " ".join([*extra, families]) + f" {usable}"
    )


def coverage(res: Results) -> str:
    """The intervals' coverage in this run (inference.csv's ci_level), as a sentence."""
    inference = res.table("inference")
    if inference is None or "ci_level" not in inference.columns:
        return ""
    levels = pd.to_numeric(inference["ci_level"], errors="coerce").dropna()
    if levels.empty:
        return ""
    low, high = 100 * levels.min(), 100 * levels.max()
    span = f"{low:.4g}%" if np.isclose(low, high) else f"between {low:.4g}% and {high:.4g}%"
    return f" In this run the intervals' coverage (`ci_level`) is {span}."


def absent_paragraph(res: Results) -> str:
    """What the report says when the results folder has no inference tables."""
    return (
        "The results folder has no inferential tables (`inference.csv`, `noise_ceiling.csv`, "
        "`pairwise.csv`): the analysis ran with "
        f"{res.manifest.get('parameters', {}).get('samples')} bootstrap samples, so no intervals "
        "or tests were computed and the findings below describe point estimates only. Run `python "
        "-m analysis run` with `--samples 1000` (the default) to add them."
    )


def figures_paragraph(res: Results) -> str:
    """How the relative-depth axis (networks of layers only) and the second-order map are made."""
    text = ""
    if any(len(res.layers(n)) > 1 for n in res.ordered_networks):
        text = (
            "To compare networks of different depth, each layer is placed at its *relative "
            "depth*: its position in the network divided by the number of layers minus one, 0 for "
            "the first layer and 1 for the last. Relative depth orders layers; it does not say "
            "that two networks compute the same thing at the same value."
        )
    unordered = res.unordered_networks()
    if unordered:
        text += (
            f" The RDMs of {join(md(n) for n in unordered)} are a set of models, not layers in "
            "depth order (the study file says so): they get no depth, and no statement compares a "
            "first and a last one."
        )
    if res.table("second_order") is not None:
        averaged = "subject-averaged " if len(res.subjects) > 1 else ""
        text += (
            f" For the second-order map, every {averaged}ROI RDM and every {noun(res)} RDM of an "
            f"atlas were compared with each other with the same {measure_label(res.method)} "
            "(`second_order.csv`); 1 − similarity was embedded in two dimensions by classical "
            "multidimensional scaling [@torgerson1952multidimensional], so RDMs that are alike "
            "lie close together."
        )
    return text.strip()


def software_paragraph(res: Results) -> str:
    """Versions of the analysis (from the manifest) and of the report's own libraries (at render
    time)."""
    versions = res.manifest.get("versions") or {}
    analysis = ", ".join(f"{k} {v}" for k, v in versions.items())
    report = []
    for package in ("matplotlib", "seaborn", "nbclient", "pypandoc-binary"):
        try:
            report.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return (
        f"The analysis ran with {analysis} [@harris2020numpy; @virtanen2020scipy; "
        f"@mckinney2010pandas]. This report was rendered with Python {platform.python_version()}, "
        f"{', '.join(report)} [@hunter2007matplotlib; @waskom2021seaborn]. The provenance appendix "
        "lists the command, parameters and cache keys."
    )


def limitations(res: Results) -> list[str]:
    """What the data cannot show, with this study's numbers: only what the study and data show."""
    n = len(res.subjects)
    degrees = dof(res)
    items = []
    if n == 1:
        items.append(
            f"**One subject.** Every result describes {md(res.subjects[0])} alone: "
            + (
                "the intervals and tests generalise over images, not over people, "
                if res.has_inference
                else ""
            )
            + "there is no noise ceiling, and nothing here says how other people's RDMs would "
            "compare."
        )
    elif res.has_inference:
        items.append(
            f"**Few subjects.** There are {plural(n, 'subject')}, and the subject bootstrap draws "
            f"from them: every test has {degrees} degrees of freedom, and a 95% interval is "
            f"±{t_critical(degrees):.1f} standard errors wide. Effects that vary between people "
            "cannot be estimated"
            + (
                ", and generalisation to the population rests on very few people."
                if n < 10
                else "."
            )
        )
    else:
        items.append(
            "**No inference.** The analysis ran without bootstrap samples: the "
            f"{plural(n, 'subject')}' values are point estimates, with no intervals or tests, and "
            "no noise ceiling."
        )
    if res.has_ceiling:
        items.append(
            f"**The test against the noise ceiling has little power.** With {degrees} degrees of "
            f"freedom, a model must lie about {t_critical(degrees):.1f} standard errors below the "
            "lower bound to be called significantly below it. 'Not significantly below the "
            "ceiling' is therefore weak evidence; it does not mean that a layer explains all "
            "explainable variance."
        )
    measures = sorted(
        {
            str(i.get("dissimilarity_measure"))
            for i in res.manifest.get("inputs", [])
            if i.get("role") != "network" and i.get("dissimilarity_measure")
        }
    )
    recorded = (
        " The brain files record their dissimilarity measure as "
        f"{join(f'*{md(m)}*' for m in measures)}."
        if measures
        else ""
    )
    said = (
        f" The study says how they were made: {_sentence(str(res.dataset['rdms']))}"
        if res.dataset.get("rdms")
        else " The study file does not say how they were made."
    )
    items.append(
        "**Noise in the RDMs.** Whether the ROI RDMs are cross-validated cannot be read from the "
        f"files.{recorded}{said} Distances that are not cross-validated are inflated by "
        "measurement noise that differs between ROIs and subjects [@walther2016reliability]; "
        "comparisons with correlation-type measures are partly robust to a uniform offset, not to "
        "noise that varies across image pairs."
    )
    pooled = hemisphere_pairs(res)
    if pooled:
        where = join(
            f"{md(g)}{'' if res.atlases == ['default'] else f' ({md(a)})'}" for a, g, _ in pooled
        )
        items.append(
            "**Hemispheres are pooled in some groups.** The study file puts the left and right "
            f"ROI of the same area into one group ({where}); both come from the same subjects, so "
            "they are not independent replications, and hemispheric differences are not tested."
        )
    images = res.table("images")
    sources = (
        [s for s in dict.fromkeys(images["source"]) if s != "all"] if images is not None else []
    )
    if len(sources) > 1:
        text = (
            f"**Images differ by source.** The images come from {plural(len(sources), 'source')} "
            f"({join(md(s) for s in sources)}) that may differ in content and statistics, so part "
            "of every RDM may reflect the source (see @fig-rdm-examples)."
            if res.table("rdm_examples") is not None
            else "**Images differ by source.** The images come from "
            f"{plural(len(sources), 'source')} ({join(md(s) for s in sources)}) that may differ in "
            "content and statistics, so part of every RDM may reflect the source."
        )
        if any(s.casefold() == "imagenet" for s in sources):
            text += (
                " Networks trained on ImageNet may have seen some of the ImageNet images among "
                "the stimuli."
            )
        items.append(text)
    if len(res.atlases) > 1:
        items.append(
            "**Atlases overlap.** ROIs of different atlases cover overlapping cortex, "
            "so results from different atlases are not independent evidence; multiple "
            "comparisons are corrected within each family (one ROI × network, one group × "
            "network, or the network pairs of one ROI), not across atlases."
        )
    if any(int(i.get("images_dropped", 0)) for i in res.manifest.get("inputs", [])):
        items.append(
            "**Only common images are used.** Restricting every file to the "
            f"{res.manifest.get('n_common_images')} images all files share discards the images "
            "that only some files hold."
        )
    depth = (
        ", and relative depth is a position, not a measure of processing stage"
        if res.ordered_networks
        else ""
    )
    items.append(
        "**Fixed models.** Each layer's or model's RDM is used as it is, without fitting or "
        f"weighting features{depth}."
    )
    return items


def repository_url() -> str | None:
    """The public repository: GitHub Actions' GITHUB_REPOSITORY, else CITATION.cff's
    repository-code."""
    if os.environ.get("GITHUB_REPOSITORY"):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{os.environ['GITHUB_REPOSITORY']}"
    cff = citation_file()
    return cff.get("repository-code") or cff.get("url")


def citation_file() -> dict:
    """CITATION.cff of the project (empty when absent)."""
    path = project_root() / "CITATION.cff"
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def data_availability(res: Results) -> str:
    """Where the data are, under which licence: only what the study's `dataset` section says."""
    data = res.dataset
    cite = data_citation(res)
    tail = (
        " Every result table behind this report is in the results folder named in the provenance "
        "appendix, and the long ones can be downloaded from the HTML version of this report."
    )
    if res.synthetic:
        return (
            "The RDM files are synthetic, written by `python -m analysis demo` and regenerated "
            f"from their seed by `make demo`.{tail}"
        )
    if not res.declared:
        return (
            "The study file does not say where its RDM files come from or under which licence (it "
            "has no `dataset` section); the provenance appendix identifies every input file by "
            f"its size and SHA-256 checksum.{tail}"
        )
    name = md(data["name"]) if data.get("name") else "The RDM files"
    where = data_source(res)
    text = f"{name}{' ' + cite if cite else ''}: "
    text += (
        f"the files are available at {where}"
        if where
        else "the study file does not say where the files are available"
    )
    licence = str(data.get("licence") or "").strip()
    text += (
        f", under {md(licence)}." if licence else "; the study file does not name their licence."
    )
    return text + tail


def code_availability(res: Results) -> str:
    """Repository and commit the results were computed with (from the manifest)."""
    project = res.manifest.get("project") or {}
    commit = project.get("git_commit") or "not recorded"
    dirty = " with uncommitted changes" if project.get("git_dirty") else ""
    url = repository_url()
    where = f"the repository at <{url}>" if url else "this project's git repository"
    licence = load_paper().license or citation_file().get("license") or "MIT"
    return (
        f"The analysis and this report are open source ({licence} licence) in {where}. The results "
        f"were computed at commit `{commit}`{dirty} (version {project.get('version', 'unknown')}); "
        "`make report` rebuilds them and this document from the data."
    )


def _year() -> str:
    """The year of this render (the report is dated the day it is rendered, `date: today`)."""
    return str(datetime.date.today().year)


def paper_metadata(res: Results) -> Paper:
    """The paper's metadata (report/_metadata.yml); where it sets no title, the title block's:
    the study's title and a subtitle naming its data set, as both renderers show them."""
    paper = load_paper()
    if paper.title:
        return paper
    block = document_metadata(res.manifest)
    return dataclasses.replace(paper, title=block["title"], subtitle=block["subtitle"])


def bibtex(res: Results) -> str:
    """A BibTeX entry for the report, from report/_metadata.yml and the manifest."""
    project = res.manifest.get("project") or {}
    commit = project.get("git_commit")
    return metadata_bibtex(
        paper_metadata(res),
        _year(),
        version=str(project.get("version") or ""),
        note=f"Computed at commit {commit}" if commit else "",
        url=repository_url() or "",
    )


def how_to_cite(res: Results) -> str:
    """The reference in words and in BibTeX (same text in HTML and PDF), and what else to cite."""
    paper = paper_metadata(res)
    version = str((res.manifest.get("project") or {}).get("version") or "")
    reference = citation_text(paper, _year(), version, url=repository_url() or "")
    doi = (
        ""
        if paper.doi
        else " This report has no DOI yet: archive a GitHub release with Zenodo and put its DOI in "
        "`report/_metadata.yml` (see the README)."
    )
    data = data_citation(res)
    also = f"the data {data} and the methods" if data else "the methods"
    title_from = (
        "Title, authors"
        if load_paper().title
        else "The title is the study's (set `title` there to choose your own); authors"
    )
    return (
        f"Cite this report as:\n\n{reference}\n\n"
        f"Please also cite {also} it builds on "
        "[@kriegeskorte2008rsa; @schutt2023statistical; @vandenbosch2025rsatoolbox]. "
        f"{title_from}, keywords, licence and DOI come from `report/_metadata.yml`; "
        f"`CITATION.cff` says the same (GitHub shows it under 'Cite this repository').{doi} "
        "In BibTeX:\n\n" + bibtex(res)
    )


def results_note(res: Results) -> str:
    """The sentence under the Results heading: what bars and intervals are, throughout."""
    text = ["Throughout, bars and points are point estimates"]
    if len(res.subjects) > 1 and res.grouped_atlases():
        text.append("shaded bands in line plots are ±1 standard error of the mean across subjects")
    if res.has_inference:
        kind = "bootstrap over images" if res.over_images_only else "dual bootstrap"
        text.append(f"error bars in the inferential figures are t intervals from the {kind}")
    if res.has_ceiling:
        text.append("grey bands the noise ceiling")
    return (
        "; ".join(text)
        + ". Colours stand for ROI groups or networks, never for single layers or models, and "
        "every caption names the table it draws."
    )
