"""Every module a stage runs keys that stage's cache: change any of them and the key changes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.pipeline.cache import PACKAGE_DIR, code_files, code_fingerprint
from analysis.pipeline.stages import STAGE_CODE
from analysis.schema import INFERENCE, POINT

ROOT = Path(__file__).resolve().parents[2]
IMPORTED = """
import json, sys
from analysis.demo import write_demo
from analysis.reading.study import Bootstrap, load_study
from analysis.reading.loading import load_aligned
from analysis.pipeline.stages import run_stage
study = write_demo(sys.argv[1], n_images=30, seed=0)
before = set(sys.modules)
run_stage(sys.argv[2], load_aligned(load_study(study)), "corr", Bootstrap(samples=20, seed=0))
print(json.dumps(sorted({m.__file__ for name, m in sys.modules.items()
                         if name.split(".")[0] == "analysis" and getattr(m, "__file__", None)})))
"""


def _modules_run_by(stage: str, tmp_path: Path) -> list[Path]:
    """The analysis modules loaded while a stage runs on a tiny study (in a fresh interpreter)."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORTED, str(tmp_path / "demo"), stage],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return [Path(f) for f in json.loads(done.stdout.strip().splitlines()[-1])]


@pytest.mark.parametrize("stage", [POINT, INFERENCE])
def test_every_module_a_stage_runs_is_in_its_key(stage, tmp_path):
    covered = set(code_files(STAGE_CODE[stage]))
    used = [m for m in _modules_run_by(stage, tmp_path) if m.name != "demo.py"]
    assert len(used) > 10
    missing = [str(m.relative_to(PACKAGE_DIR)) for m in used if m.resolve() not in covered]
    assert not missing, f"modules the {stage} stage runs but its cache key ignores: {missing}"


@pytest.mark.parametrize("stage", [POINT, INFERENCE])
def test_editing_any_covered_module_changes_the_key(stage, tmp_path):
    copy = Path(
        shutil.copytree(
            PACKAGE_DIR, tmp_path / "analysis", ignore=shutil.ignore_patterns("__pycache__")
        )
    )
    parts = STAGE_CODE[stage]
    original = code_fingerprint(parts, copy)
    files = code_files(parts, copy)
    assert len(files) > 10
    for file in files:
        text = file.read_bytes()
        file.write_bytes(text + b"\n# edited\n")
        assert code_fingerprint(parts, copy) != original, file
        file.write_bytes(text)
    assert code_fingerprint(parts, copy) == original
    outside = copy / "deposit_demo.py"  # a module no stage runs
    outside.write_bytes(outside.read_bytes() + b"\n# edited\n")
    assert code_fingerprint(parts, copy) == original
