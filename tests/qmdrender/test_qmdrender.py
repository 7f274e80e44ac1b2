"""The fallback renderer on small projects of its own: real kernel, pandoc and typst."""

from __future__ import annotations

import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

from qmdrender.errors import RenderError
from qmdrender.qmd import parse_document

ROOT = Path(__file__).resolve().parents[2]

QUARTO_YML = """\
project:
  type: default
  output-dir: _output
  render:
    - doc.qmd
bibliography: refs.bib
execute:
  echo: false
format:
  html:
    embed-resources: true
    toc: true
    number-sections: true
  typst:
    toc: true
    number-sections: true
    citeproc: true
"""

BIB = """\
@article{smith2020,
  author = {Smith, Ann},
  title = {A study of things},
  journal = {Journal of Tests},
  year = {2020},
  doi = {10.1234/test.2020}
}
"""

DOC = """\
---
title: "Tiny report"
---

# First

See @fig-line and @tbl-numbers, as argued by @smith2020. Inline math: $a^2 + b^2$.

{{< include _part.qmd >}}

```{python}
#| label: fig-line
#| fig-cap: "A straight line."
import matplotlib.pyplot as plt
plt.plot([0, 1], [0, 1]);
```

```{python}
#| label: tbl-numbers
#| tbl-cap: "Some numbers [@smith2020]."
#| output: asis
print("| x | y |\\n|---|---|\\n| 1 | 42.5 |")
```

::: {.callout-note}
## Remember
Callouts keep their title.
:::

# References {.unnumbered}

::: {#refs}
:::
"""

PART = """\
## Included part

```{python}
#| output: asis
print("Printed **markdown** from an included cell.")
```
"""


def make_project(
    folder: Path, doc: str = DOC, quarto_yml: str = QUARTO_YML, part: str = PART
) -> Path:
    """A tiny Quarto project in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_quarto.yml").write_text(quarto_yml, encoding="utf-8")
    (folder / "refs.bib").write_text(BIB, encoding="utf-8")
    (folder / "doc.qmd").write_text(doc, encoding="utf-8")
    (folder / "_part.qmd").write_text(part, encoding="utf-8")
    return folder


def render(folder: Path) -> subprocess.CompletedProcess:
    """``python -m qmdrender --project folder``."""
    return subprocess.run(
        [sys.executable, "-m", "qmdrender", "--project", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """The tiny project, rendered once."""
    folder = make_project(tmp_path_factory.mktemp("tiny") / "project")
    proc = render(folder)
    assert proc.returncode == 0, proc.stderr
    assert "Output created: " in proc.stdout
    return folder


def test_renders_html_and_pdf(rendered):
    assert sorted(p.name for p in (rendered / "_output").iterdir()) == ["doc.html", "doc.pdf"]
    assert not list(rendered.glob(".qmdrender-*")), "staging folder left behind"


def test_html_resolves_crossrefs_citations_and_includes(rendered):
    page = (rendered / "_output" / "doc.html").read_text(encoding="utf-8")
    assert '<a href="#fig-line">Figure\u00a01</a>' in page
    assert '<a href="#tbl-numbers">Table\u00a01</a>' in page
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page.split("<body", 1)[1], flags=re.S)
    text = " ".join(unescape(re.sub(r"<[^>]+>", "", body)).split())
    assert "Figure 1: A straight line." in text
    assert "Table 1: Some numbers (Smith 2020)." in text
    assert "Smith (2020)" in text and "A Study of Things" in text
    assert '(<a href="#ref-smith2020" role="doc-biblioref">Smith 2020</a>)' in page, (
        "citations link to the references"
    )
    assert 'id="ref-smith2020"' in page
    assert "Printed <strong>markdown</strong> from an included cell." in page
    assert "42.5" in page
    assert "???" not in page and "@fig-" not in page and "@smith2020" not in page
    assert "data:image/png;base64," in page
    assert "<math" in page and not re.search(r"<script[^>]*\bsrc=", page), (
        "MathML, no script from elsewhere"
    )
    assert "qmd-callout-note" in page and "Remember" in page


def test_pdf_has_numbered_figure_table_and_references(rendered):
    text = subprocess.run(
        ["pdftotext", "-layout", str(rendered / "_output" / "doc.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Tiny report" in text
    assert "Figure 1" in text and "Table 1" in text
    assert "A Study of Things" in text
    assert "Remember" in text


def test_parse_reads_cell_options_and_includes(tmp_path):
    folder = make_project(tmp_path)
    doc = parse_document(folder / "doc.qmd", folder)
    assert [c.options.get("label") for c in doc.cells] == [None, "fig-line", "tbl-numbers"]
    assert doc.cells[1].options["fig-cap"] == "A straight line."
    assert doc.cells[0].path == Path("_part.qmd")


@pytest.mark.parametrize(
    "snippet, message",
    [
        ("{{< pagebreak >}}", "unsupported shortcode"),
        ("```{r}\n1 + 1\n```", "unsupported executable cell"),
        ("```{python}\n#| fig-width: 3\n1\n```", "unsupported cell option 'fig-width'"),
        ("```{python}\n#| output: weird\n1\n```", "unsupported value output"),
        ("Value: `{python} 1 + 1`", "inline code expressions"),
        ("{{< include missing.qmd >}}", "included file 'missing.qmd' not found"),
    ],
)
def test_unsupported_source_syntax_fails_before_running(tmp_path, snippet, message):
    folder = make_project(tmp_path, doc=f"---\ntitle: t\n---\n\ntext\n\n{snippet}\n")
    with pytest.raises(RenderError, match=message):
        parse_document(folder / "doc.qmd", folder)


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return errors[0]


@pytest.mark.parametrize(
    "doc, message",
    [
        ("See @fig-nowhere.\n", "unresolved cross-reference '@fig-nowhere'"),
        ("See @sec-intro.\n", "unsupported cross-reference '@sec-intro'"),
        ("As in @nobody2000.\n", "unresolved citation @nobody2000"),
        ("::: {.panel-tabset}\nx\n:::\n", "unsupported div"),
        (
            "```{python}\n#| label: boom\nraise ValueError('bad value')\n```\n",
            "doc.qmd:4: cell boom failed: ValueError: bad value",
        ),
        (
            "```{python}\n#| label: fig-two\n#| fig-cap: two\nimport matplotlib.pyplot as plt\n"
            "plt.figure(); plt.plot([1]); plt.figure(); plt.plot([2]); plt.show()\n```\n",
            "must draw at most one figure",
        ),
        (
            "```{python}\n#| label: fig-none\n#| fig-cap: nothing\nx = 1\n```\nSee @fig-none.\n",
            "unresolved cross-reference '@fig-none'",
        ),
    ],
)
def test_render_errors_are_one_line_and_leave_output_alone(tmp_path, doc, message):
    folder = make_project(tmp_path, doc=f"---\ntitle: t\n---\n{doc}")
    (folder / "_output").mkdir()
    (folder / "_output" / "doc.html").write_text("previous complete render", encoding="utf-8")
    line = _one_error_line(render(folder))
    assert message in line
    assert line.startswith("error: doc.qmd")
    assert (folder / "_output" / "doc.html").read_text(
        encoding="utf-8"
    ) == "previous complete render"
    assert sorted(p.name for p in (folder / "_output").iterdir()) == ["doc.html"]
    assert not list(folder.glob(".qmdrender-*"))


@pytest.mark.parametrize(
    "config, message",
    [
        (
            QUARTO_YML.replace(
                "    toc: true\n    number-sections: true\n  typst", "    theme: cosmo\n  typst"
            ),
            "unsupported html option 'theme'",
        ),
        (QUARTO_YML.replace("    embed-resources: true\n", ""), "embed-resources: true"),
        (QUARTO_YML + "  docx: default\n", "unsupported format 'docx'"),
        (
            QUARTO_YML.replace("type: default", "type: website"),
            "unsupported project type 'website'",
        ),
        (QUARTO_YML + "filters:\n  - x.lua\n", "unsupported option 'filters'"),
    ],
)
def test_unsupported_project_options_fail_clearly(tmp_path, config, message):
    folder = make_project(tmp_path, quarto_yml=config)
    line = _one_error_line(render(folder))
    assert line.startswith("error: ") and "_quarto.yml" in line and message in line
    assert not (folder / "_output").exists()


def test_missing_project_file(tmp_path):
    line = _one_error_line(render(tmp_path))
    assert "_quarto.yml" in line and "no Quarto project" in line


def test_page_options_lightbox_includes_css_and_output_dir(tmp_path):
    """lightbox, include-in-header and css (paths relative
    to the project, as in Quarto), --output-dir."""
    config = QUARTO_YML.replace(
        "    toc: true\n    number-sections: true\n  typst",
        "    toc: true\n    number-sections: true\n    lightbox: true\n"
        "    include-in-header: web/head.html\n    css: web/extra.css\n  typst",
    )
    folder = make_project(tmp_path / "project", quarto_yml=config)
    (folder / "web").mkdir()
    (folder / "web" / "head.html").write_text(
        '<meta name="from-include" content="yes">\n', encoding="utf-8"
    )
    (folder / "web" / "extra.css").write_text(
        ".from-extra-css { color: teal; }\n", encoding="utf-8"
    )
    elsewhere = tmp_path / "elsewhere"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "qmdrender",
            "--project",
            str(folder),
            "--output-dir",
            str(elsewhere),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["doc.html", "doc.pdf"]
    assert not (folder / "_output").exists()
    page = (elsewhere / "doc.html").read_text(encoding="utf-8")
    assert '<meta name="from-include" content="yes">' in page and ".from-extra-css" in page
    assert "qmd-lightbox" in page, "lightbox: true adds the click-to-enlarge script"
    assert '<nav id="TOC" class="qmd-toc"' in page and '<main id="qmd-content"' in page
    assert '<div class="qmd-table-wrap">' in page


def test_without_lightbox_there_is_no_lightbox_script(rendered):
    assert "qmd-lightbox" not in (rendered / "_output" / "doc.html").read_text(encoding="utf-8")


def test_date_keywords_as_quarto_shows_them(tmp_path):
    folder = make_project(
        tmp_path,
        doc='---\ntitle: "Dated"\ndate: today\nabstract: '
        '"Short **abstract**."\n---\n\n# One\n\nText.\n',
    )
    proc = render(folder)
    assert proc.returncode == 0, proc.stderr
    import datetime

    today = datetime.date.today()
    page = (folder / "_output" / "doc.html").read_text(encoding="utf-8")
    assert f'<p class="date">{today:%B} {today.day}, {today.year}</p>' in page
    assert "Short <strong>abstract</strong>." in page
    pdf = subprocess.run(
        ["pdftotext", str(folder / "_output" / "doc.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert today.isoformat() in pdf and "Short abstract." in " ".join(pdf.split())
