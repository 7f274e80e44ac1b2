"""Results are cached by content: reruns reuse them, any relevant change recomputes."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import h5py
import pytest
import yaml

import analysis.pipeline.cache
from analysis.__main__ import main
from analysis.pipeline.run import run

LONG_AGO = time.time() - 3600


def _age(folder: Path) -> None:
    """Date every file back an hour, as if downloaded long before the first run."""
    for path in folder.iterdir():
        os.utime(path, (LONG_AGO, LONG_AGO))


def _flip_one_value(path: Path) -> None:
    """Change one byte inside the dissimilarities of an HDF5 file, in place, keeping its size."""
    with h5py.File(path, "r") as file:
        offset = file["dissimilarities"].id.get_offset()
    data = bytearray(path.read_bytes())
    data[offset + 8 * 100 + 6] ^= 0x10  # a high mantissa bit of the 101st value
    path.write_bytes(bytes(data))


def _snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}


@pytest.fixture
def aged_demo(demo) -> Path:
    _age(demo)
    return demo


def test_second_run_reuses_everything(aged_demo, tmp_path, capsys):
    out = tmp_path / "out"
    first = run(aged_demo / "study.yml", out, samples=0)
    assert first.computed == ("point",)
    before = _snapshot(out)
    assert main(["run", str(aged_demo / "study.yml"), "--out", str(out), "--samples", "0"]) == 0
    printed = capsys.readouterr().out
    assert "cached results reused" in printed and first.key[:12] in printed
    assert _snapshot(out) == before
    second = run(aged_demo / "study.yml", out, samples=0)
    assert second.computed == () and second.rehashed == ()


def test_changed_byte_in_an_input_recomputes(aged_demo, tmp_path):
    out = tmp_path / "out"
    run(aged_demo / "study.yml", out, samples=0)
    joint_before = (out / "joint.csv").read_bytes()
    network = aged_demo / "ResNet50_CORR_RDMs.h5"
    _flip_one_value(network)
    outcome = run(aged_demo / "study.yml", out, samples=0)
    assert outcome.computed == ("point",)
    assert str(network.resolve()) in outcome.rehashed
    assert (out / "joint.csv").read_bytes() != joint_before


def test_preserved_mtime_is_only_caught_with_verify(aged_demo, tmp_path):
    out = tmp_path / "out"
    run(aged_demo / "study.yml", out, samples=0)
    network = aged_demo / "ResNet50_CORR_RDMs.h5"
    stat = network.stat()
    _flip_one_value(network)
    os.utime(network, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    if network.stat().st_ino != stat.st_ino:
        pytest.skip("the file system gave the rewritten file a new inode")
    assert run(aged_demo / "study.yml", out, samples=0).computed == ()
    assert run(aged_demo / "study.yml", out, samples=0, verify=True).computed == ("point",)


def _edit_study(demo: Path, **changes) -> None:
    path = demo / "study.yml"
    study = yaml.safe_load(path.read_text())
    study.update(changes)
    path.write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True))


def test_changed_method_recomputes(aged_demo, tmp_path):
    out = tmp_path / "out"
    run(aged_demo / "study.yml", out, samples=0)
    _edit_study(aged_demo, method="spearman")
    assert run(aged_demo / "study.yml", out, samples=0).computed == ("point",)
    assert set(__import__("pandas").read_csv(out / "joint.csv")["method"]) == {"spearman"}


def test_changed_title_rewrites_manifest_but_reuses_tables(aged_demo, tmp_path):
    out = tmp_path / "out"
    run(aged_demo / "study.yml", out, samples=0)
    joint_before = (out / "joint.csv").read_bytes()
    _edit_study(aged_demo, title="A new title")
    outcome = run(aged_demo / "study.yml", out, samples=0)
    assert outcome.computed == () and outcome.reused == ("point",)
    assert "A new title" in (out / "manifest.json").read_text()
    assert (out / "joint.csv").read_bytes() == joint_before


def test_changed_analysis_code_recomputes(aged_demo, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run(aged_demo / "study.yml", out, samples=0)
    copy = Path(shutil.copytree(analysis.pipeline.cache.PACKAGE_DIR, tmp_path / "analysis_copy"))
    with open(copy / "comparison" / "methods.py", "a") as source:
        source.write("\n# an edit\n")
    monkeypatch.setattr(analysis.pipeline.cache, "PACKAGE_DIR", copy)
    assert run(aged_demo / "study.yml", out, samples=0).computed == ("point",)


def test_force_recomputes(aged_demo, tmp_path):
    out = tmp_path / "out"
    run(aged_demo / "study.yml", out, samples=0)
    assert run(aged_demo / "study.yml", out, samples=0, force=True).computed == ("point",)


def test_deleted_table_is_recomputed(aged_demo, tmp_path):
    out = tmp_path / "out"
    run(aged_demo / "study.yml", out, samples=0)
    (out / "joint.csv").unlink()
    assert run(aged_demo / "study.yml", out, samples=0).computed == ("point",)
    assert (out / "joint.csv").exists()


CACHED_RERUN = """
import sys
from analysis.__main__ import main
assert main(["run", sys.argv[1], "--out", sys.argv[2]]) == 0
heavy = ("numpy", "pandas", "scipy", "numba", "h5py", "rsatoolbox", "dask")
print("loaded:", *sorted(m for m in heavy if m in sys.modules))
"""


def test_a_cached_rerun_loads_no_numeric_library(tmp_path: Path) -> None:
    """A rerun that finds every stage cached reads the study and the hash memo, nothing more: it
    imports none of the heavy libraries (their imports took most of a cached rerun's second)."""
    import subprocess
    import sys

    from analysis.demo import write_demo

    study = write_demo(tmp_path / "study", n_images=30, seed=0)
    study.write_text(study.read_text().replace("samples: 1000", "samples: 20"))
    _age(study.parent)
    out = tmp_path / "out"
    assert main(["run", str(study), "--out", str(out)]) == 0
    rerun = subprocess.run(
        [sys.executable, "-c", CACHED_RERUN, str(study), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "cached results reused" in rerun.stdout, rerun.stdout
    assert rerun.stdout.strip().splitlines()[-1] == "loaded:", rerun.stdout
    from analysis.__main__ import DEMO_SHAPES, demo_shapes

    assert tuple(demo_shapes()) == DEMO_SHAPES  # the names the light command line offers
