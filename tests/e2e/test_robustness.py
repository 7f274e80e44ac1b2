"""Determinism, interruption, concurrent runs and unwritable output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.demo import write_demo
from analysis.publish import locked

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("per_subject.csv", "joint.csv", "by_group.csv")


def _command(study: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "analysis",
        "run",
        str(study),
        "--out",
        str(out),
        "--samples",
        "0",
        *extra,
    ]


def _run(
    study: Path, out: Path, *extra: str, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        _command(study, out, *extra),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def larger_demo(tmp_path_factory) -> Path:
    """A demo large enough that a run lasts a moment (about 1 s of work)."""
    return write_demo(tmp_path_factory.mktemp("larger") / "demo", n_images=700, seed=2)


def test_reruns_in_fresh_processes_are_byte_identical_whatever_the_threads(demo, tmp_path):
    outputs = []
    for threads in ("1", "2"):
        out = tmp_path / f"out{threads}"
        done = _run(
            demo / "study.yml",
            out,
            env={"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads},
        )
        assert done.returncode == 0, done.stderr
        outputs.append({t: (out / t).read_bytes() for t in TABLES})
    assert outputs[0] == outputs[1]


def _wait_until_catching(pid: int, sig: signal.Signals, timeout: float = 30.0) -> None:
    """Wait until process `pid` has a handler for `sig` (the SigCgt mask in /proc/PID/status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return  # the process is gone already
        mask = int(
            next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16
        )
        if mask >> (int(sig) - 1) & 1:
            return
        time.sleep(0.005)
    raise AssertionError(f"process {pid} never installed a handler for {sig!r}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interruption_at_any_point_keeps_previous_results(larger_demo, tmp_path, sig):
    out = tmp_path / "out"
    assert _run(larger_demo, out).returncode == 0
    before = {t: (out / t).read_bytes() for t in TABLES}
    for delay in (0.2, 0.7, 1.0, 1.4, 1.8):
        child = subprocess.Popen(
            _command(larger_demo, out, "--force"),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if (
            sig == signal.SIGINT
        ):  # from when the program has taken over Ctrl-C, not inside Python's start-up
            _wait_until_catching(child.pid, sig)
        time.sleep(delay)
        child.send_signal(sig)
        _, err = child.communicate(timeout=60)
        assert "Traceback" not in err
        assert {t: (out / t).read_bytes() for t in TABLES} == before, f"after {sig!r} at {delay} s"
        assert (out / "manifest.json").is_file()
    done = _run(larger_demo, out, "--force")
    assert done.returncode == 0, done.stderr
    assert {t: (out / t).read_bytes() for t in TABLES} == before
    assert not list(tmp_path.glob(".out.partial-*")) and not list(tmp_path.glob(".out.old-*"))


def test_second_writer_is_refused_while_the_first_holds_the_lock(demo, tmp_path):
    out = tmp_path / "out"
    with locked(out):
        done = _run(demo / "study.yml", out)
    assert done.returncode == 2
    assert (
        done.stderr.strip() == f"error: {out}: another analysis is writing this results folder; "
        "wait for it to finish"
    )
    assert not out.exists()


def test_two_runs_started_at_once_leave_a_valid_folder(larger_demo, tmp_path):
    out = tmp_path / "out"
    children = [
        subprocess.Popen(
            _command(larger_demo, out),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(c.wait(timeout=120), c.stderr.read()) for c in children]
    assert any(code == 0 for code, _ in results)
    for code, err in results:
        assert code == 0 or "another analysis is writing" in err
    assert all((out / t).is_file() for t in TABLES)


@pytest.fixture
def small_mount(tmp_path):
    """A 2 MB tmpfs, to fill or make read-only (needs root; skipped elsewhere)."""
    mount = tmp_path / "mount"
    mount.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_full_disk_gives_one_line_and_keeps_previous_results(demo, small_mount):
    out = small_mount / "out"
    assert _run(demo / "study.yml", out).returncode == 0
    before = {t: (out / t).read_bytes() for t in TABLES}
    with open(small_mount / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass
    done = _run(demo / "study.yml", out, "--force")
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(errors) == 1 and "No space left on device" in errors[0]
    assert {t: (out / t).read_bytes() for t in TABLES} == before


def test_read_only_output_gives_one_line_and_keeps_previous_results(demo, small_mount):
    out = small_mount / "out"
    assert _run(demo / "study.yml", out).returncode == 0
    before = {t: (out / t).read_bytes() for t in TABLES}
    subprocess.run(["mount", "-o", "remount,ro", str(small_mount)], check=True)
    done = _run(demo / "study.yml", out, "--force")
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(errors) == 1 and "Read-only file system" in errors[0]
    assert str(out) in done.stderr
    assert {t: (out / t).read_bytes() for t in TABLES} == before
