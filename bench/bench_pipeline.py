"""Point estimates at full size: `python -m analysis run` against rsatoolbox load + eval_fixed."""

from __future__ import annotations

import sys

import pandas as pd

from .common import BENCH_DIR, full_size_study, timed


def bench_pipeline() -> list[tuple[str, str, str, str]]:
    """Time the whole run (load + align + all tables) and rsatoolbox on the same files."""
    study = full_size_study()
    out = BENCH_DIR / "results-pipeline"
    ours = timed(
        [
            sys.executable,
            "-m",
            "analysis",
            "run",
            str(study),
            "--out",
            str(out),
            "--samples",
            "0",
            "--force",
        ]
    )
    reference_csv = BENCH_DIR / "rsatoolbox-per-subject.csv"
    theirs = timed([sys.executable, "-m", "bench.rsatoolbox_fixed", str(study), str(reference_csv)])
    merged = pd.read_csv(out / "per_subject.csv").merge(
        pd.read_csv(reference_csv), on=["subject", "roi", "network", "layer"], suffixes=("", "_ref")
    )
    worst = (merged["r"] - merged["r_ref"]).abs().max()
    print(f"per_subject: {len(merged)} comparisons, max |r - rsatoolbox r| = {worst:.2e}")
    full = timed(
        [
            sys.executable,
            "-m",
            "analysis",
            "run",
            str(study),
            "--out",
            str(BENCH_DIR / "results-full"),
            "--samples",
            "1000",
            "--force",
        ]
    )
    return [
        (
            "run with 1000-sample dual bootstrap + noise ceilings, corr, 4916 images: time",
            f"{full.seconds:.1f} s",
            "see dual-bootstrap rows",
            "—",
        ),
        ("same: peak memory", f"{full.peak_gb:.1f} GB", "—", "—"),
        (
            "run, corr (load+align+tables), 4916 images: time",
            f"{ours.seconds:.1f} s",
            f"{theirs.seconds:.1f} s",
            f"{theirs.seconds / ours.seconds:.1f}x",
        ),
        (
            "same: peak memory",
            f"{ours.peak_gb:.1f} GB",
            f"{theirs.peak_gb:.1f} GB",
            f"{theirs.peak_gb / ours.peak_gb:.1f}x",
        ),
    ]
