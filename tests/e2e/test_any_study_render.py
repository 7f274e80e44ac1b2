"""Full renders of extreme study shapes under both renderers (tools/render.py, as `make render`):
one subject with a set of models and odd names; several subjects with a declared data set, atlases
with and without groups, a one-layer network and no bootstrap. Both must give an HTML and a PDF
that print the names as written and say only what the study declares."""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import pytest

from analysis.pipeline.run import run
from tests.e2e.test_renderers import RENDERERS, checkout, render
from tests.studies import AtlasShape, NetworkShape, StudyShape, write_study
from tools.render import user_metadata

ODD = StudyShape(
    subjects=("CSI *1* é",),
    atlases=(AtlasShape("atlas <&> $x$", ("V1_L", "V1_R", "IT #2")),),
    networks=(
        NetworkShape("Models_[92]", ("animacy", "face|body", "RADON"), ordered=False),
        NetworkShape("one-layer net", ("fc_8",)),
    ),
    title='[draft] A "quoted": *title* _with_ #hash <b> & $5 — ünïcode',  # not valid YAML
    samples=6,
)
DECLARED = StudyShape(
    subjects=("s1", "s2", "s3"),
    atlases=(
        AtlasShape(
            "grouped",
            ("LHV1", "RHV1", "LHLOC", "RHLOC"),
            (("early", ("LHV1", "RHV1")), ("late", ("LHLOC", "RHLOC"))),
        ),
        AtlasShape("loose", ("a", "b")),
    ),
    networks=(
        NetworkShape("net A", ("c1", "c2", "c3")),
        NetworkShape("net B", ("only",)),
    ),
    title="Declared data",
    fewer_images=2,
    group_means=True,
    method="spearman",
    samples=0,
    align="per-subject",
    dataset={
        "name": "Example RDM deposit",
        "doi": "10.1234/example.5678",
        "licence": "CC BY 4.0",
        "cite": ["kriegeskorte2008rsa"],
        "subjects": "Three volunteers.",
        "rdms": "Crossnobis distances between condition patterns.",
        "acknowledgements": "We thank the example lab.",
    },
)
SHAPES = {"odd": ODD, "declared": DECLARED}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return checkout(tmp_path_factory.mktemp("any-render") / "project")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for name, shape in SHAPES.items():
        folder = tmp_path_factory.mktemp(name)
        out[name] = run(write_study(shape, folder / "study"), folder / "results").out
    return out


def _pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())


#: (shape, renderer): the odd shape under both renderers, the declared one under the fallback (each
#: Quarto render takes a minute or more; tests/report/test_any_study.py covers the shapes' prose).
CASES = [
    ("odd", "qmdrender"),
    pytest.param("odd", *RENDERERS[1].values, marks=RENDERERS[1].marks),
    ("declared", "qmdrender"),
]


@pytest.mark.parametrize(("name", "renderer"), CASES)
def test_extreme_shapes_render_with_names_and_provenance_as_declared(
    project, analysed, name, renderer
):
    shape = SHAPES[name]
    done = render(project, analysed[name], renderer)
    assert done.returncode == 0, done.stderr[-2000:]
    page = (project / "_output" / "index.html").read_text(encoding="utf-8")
    pdf = _pdf_text(project / "_output" / "index.pdf")
    title = str(user_metadata().get("title") or shape.title)  # the paper's title wins
    assert f'<h1 class="title">{html.escape(title, quote=False)}</h1>' in page.replace(
        "&quot;", '"'
    )
    assert title in pdf and shape.title in pdf  # the study's title is in Table 1 at least
    for label in (*shape.subjects, *(n.name for n in shape.networks)):
        assert label in pdf, label
    assert "???" not in pdf and "Traceback" not in page and "Error" not in pdf
    # the report's own text: from the abstract to How to cite (the title block, keywords and
    # citation are the paper's metadata, report/_metadata.yml, issue 20's)
    prose = pdf.split("We compared the representational", 1)[1].split("How to cite")[0]
    if name == "odd":
        for word in ("BOLD5000", "fMRI", "participants", "Dryad", "CC0"):
            assert word not in prose, word
        assert "not over people" in pdf
        assert "no noise ceiling" in pdf.lower()
        assert "last layer of Models" not in pdf
        assert "does not say where its RDM files come from" in pdf
    else:
        assert "Example RDM deposit" in pdf and "CC BY 4.0" in pdf
        assert "https://doi.org/10.1234/example.5678" in page
        assert "Crossnobis distances" in pdf and "We thank the example lab." in pdf
        assert "Hemispheres are pooled" in pdf
        assert re.search(r"no intervals or tests", pdf)
