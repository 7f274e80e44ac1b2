"""Shared benchmark plumbing: the cached real-size study, timing child processes, the table."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "_bench"
FULL_IMAGES = 4916


@dataclass(frozen=True)
class Timing:
    """Wall time and peak resident memory of one child process."""

    seconds: float
    peak_gb: float


def timed(command: list[str], env: dict[str, str] | None = None) -> Timing:
    """Run a command to completion; its wall time and peak RSS (from wait4)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"error: benchmark step failed: {' '.join(command)}")
    return Timing(seconds, usage.ru_maxrss / 1024**2)


def full_size_study(n_images: int = FULL_IMAGES) -> Path:
    """The real-size synthetic study, generated once and cached in _bench/."""
    study = BENCH_DIR / f"study-{n_images}" / "study.yml"
    if not study.exists():
        print(f"generating a {n_images}-image synthetic study in {study.parent} (once)", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "analysis",
                "demo",
                str(study.parent),
                "--n-images",
                str(n_images),
            ],
            cwd=ROOT,
            check=True,
        )
    return study


COMPARISON_HEADER = ("operation", "ours", "rsatoolbox", "ratio (rsatoolbox / ours)")


def print_table(
    rows: list[tuple[str, str, str, str]], header: tuple[str, str, str, str] = COMPARISON_HEADER
) -> None:
    """Print rows as a Markdown table (default columns: operation, ours, rsatoolbox, ratio)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
