"""The report rendered from real demo results through
the fallback renderer, checked in a real browser."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from report import tables
from tests.helpers import analysed

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ["_quarto.yml", "references.bib", "report"]
#: Elements and attributes that make a browser fetch something (plain <a href> links do not).
RESOURCE_ATTRS = {
    "img": ["src", "srcset"],
    "script": ["src"],
    "link": ["href"],
    "iframe": ["src"],
    "source": ["src", "srcset"],
    "video": ["src", "poster"],
    "audio": ["src"],
    "embed": ["src"],
    "object": ["data"],
    "track": ["src"],
    "input": ["src"],
    "image": ["href", "xlink:href"],
    "use": ["href", "xlink:href"],
}
REMOTE = re.compile(r"^\s*(https?:)?//", re.I)
#: Every figure cell of the report draws one figure when the results have the tables it needs.
FIGURES = sum(
    p.read_text(encoding="utf-8").count("#| label: fig-") for p in (ROOT / "report").glob("*.qmd")
)


def title_of(results: Path) -> str:
    """The report's title: the paper's (report/_metadata.yml) where it sets one, else the study's
    (tools/render.py passes it with -M title:...)."""
    from tools.render import user_metadata

    study = json.loads((results / "manifest.json").read_text(encoding="utf-8"))["title"]
    return str(user_metadata().get("title") or study)


def title_args(results: Path | str) -> list[str]:
    """The metadata arguments tools/render.py gives the renderer: the study's title and subtitle."""
    from tools.render import metadata_args

    return metadata_args(Path(results))


def expected_figures(results: Path) -> int:
    """Figure cells that draw with these results: the network comparison needs two networks and its
    table, the peak shares their table."""
    manifest = json.loads((results / "manifest.json").read_text(encoding="utf-8"))
    missing = 0
    if not (results / "network_comparison.csv").is_file() or len(manifest["order"]["networks"]) < 2:
        missing += 1
    if not (results / "peak_layer.csv").is_file():
        missing += 1
    return FIGURES - missing


CSS_REMOTE = re.compile(r"(url\(\s*['\"]?\s*(https?:)?//|@import\s+['\"]?(https?:)?//)", re.I)


def copy_project(target: Path) -> Path:
    """The report's sources (not the repository's _output) in a private project folder."""
    target.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target


def render(project: Path, results: Path | str) -> subprocess.CompletedProcess:
    """``RSA_RESULTS=results python -m qmdrender --project project``."""
    env = {**os.environ, "RSA_RESULTS": str(results)}
    return subprocess.run(
        [sys.executable, "-m", "qmdrender", "--project", str(project), *title_args(results)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    """Text of a PDF (or some of its pages) through poppler's pdftotext."""
    pages = (["-f", str(first)] if first else []) + (["-l", str(last)] if last else [])
    return subprocess.run(
        ["pdftotext", "-layout", *pages, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def visible_text(page: str) -> str:
    """The body text of an HTML page, tags removed and whitespace collapsed."""
    body = page.split("<body", 1)[1]
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(
        r"</?(p|div|li|ul|ol|td|th|tr|h\d|br|figure|figcaption|caption|table|pre|nav|section)\b[^>]*>",
        " ",
        body,
    )
    return " ".join(unescape(re.sub(r"<[^>]+>", "", body)).split())


@pytest.fixture(scope="module")
def demo_results(demo_master, tmp_path_factory) -> Path:
    """Results of the real analysis on the small demo study, with a small bootstrap."""
    return analysed(
        demo_master / "study.yml", tmp_path_factory.mktemp("results") / "demo", samples=60
    )


@pytest.fixture(scope="module")
def report(demo_results, tmp_path_factory) -> Path:
    """The report rendered once from the demo results; returns the project folder."""
    project = copy_project(tmp_path_factory.mktemp("report") / "project")
    proc = render(project, demo_results)
    assert proc.returncode == 0, proc.stderr
    assert f"Output created: {project / '_output' / 'index.html'}" in proc.stdout
    return project


@pytest.fixture(scope="module")
def page(report) -> str:
    return (report / "_output" / "index.html").read_text(encoding="utf-8")


class Resources(HTMLParser):
    """Collects every URL an element would load, and inline CSS."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.css: list[str] = []
        self.ids: set[str] = set()
        self.anchors: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        if tag == "a" and (values.get("href") or "").startswith("#"):
            self.anchors.append(values["href"][1:])
        for attr in RESOURCE_ATTRS.get(tag, []):
            if values.get(attr):
                self.urls.append((tag, values[attr]))
        if values.get("style"):
            self.css.append(values["style"])
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.css.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False


def test_outputs_are_in_place(report):
    assert sorted(p.name for p in (report / "_output").iterdir()) == ["index.html", "index.pdf"]
    assert not list(report.glob(".qmdrender-*"))


def test_html_loads_nothing_from_other_hosts(page, demo_results):
    parser = Resources()
    parser.feed(page)
    remote = [(tag, url) for tag, url in parser.urls if REMOTE.match(url)]
    assert not remote, remote
    assert not [css for css in parser.css if CSS_REMOTE.search(css)]
    images = [url for tag, url in parser.urls if tag == "img"]
    assert len(images) == expected_figures(demo_results) and all(
        url.startswith("data:image/") for url in images
    )


def test_html_citations_and_crossrefs_resolved(page):
    text = visible_text(page)
    assert "???" not in text
    keys = re.findall(
        r"^@\w+\{([^,]+),", (ROOT / "references.bib").read_text(encoding="utf-8"), re.M
    )
    assert not [k for k in keys if f"@{k}" in text], "raw citation keys in the page"
    assert not re.search(r"@(fig|tbl)-", text)
    assert not re.search(r"\(\w+\?\)", text), "citeproc placeholder for a missing reference"
    parser = Resources()
    parser.feed(page)
    assert [a for a in parser.anchors if a not in parser.ids] == []
    for n in range(1, 7):
        assert f"Figure {n}:" in text
    for n in range(1, 7):
        assert f"Table {n}:" in text
    assert "Kriegeskorte et al. 2008" in text
    # the latency table cites Foxe & Simpson for V1 only, and the demo's ROIs name no V1
    assert "Foxe and Simpson 2002" not in text
    assert "https://doi.org/10.7554/eLife.82566" in text


def test_html_content_comes_from_tables(page, demo_results):
    text = visible_text(page)
    manifest = json.loads((demo_results / "manifest.json").read_text(encoding="utf-8"))
    assert "Synthetic data" in text
    for item in manifest["inputs"]:
        assert item["sha256"][:12] in text
    for roi in (r for rois in manifest["order"]["rois"].values() for r in rois):
        assert roi in text
    # group sentences come from group_inference.csv (tested from the bootstrap samples); its r is
    # by_group.csv's mean over subjects of the group's mean r
    by_group = pd.read_csv(demo_results / "by_group.csv")
    for group, rows in by_group.groupby("group"):
        best = rows.loc[rows["mean"].idxmax()]
        start = text.find(f"{group}: Pearson r (single subjects, mean) averaged over the group")
        assert start >= 0, group
        expected = f"peaks at ResNet-50 {best['layer']} ({best['mean']:.3f}"
        assert expected in text[start : start + 200]
    assert f'<meta name="citation_title" content="{html.escape(title_of(demo_results))}">' in page


def test_pdf_has_title_latencies_references_and_synthetic_notice(report, demo_results):
    pdf = report / "_output" / "index.pdf"
    text = " ".join(pdf_text(pdf).split())
    assert " ".join(title_of(demo_results).split()) in text
    manifest = json.loads((demo_results / "manifest.json").read_text(encoding="utf-8"))
    rois = [r for rois in manifest["order"]["rois"].values() for r in rois]
    covered = tables.latency_areas(rois)
    assert covered, "the demo's ROIs name some areas of the latency table"
    for area, latency in [
        ("V1", "~30–60 ms"),
        ("V2", "~30–70 ms"),
        ("LOC", "~160–300 ms"),
        ("PPA", "~80–170 ms"),
        ("OPA", "~240–300 ms"),
        ("RSC", ">400 ms"),
    ]:
        assert (latency in text) == (area in covered), area
    assert "References" in text and "Representational Similarity Analysis" in text
    assert ("Foxe and Simpson 2002" in text) == ("V1" in covered)  # cited by the V1 row only
    assert "Synthetic data" in " ".join(pdf_text(pdf, 1, 1).split())


CHECK_SCRIPT = """<script>
window.__qmdErrors = [];
window.addEventListener('error', function (e) {
  window.__qmdErrors.push(
    'error: ' + (e.message || (e.target && (e.target.src || e.target.href)) || 'resource'));
}, true);
(function () { var orig = console.error; console.error = function () {
  window.__qmdErrors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
  orig.apply(console, arguments); }; })();
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var decoded = imgs.filter(function (img) { return img.complete && img.naturalWidth > 0; }).length;
  var remote = performance.getEntriesByType('resource').map(function (r) { return r.name; })
    .filter(function (n) { return !/^(data|blob|file|about):/.test(n); });
  var out = document.createElement('pre');
  out.id = 'qmd-check';
  out.textContent = JSON.stringify(
    {images: imgs.length, decoded: decoded, errors: window.__qmdErrors, remote: remote});
  document.body.appendChild(out);
});
</script>"""


def test_html_in_headless_chromium(page, demo_results, tmp_path):
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: run `bash tools/system-deps.sh`"
    checked = tmp_path / "index.html"
    checked.write_text(page.replace("<head>", "<head>\n" + CHECK_SCRIPT, 1), encoding="utf-8")
    profile = tempfile.mkdtemp(dir=tmp_path)
    proc = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",
            "--dump-dom",
            checked.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    match = re.search(r'<pre id="qmd-check">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"page did not finish loading: {proc.stderr[-2000:]}"
    result = json.loads(unescape(match.group(1)))
    assert result["errors"] == []
    assert result["remote"] == []
    figures = expected_figures(demo_results)
    assert result["images"] == figures and result["decoded"] == figures
    console = [
        line for line in proc.stderr.splitlines() if "CONSOLE" in line and checked.name in line
    ]
    assert console == [], console


def test_changed_number_changes_report(report, demo_results, tmp_path):
    results = Path(shutil.copytree(demo_results, tmp_path / "changed"))
    joint = pd.read_csv(results / "joint.csv")
    joint.loc[(joint["roi"] == "LHRSC") & (joint["layer"] == "layer2"), "r"] = 0.987654
    joint.to_csv(results / "joint.csv", index=False)
    project = copy_project(tmp_path / "project")
    proc = render(project, results)
    assert proc.returncode == 0, proc.stderr
    before = visible_text((report / "_output" / "index.html").read_text(encoding="utf-8"))
    after = visible_text((project / "_output" / "index.html").read_text(encoding="utf-8"))
    assert "LHRSC layer2 (0.988)" not in before and "LHRSC layer2 (0.988)" in after
    assert "layer2 (0.988)" in " ".join(pdf_text(project / "_output" / "index.pdf").split())


def _error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_missing_results_folder_fails_cleanly(tmp_path):
    project = copy_project(tmp_path / "project")
    line = _error_line(render(project, tmp_path / "nowhere"))
    assert "nowhere: results folder not found" in line
    assert not (project / "_output").exists()


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "by_group.csv").unlink(), "by_group.csv: missing"),
        (
            lambda d: (d / "manifest.json").write_text("{", encoding="utf-8"),
            "manifest.json: not valid JSON",
        ),
        (
            lambda d: (
                pd.read_csv(d / "joint.csv").drop(columns="r").to_csv(d / "joint.csv", index=False)
            ),
            "joint.csv: missing column(s) r",
        ),
        (
            lambda d: (
                pd.read_csv(d / "per_subject.csv")
                .assign(roi="V9")
                .to_csv(d / "per_subject.csv", index=False)
            ),
            "roi V9 not in manifest.json order",
        ),
    ],
)
def test_incomplete_results_fail_cleanly(demo_results, tmp_path, damage, message):
    results = Path(shutil.copytree(demo_results, tmp_path / "results"))
    damage(results)
    project = copy_project(tmp_path / "project")
    (project / "_output").mkdir()
    (project / "_output" / "index.html").write_text("previous", encoding="utf-8")
    line = _error_line(render(project, results))
    assert (
        "report/index.qmd:" in line
        and "cell setup failed: ResultsError" in line
        and message in line
    )
    assert (project / "_output" / "index.html").read_text(encoding="utf-8") == "previous"


def test_html_carries_provenance_metadata(page, demo_results):
    manifest = json.loads((demo_results / "manifest.json").read_text())
    block = re.search(
        r'<script type="application/json" id="rsa-provenance">(.*?)</script>', page, re.S
    )
    assert block, "no provenance block in the HTML"
    facts = json.loads(block.group(1))
    assert {i["sha256"] for i in facts["inputs"]} == {i["sha256"] for i in manifest["inputs"]}
    assert facts["parameters"] == manifest["parameters"]
    assert facts["project"]["git_commit"] == manifest["project"]["git_commit"]
    assert facts["cache"]["key"] == manifest["cache"]["key"]
    assert facts["renderer"].startswith("qmdrender fallback (Jupyter nbclient")
    for record in manifest["inputs"]:
        assert record["sha256"] in visible_text(page), "full sha256 in the provenance appendix"


def test_inference_section_comes_from_the_tables(page, demo_results):
    text = visible_text(page)
    assert "no inferential tables" not in text
    assert 'id="fig-inference"' in page
    inference = pd.read_csv(demo_results / "inference.csv")
    assert "60 samples (seed 0)" in text
    manifest = json.loads((demo_results / "manifest.json").read_text())
    dropped = manifest["bootstrap"]["samples"] - manifest["bootstrap"]["valid_samples"]
    assert (
        "All 60 samples were usable."
        if dropped == 0
        else f"{60 - dropped} of 60 samples were usable"
    ) in text
    pairwise = pd.read_csv(demo_results / "pairwise.csv")
    link = re.search(
        r'<a download="pairwise.csv" href="data:text/csv;charset=utf-8;base64,([^"]+)"', page
    )
    assert link, "the full pairwise table is not downloadable from the page"
    shipped = pd.read_csv(io.BytesIO(base64.b64decode(link.group(1))))
    pd.testing.assert_frame_equal(shipped, pairwise)
    significant = int(pairwise["significant"].sum())
    assert f"ResNet-50 10 {len(pairwise)} {significant}" in text
    below = int(inference["significant_ceiling"].sum())
    assert (
        f"{below} of {len(inference)} ROI × layer values of Pearson r (single subjects, mean) "
        "are significantly below the lower noise ceiling" in text
    )


def test_report_without_inference_says_so(demo_master, tmp_path):
    out = tmp_path / "results"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "run",
            str(demo_master / "study.yml"),
            "--out",
            str(out),
            "--samples",
            "0",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    project = copy_project(tmp_path / "project")
    proc = render(project, out)
    assert proc.returncode == 0, proc.stderr
    text = visible_text((project / "_output" / "index.html").read_text(encoding="utf-8"))
    assert "The results folder has no inferential tables" in text
