"""The Makefile: `make clean` removes what the build made, and nothing else; a study or results path
with spaces or parentheses reaches the commands as one argument."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILT = [
    "results/demo/joint.csv",
    "results/.demo.lock",
    "_output/index.html",
    "data/demo/study.yml",
    "._output.lock",
    ".pytest_cache/README.md",
    ".quarto/idx/report/index.qmd.json",
]
KEPT = [
    "data/bold5000/study.yml",
    "data/bold5000/CSI1_BOLD5000_CORR_RDMs.h5",
    "notes.txt",
    "report/index.qmd",
    ".venv/bin/python",
    "_bench/study-4916/study.yml",
]


def test_make_clean_removes_build_outputs_only(tmp_path):
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    for name in BUILT + KEPT:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True)
    assert [name for name in BUILT if (tmp_path / name).exists()] == []
    assert [name for name in KEPT if not (tmp_path / name).exists()] == []


def test_make_passes_a_study_path_with_spaces_and_parentheses_as_one_argument(tmp_path):
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/bash\nprintf "%s\\n" "$@" >> "$(dirname "$0")/args.txt"\n')
    python.chmod(0o755)
    (tmp_path / ".venv" / ".installed").write_text("")  # newer than pyproject.toml
    study, results = "/data/my study (ρ)/study.yml", "/out/my results"
    subprocess.run(
        ["make", "report", f"STUDY={study}", f"RESULTS={results}"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    args = (python.parent / "args.txt").read_text().splitlines()
    assert args[:5] == ["-m", "analysis", "run", study, "--out"] and args[5] == results
    assert args[args.index("--results") + 1] == results
    (python.parent / "args.txt").unlink()
    subprocess.run(["make", "analysis", f"STUDY={study}"], cwd=tmp_path, check=True)
    args = (python.parent / "args.txt").read_text().splitlines()
    assert args[3:6] == [study, "--out", "results/my study (ρ)"]  # the study's folder name
