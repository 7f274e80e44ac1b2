"""The report stays a readable paper at the deposit's size: several atlases, four networks of 5–19
layers, four subjects (one with fewer images), group-mean files. The deposit-shaped demo study is
analysed and rendered through the fallback renderer."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_PAGES = 40


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("scale")
    subprocess.run(
        [sys.executable, "-m", "analysis", "demo", str(base / "study"), "--shape", "deposit"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )
    results = base / "results"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "run",
            str(base / "study" / "study.yml"),
            "--out",
            str(results),
            "--samples",
            "100",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=900,
    )
    project = base / "project"
    project.mkdir()
    for name in ("report",):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("_quarto.yml", "references.bib", "CITATION.cff"):
        shutil.copy2(ROOT / name, project / name)
    env = {**os.environ, "RSA_RESULTS": str(results)}
    proc = subprocess.run(
        [sys.executable, "-m", "qmdrender", "--project", str(project)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return project / "_output", results


def test_pdf_stays_under_forty_pages(rendered):
    output, results = rendered
    manifest = json.loads((results / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["order"]["atlases"]) == 3 and len(manifest["order"]["networks"]) == 4
    pages = len(pypdf.PdfReader(output / "index.pdf").pages)
    assert pages < MAX_PAGES, pages


def test_pdf_has_the_papers_sections_and_a_bibtex_entry(rendered):
    output, _ = rendered
    text = subprocess.run(
        ["pdftotext", str(output / "index.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    for heading in (
        "Abstract",
        "Methods",
        "Results",
        "Limitations",
        "Data availability",
        "Code availability",
        "How to cite",
        "Acknowledgements",
        "References",
        "Appendix",
    ):
        assert heading in text, heading
    assert "@techreport{" in text
    # the demo's study file has no dataset section: nothing about where real data come from
    assert "CC0 1.0" not in text and "downloaded from the Dryad" not in text


def test_html_offers_every_long_table_in_full(rendered):
    output, results = rendered
    page = (output / "index.html").read_text(encoding="utf-8")
    links = dict(
        re.findall(r'<a download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([^"]+)"', page)
    )
    assert {
        "pairwise.csv",
        "inference.csv",
        "network_comparison.csv",
        "peak_layer.csv",
        "joint.csv",
    } <= set(links)
    assert base64.b64decode(links["pairwise.csv"]) == (results / "pairwise.csv").read_bytes()
    assert page.count('<details class="rsa-table">') == len(links)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")
def test_collapsed_table_fills_in_a_browser(rendered, tmp_path):
    page = (rendered[0] / "index.html").read_text(encoding="utf-8")
    opened = tmp_path / "opened.html"
    opened.write_text(
        page.replace('<details class="rsa-table">', '<details class="rsa-table" open>', 1),
        encoding="utf-8",
    )
    dom = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--dump-dom",
            opened.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    body = dom.split('class="rsa-table-body"', 1)[1].split("</details>", 1)[0]
    assert body.count("<tr>") > 100


def test_deposit_figures_have_no_overlapping_ticks_and_short_legends(rendered):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from report import style
    from report.results import load_results
    from tests.helpers import report_figure
    from tests.report.test_tables_and_figures import FIGURES

    res = load_results(rendered[1])
    for name in FIGURES:
        fig = report_figure(name)(res)
        assert style.overlapping_tick_labels(fig) == [], name
        assert all(len(legend.get_texts()) <= style.MAX_LEGEND_ENTRIES for legend in fig.legends), (
            name
        )
        plt.close(fig)
