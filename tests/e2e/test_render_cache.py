"""`tools/render.py`: a second render with nothing changed is skipped; any change re-renders."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def _project(target: Path) -> Path:
    for name in ("report", "qmdrender", "tools"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("_quarto.yml", "references.bib"):
        shutil.copy2(ROOT / name, target / name)
    return target


def _render(project: Path, results: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(project / "tools" / "render.py"),
            "--results",
            str(results),
            "--renderer",
            "qmdrender",
        ],  # the fallback also where Quarto is installed
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_render_is_cached_by_content(demo_master, tmp_path):
    results = tmp_path / "results"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "run",
            str(demo_master / "study.yml"),
            "--out",
            str(results),
            "--samples",
            "0",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    project = _project(tmp_path / "project")
    first = _render(project, results)
    assert first.returncode == 0, first.stderr
    assert "rendering with qmdrender fallback" in first.stdout
    html = project / "_output" / "index.html"
    stamp = html.stat().st_mtime_ns

    second = _render(project, results)
    assert second.returncode == 0 and "cached render reused" in second.stdout
    assert html.stat().st_mtime_ns == stamp

    joint = pd.read_csv(results / "joint.csv")
    joint.loc[0, "r"] = 0.987654
    joint.to_csv(results / "joint.csv", index=False, lineterminator="\n")
    third = _render(project, results)
    assert third.returncode == 0 and "rendering with" in third.stdout
    assert "0.988" in html.read_text(encoding="utf-8")

    (project / "report" / "index.qmd").write_text(
        (project / "report" / "index.qmd").read_text() + "\nAn added closing sentence.\n"
    )
    fourth = _render(project, results)
    assert "rendering with" in fourth.stdout
    assert "An added closing sentence." in html.read_text(encoding="utf-8")


def test_render_without_results_gives_one_line(tmp_path):
    project = _project(tmp_path / "project")
    done = _render(project, tmp_path / "nowhere")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no results folder" in done.stderr
    assert not (project / "_output").exists()


def test_second_render_at_once_is_refused(tmp_path):
    import fcntl

    project = _project(tmp_path / "project")
    results = tmp_path / "results"
    results.mkdir()
    (results / "manifest.json").write_text("{}")
    with open(project / "._output.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        done = _render(project, results)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"error: {project / '_output'}: another render is writing the report; "
        "wait for it to finish"
    )
