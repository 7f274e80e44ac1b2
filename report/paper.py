"""The paper's prose that depends on the study: methods, limitations, data and code
availability and how to cite. Every number comes from the manifest or a result table."""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata

import numpy as np
import pandas as pd
import yaml

from analysis.schema import CORRECTIONS, METHOD_DESCRIPTIONS

from .metadata import bibtex as metadata_bibtex
from .metadata import citation_text, load_paper
from .results import Results, project_root
from .sentences import dof, join, plural, t_critical
from .style import measure_label

DRYAD_DOI = "10.5061/dryad.wpzgmsbtr"
DATA_LICENCE = "CC0 1.0 (public-domain dedication), Dryad's licence for every deposit"
MATCH_WORDS = {
    "exact": "Image names were matched exactly. ",
    "stem-casefold": (
        "Image names were matched without folders, file extension and letter case "
        "(`images.match: stem-casefold`). "
    ),
}


def data_paragraph(res: Results) -> str:
    """Where the data come from and which files were read."""
    m = res.manifest
    n_subject_files = sum(1 for i in m["inputs"] if i.get("role") == "subject")
    n_network_files = sum(1 for i in m["inputs"] if i.get("role") == "network")
    atlases = (
        ""
        if res.default_atlas_only
        else (
            f" The ROIs come from {plural(len(res.atlases), 'atlas', 'atlases')} "
            f"({join(res.atlases)}), each analysed on its own."
        )
    )
    source = (
        "They are synthetic files shaped like the deposit, written by `python -m analysis demo`."
        if res.synthetic
        else f"They were downloaded from the Dryad deposit (doi [{DRYAD_DOI}](https://doi.org/{DRYAD_DOI}))."
    )
    return (
        "The RDMs come from the BOLD5000 ROIs and RDMs for neural network research "
        "[@pickard2023bold5000], derived from BOLD5000 [@chang2019bold5000; "
        "@chang2021bold5000], in which four participants viewed about 5000 natural images "
        "from three sources (COCO, ImageNet and scene databases). Each brain file holds one "
        "RDM per region of interest (ROI) for one subject, computed from that subject's "
        "voxel patterns; each network file holds one RDM per layer of a pretrained network. "
        f"This analysis read {plural(n_subject_files, 'brain file')} "
        f"({plural(len(res.subjects), 'subject')}: {join(res.subjects)}) and "
        f"{plural(n_network_files, 'network file')} ({join(res.networks)}). {source}{atlases} "
        "@tbl-study summarises the study and @tbl-inputs lists every file with its SHA-256 "
        "checksum; the provenance appendix gives the full checksums and sizes."
    )


def alignment_paragraph(res: Results) -> str:
    """How the files were aligned to common images, and what that cost."""
    m = res.manifest
    inputs = m["inputs"]
    n = m.get("n_common_images")
    most = max(inputs, key=lambda i: int(i.get("images_dropped", 0)))
    least = min(inputs, key=lambda i: int(i.get("images_in_file", 0)))
    match = str(((m.get("study") or {}).get("images") or {}).get("match", "exact"))
    text = (
        "RDMs can only be compared over the same images in the same order. Every file was "
        f"therefore reduced to the images present in all of them, {n} images, sorted by name, and "
        "each RDM's rows and columns were reordered to that list. No dissimilarity is recomputed; "
        "entries for other images are dropped. "
        f"{MATCH_WORDS.get(match, '')}The "
        f"smallest file, {least.get('name')} ({least.get('images_in_file')} images), bounds the "
        f"common set; the largest loss is in {most.get('name')}, which kept "
        f"{most.get('images_kept')} of its {most.get('images_in_file')} images. "
    )
    if res.table("images") is not None:
        text += (
            "@tbl-images breaks the kept and dropped images down by image source, so a reader can "
            "see whether the alignment changed the mix of COCO, ImageNet and scene images."
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
            + "; ".join(f"{join(tables)}: {images}" for images, tables in by_set.items())
            + "."
        )
    return text


def comparison_paragraph(res: Results) -> str:
    """The comparison method in words."""
    words = METHOD_DESCRIPTIONS.get(res.method, f"rsatoolbox's `{res.method}` comparison")
    group_mean = ""
    if res.table("group_mean") is not None:
        group_mean = (
            " The deposit also provides group-mean RDMs per ROI; their "
            "comparisons with every layer are in `group_mean.csv`."
        )
        agreement = [
            v
            for atlas in (res.manifest.get("group_mean_agreement") or {}).values()
            for v in atlas.values()
        ]
        if agreement:
            group_mean += (
                f" Those group-mean RDMs correlate with our own subject averages at Pearson r = "
                f"{min(agreement):.3f}–{max(agreement):.3f} over {len(agreement)} ROIs."
            )
    return (
        f"Each ROI RDM was compared with each layer RDM by {words}; the report calls this value "
        f"*{measure_label(res.method)}*. The comparisons reproduce rsatoolbox's `compare` "
        "[@vandenbosch2025rsatoolbox] to within 10⁻⁹ (the test suite checks it on the same "
        "inputs). Values are computed per subject (`per_subject.csv`) and for ROI RDMs averaged "
        "over subjects after alignment (`joint.csv`), which are less noisy than any single "
        "subject's. For ROI groups, each subject's values are averaged over the group's ROIs, and "
        f"the mean and standard error across subjects are reported (`by_group.csv`).{group_mean}"
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
    if res.table("peak_layer") is not None:
        extra.append(
            "For each ROI and network, the layer with the highest value was recorded "
            "in every bootstrap sample; the share of samples in which a layer is the "
            "best (`peak_layer.csv`) says how certain the peak layer is."
        )
    if res.table("network_comparison") is not None:
        extra.append(
            "Networks are compared through their best layers: in every sample each "
            "network's best layer in that sample is taken, so that choosing the layer "
            "is part of the uncertainty, and the difference between two networks gets "
            "a t interval and test like any other value (`network_comparison.csv`)."
        )
    return (
        "Uncertainty comes from a dual bootstrap over images and subjects "
        f"[@schutt2023statistical] with {params.get('samples')} samples (seed "
        f"{params.get('seed')}), computed exactly as rsatoolbox's `eval_dual_bootstrap`: each "
        "sample resamples images and subjects with replacement, pairs between copies of one image "
        "are left out, and the variances of the subject-only, image-only and joint bootstraps are "
        "combined with the two-factor correction of @schutt2023statistical. Tests are t tests on "
        f"this corrected variance with {degrees} degrees of freedom (subjects − 1), two-sided at α "
        f"= {boot.get('alpha', 0.05)}: against zero, against the lower bound of the noise ceiling, "
        "and between every two layers of a network, corrected for multiple comparisons within "
        f"each ROI with {correction} [@benjamini1995controlling]. **Intervals** are t intervals "
        "from the same variance and degrees of freedom (rsatoolbox's `Result.get_ci`), at the "
        "level at which an interval excludes zero exactly when its value is marked significant: "
        "95% without correction, adjusted for the number of tests otherwise (Bonferroni, or "
        "false-coverage-rate intervals under the false discovery rate [@benjamini2005false]). "
        f"With {degrees} degrees of freedom even an uncorrected 95% interval is "
        f"±{t_critical(degrees):.2f} standard errors wide.{coverage(res)} The **noise ceiling** "
        "[@nili2014toolbox] bounds what any model could reach given the variability between "
        "subjects: its upper bound is the mean similarity of each subject's RDM with the average "
        "of all subjects, its lower bound the same with the average of the other subjects. Values "
        "divided by the lower bound (*r / lower ceiling*) are given where that bound is positive. "
        + " ".join(extra)
        + f" {usable}"
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
        "The results folder has no inferential tables (`inference.csv`, "
        "`noise_ceiling.csv`, `pairwise.csv`): the analysis ran with "
        f"{res.manifest.get('parameters', {}).get('samples')} bootstrap samples, so no "
        "intervals or tests were computed and the findings below describe point estimates "
        "only. Run `python -m analysis run` with `--samples 1000` (the default) to add them."
    )


def figures_paragraph(res: Results) -> str:
    """How the second-order map and the relative-depth axis are made."""
    text = (
        "To compare networks of different depth, each layer is placed at its *relative "
        "depth*: its position in the network divided by the number of layers minus "
        "one, 0 for the first layer and 1 for the last. Relative depth orders layers; "
        "it does not say that two networks compute the same thing at the same value."
    )
    if res.table("second_order") is not None:
        text += (
            " For the second-order map, every subject-averaged ROI RDM and every layer "
            "RDM of an atlas were compared with each other with the same "
            f"{measure_label(res.method)} (`second_order.csv`); 1 − similarity was "
            "embedded in two dimensions by classical multidimensional scaling "
            "[@torgerson1952multidimensional], so RDMs that are alike lie close together."
        )
    return text


def software_paragraph(res: Results) -> str:
    """Versions of the analysis (from the manifest) and
    of the report's own libraries (at render time)."""
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
        f"{', '.join(report)} [@hunter2007matplotlib; @waskom2021seaborn]. The provenance "
        "appendix lists the command, parameters and cache keys."
    )


def limitations(res: Results) -> list[str]:
    """What the data cannot show, with this study's numbers."""
    n = len(res.subjects)
    degrees = dof(res)
    items = [
        f"**Few subjects.** There are {plural(n, 'subject')}, and the subject bootstrap draws "
        f"from them: every test has {degrees} degrees of freedom, and a 95% interval is "
        f"±{t_critical(degrees):.1f} standard errors wide. Effects that vary between people "
        "cannot be estimated, and generalisation to the population rests on very few people.",
        f"**The test against the noise ceiling has almost no power.** With {degrees} "
        f"degrees of freedom, a model must lie about {t_critical(degrees):.1f} "
        "standard errors below the lower bound to be called significantly below it. "
        "'Not significantly below the ceiling' is therefore weak evidence; it does "
        "not mean that a layer explains all explainable variance.",
        "**The RDMs are not cross-validated.** The deposit's RDMs are correlation "
        "distances between single pattern estimates, so measurement noise inflates every "
        "dissimilarity and differs between ROIs and subjects [@walther2016reliability]. "
        "Comparisons with correlation-type measures are partly robust to a uniform "
        "offset, not to noise that varies across image pairs; cross-validated distances "
        "would remove this bias but need the voxel data.",
        "**Hemispheres are pooled in the groups.** ROIs are defined per "
        "hemisphere, but the ROI groups (from the study file) average left "
        "and right ROIs; both come from the same subjects, so they are not "
        "independent replications, and hemispheric differences are not tested.",
        "**Images are confounded with source and with training.** The image sources "
        "differ in content and statistics (see the RDMs ordered by source), so part "
        "of every RDM reflects source; and ImageNet-trained networks have seen "
        "ImageNet images, some of which may be among the stimuli.",
    ]
    if len(res.atlases) > 1:
        items.append(
            "**Atlases overlap.** ROIs of different atlases cover overlapping cortex, "
            "so results from different atlases are not independent evidence; multiple "
            "comparisons are corrected within each ROI, not across atlases or networks."
        )
    if any(int(i.get("images_dropped", 0)) for i in res.manifest.get("inputs", [])):
        items.append(
            "**Only common images are used.** Restricting every file to "
            f"the {res.manifest.get('n_common_images')} images all files "
            "share discards data from the subjects who saw more images."
        )
    items.append(
        "**Fixed models.** Each layer's RDM is used as it is, without fitting or weighting "
        "features, and relative depth is a position, not a measure of processing stage."
    )
    return items


def repository_url() -> str | None:
    """The public repository: GitHub Actions'
    GITHUB_REPOSITORY, else CITATION.cff's repository-code."""
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
    """Where the data are, under which licence."""
    text = (
        "The RDM files are openly available on Dryad, doi "
        f"[{DRYAD_DOI}](https://doi.org/{DRYAD_DOI}) [@pickard2023bold5000], under "
        f"{DATA_LICENCE}. The underlying BOLD5000 data are described by @chang2019bold5000 "
        "and released as BOLD5000 Release 2.0 [@chang2021bold5000]. Every result table "
        "behind this report is in the results folder named in the provenance appendix, "
        "and the long ones can be downloaded from the HTML version of this report."
    )
    if res.synthetic:
        text += (
            " This build used synthetic demo files instead, regenerated from their seed by "
            "`make demo`."
        )
    return text


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


def bibtex(res: Results) -> str:
    """A BibTeX entry for the report, from report/_metadata.yml and the manifest."""
    project = res.manifest.get("project") or {}
    commit = project.get("git_commit")
    return metadata_bibtex(
        load_paper(),
        _year(),
        version=str(project.get("version") or ""),
        note=f"Computed at commit {commit}" if commit else "",
        url=repository_url() or "",
    )


def how_to_cite(res: Results) -> str:
    """The reference in words and in BibTeX (same text in HTML and PDF), and what else to cite."""
    paper = load_paper()
    version = str((res.manifest.get("project") or {}).get("version") or "")
    reference = citation_text(paper, _year(), version, url=repository_url() or "")
    doi = (
        ""
        if paper.doi
        else " This report has no DOI yet: archive a GitHub release with Zenodo and put its DOI in "
        "`report/_metadata.yml` (see the README)."
    )
    return (
        f"Cite this report as:\n\n{reference}\n\n"
        "Please also cite the data [@pickard2023bold5000; @chang2021bold5000] and the methods it "
        "builds on [@kriegeskorte2008rsa; @schutt2023statistical; @vandenbosch2025rsatoolbox]. "
        "Title, authors, keywords, licence and DOI come from `report/_metadata.yml`; "
        f"`CITATION.cff` says the same (GitHub shows it under 'Cite this repository').{doi} "
        "In BibTeX:\n\n" + bibtex(res)
    )


def results_note(res: Results) -> str:
    """The sentence under the Results heading: what bars and intervals are, throughout."""
    return (
        "Throughout, bars and points are point estimates; shaded bands in line "
        "plots are ±1 standard error of the mean across subjects; error bars in "
        "the inferential figures are t intervals from the dual bootstrap, and "
        "grey bands the noise ceiling. Colours stand for ROI groups or networks, "
        "never for single layers, and every caption names the table it draws."
    )
