"""Property-based: any valid study, analysed, builds every figure, table and sentence of the report
(index.qmd's own cells, run in this process) without a failed cell, an empty panel, a table without
rows or a reference to a part the report does not have; names print as written; the prose says
only what the study and its data show."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pypandoc
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analysis.pipeline.run import run
from analysis.schema import METHODS
from report import parts
from report.results import load_results
from tests.report.cells import build
from tests.studies import AtlasShape, NetworkShape, StudyShape, write_study

#: Characters of generated names: letters, digits, spaces, Markdown/LaTeX/HTML syntax, and unicode
#: that the PDF's fonts have for the names the study file gives (title, subjects, atlases,
#: networks, groups). ROI and layer names come from the RDM files, which rsatoolbox writes as ASCII.
ASCII_ALPHABET = "abcXYZ019 *_#<>&$\"'|@[]()~^{}%\\-."
NAME_ALPHABET = ASCII_ALPHABET + "éüßαβ→"


def _names(alphabet: str) -> st.SearchStrategy[str]:
    return (
        st.text(alphabet, min_size=1, max_size=10)
        .map(lambda s: " ".join(s.split()))
        .filter(lambda s: bool(s) and not s.startswith("-"))
    )


NAMES = _names(NAME_ALPHABET)
FILE_NAMES = _names(ASCII_ALPHABET)
#: Generated studies per run: 6 fixed ones in `make test` (about 1.5 min on 2 cores); set
#: RSA_ANY_STUDY_EXAMPLES=N for N new random ones.
EXAMPLES = int(os.environ.get("RSA_ANY_STUDY_EXAMPLES", "6"))
#: A declared data set (its words must reach the report; it names none of PROVENANCE_WORDS).
EXAMPLE_DATASET = {
    "name": "Example *RDM* deposit",
    "doi": "10.1234/example.5678",
    "licence": "CC BY 4.0",
    "cite": ["kriegeskorte2008rsa"],
    "subjects": "Volunteers <18–40 years> & friends.",
    "rdms": "Crossnobis distances.",
    "acknowledgements": "We thank the example lab.",
}
#: Words that only a study's `dataset` section may bring into the report.
PROVENANCE_WORDS = ("BOLD5000", "fMRI", "participants", "Dryad", "CC0")
#: Cells about this software rather than the data (its own citation, issue 20's).
SOFTWARE_CELLS = ("how-to-cite", "code-availability")


def _unique(draw, strategy, n: int, taken: set[str]) -> tuple[str, ...]:
    out = []
    while len(out) < n:
        name = draw(strategy)
        if name.casefold() not in taken:
            taken.add(name.casefold())
            out.append(name)
    return tuple(out)


@st.composite
def study_shapes(draw) -> StudyShape:
    """Any valid study: 1–4 subjects (the last may have fewer images), 1–3 atlases with or without
    groups (one ROI possible), group means or not, 1–4 networks of 1–19 layers or models, any
    method, no bootstrap or a few samples, either alignment, names with syntax characters."""
    taken: set[str] = set()
    subjects = _unique(draw, NAMES, draw(st.integers(1, 4)), taken)
    n_atlases = draw(st.integers(1, 3))
    single = n_atlases == 1 and draw(st.booleans())
    atlas_names = ("default",) if single else _unique(draw, NAMES, n_atlases, set(taken))
    atlases = []
    for name in atlas_names:
        rois = _unique(draw, FILE_NAMES, draw(st.integers(1, 4)), set())
        groups: tuple = ()
        if draw(st.booleans()):
            cut = draw(st.integers(1, len(rois)))
            group_names = _unique(draw, NAMES, 2, set())
            groups = ((group_names[0], rois[:cut]),) + (
                ((group_names[1], rois[cut:]),) if cut < len(rois) else ()
            )
        atlases.append(AtlasShape(name, rois, groups))
    networks = []
    for name in _unique(draw, NAMES, draw(st.integers(1, 4)), set()):
        layers = _unique(draw, FILE_NAMES, draw(st.integers(1, 19)), set())
        networks.append(NetworkShape(name, layers, draw(st.booleans())))
    return StudyShape(
        subjects=subjects,
        atlases=tuple(atlases),
        networks=tuple(networks),
        title=draw(NAMES),
        n_images=draw(st.integers(12, 16)),
        fewer_images=draw(st.sampled_from([0, 0, 2])),
        group_means=draw(st.booleans()),
        method=draw(st.sampled_from(METHODS)),
        samples=draw(st.sampled_from([0, 0, 6])),
        align=draw(st.sampled_from(["common", "per-subject"])),
        dataset=draw(st.sampled_from([{}, EXAMPLE_DATASET])),
        seed=draw(st.integers(0, 3)),
    )


def _plain(markdown: str) -> str:
    """What a reader reads: the report's Markdown through pandoc to plain text, spaces collapsed."""
    text = pypandoc.convert_text(markdown, "plain", format="markdown", extra_args=["--wrap=none"])
    return " ".join(text.split())


def _tables_have_rows(built) -> list[str]:
    """tbl- cells that printed a Markdown table without body rows."""
    empty = []
    for cell in built.cells:
        lines = [line for line in cell.text.splitlines() if line.startswith("|")]
        if cell.label.startswith("tbl-") and cell.text.strip() and len(lines) < 3:
            empty.append(cell.label)
        if cell.label.startswith("tbl-") and cell.text and not cell.text.strip():
            empty.append(cell.label)  # a blank table cell: Quarto's typst filter fails on it
    return empty


def check_report(shape: StudyShape, folder: Path) -> None:
    """Analyse `shape` and build the whole report package from it; assert what a reader needs."""
    study = write_study(shape, folder / "study")
    out = folder / "results"
    run(study, out, samples=shape.samples)
    res = load_results(out)
    built = build(out)
    assert built.dangling() == [], "references to parts the report does not have"
    empty = [(c.label, c.empty_axes) for c in built.cells if c.empty_axes]
    assert empty == [], f"empty panels: {empty}"
    assert _tables_have_rows(built) == []
    drawn = {c.label for c in built.cells if c.figures}
    printed = {c.label for c in built.cells if c.text.strip()}
    absent = parts.reasons(res)
    for label in absent:
        assert label not in drawn and label not in printed, f"{label} drawn though absent"
    for cell in built.cells:
        if cell.label.startswith("fig-") and cell.label not in absent:
            assert cell.figures == 1, f"{cell.label} drew {cell.figures} figures"
    text = "\n".join(c.text for c in built.cells)
    for reason in set(absent.values()):
        assert reason in text, f"missing: {reason}"
    plain = _plain(built.text)
    assert not re.search(r"\bnan\b", plain, re.IGNORECASE)
    for name in [shape.title, *shape.subjects, *(n.name for n in shape.networks)]:
        assert " ".join(name.split()) in plain, f"name {name!r} does not print as written"
    reader = built.markdown + "\n".join(
        c.text for c in built.cells if c.label not in SOFTWARE_CELLS
    )
    reader = re.sub(r"\[@[^\]]*\]|@\w+", "", reader)  # citation keys are not prose
    for word in PROVENANCE_WORDS:
        assert word not in reader, f"'{word}' in a report whose study declares no data set"
    for network in shape.networks:
        if not network.ordered:
            assert f"last layer of {network.name}" not in plain
    if shape.dataset:
        for key in ("name", "licence", "subjects", "rdms", "acknowledgements"):
            assert shape.dataset[key].rstrip(".") in plain, key
    else:
        assert "does not say where its RDM files come from" in plain
    if shape.samples == 0:
        assert "no intervals or tests" in plain
    if len(shape.subjects) == 1 and shape.samples:
        assert "not over people" in plain


A = AtlasShape
N = NetworkShape


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="RSA_ANY_STUDY_EXAMPLES" not in os.environ,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
        HealthCheck.data_too_large,
    ],
)
@given(shape=study_shapes())
@example(  # the failures: an atlas without groups, one subject, a set of models
    shape=StudyShape(
        ("CSI 1",),
        (A("atlas <1>", ("V1", "V2")),),
        (N("Models", ("animacy", "IT"), False),),
        samples=6,
    )
)
@example(  # Kriegeskorte-like: 4 subjects, one ROI, 8 unordered models, spearman
    shape=StudyShape(
        ("s1", "s2", "s3", "s4"),
        (A("default", ("hIT",)),),
        (N("models", tuple(f"m{i}" for i in range(8)), False),),
        method="spearman",
        samples=6,
    )
)
def test_any_study_builds_a_report_that_says_only_what_is_true(shape, tmp_path_factory):
    check_report(shape, tmp_path_factory.mktemp("any"))


def test_generated_names_survive_the_study_file_and_the_hdf5_files(tmp_path):
    """The generator itself: names with syntax characters and unicode come back from the results."""
    shape = StudyShape(
        ('s "1" *', "s_2 é"),
        (A("a & b", ("r|1", "r$2$"), (("g#1", ("r|1", "r$2$")),)),),
        (N("n<1>", ("l@1", "l[2]")),),
        title="T *x* _y_ #1 <b> & $5 é",
    )
    run(write_study(shape, tmp_path / "study"), tmp_path / "out", samples=0)
    res = load_results(tmp_path / "out")
    assert res.subjects == list(shape.subjects)
    assert res.rois("a & b") == ["r|1", "r$2$"]
    assert res.layers("n<1>") == ["l@1", "l[2]"]
    assert res.manifest["title"] == shape.title


def test_plain_text_check_can_fail():
    """A name printed without escaping does not read as written (the property above can fail)."""
    assert "a*b*c" not in _plain("a*b*c")


def test_rdm_example_sources_agree_with_images_csv(tmp_path):
    """Figure 4 under images.match stem-casefold (networks spell names in lower case without
    extension): the figure's source labels are the table's, every one counted in images.csv, and
    every COCO image is labelled COCO (it was 'Scene' when sources were matched on the folded
    key)."""
    import matplotlib.pyplot as plt

    from report import geometry_figures
    from tests.study_shapes import Shape, write_shape_study

    study = write_shape_study(
        tmp_path / "study", Shape(match="stem-casefold", network_spelling="varied", n_images=24)
    )
    run(study, tmp_path / "out", samples=0)
    res = load_results(tmp_path / "out")
    examples, images = res.table("rdm_examples"), res.table("images")
    counted = set(images.loc[(images["source"] != "all") & (images["images_kept"] > 0), "source"])
    shown = set(examples["source_a"]) | set(examples["source_b"])
    assert shown == {"COCO", "ImageNet", "Scene"} and shown <= counted
    for column in ("a", "b"):
        coco = examples[f"image_{column}"].str.casefold().str.startswith("coco_")
        assert (examples.loc[coco, f"source_{column}"] == "COCO").all()
        assert (examples.loc[~coco, f"source_{column}"] != "COCO").all()
    fig = geometry_figures.rdm_examples_figure(res)
    try:
        labels = {t.get_text() for ax in fig.axes for t in ax.get_yticklabels() if t.get_text()}
        assert labels == shown
    finally:
        plt.close(fig)
