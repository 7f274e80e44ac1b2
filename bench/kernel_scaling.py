"""How much faster two processes do twice the work of one on this machine, for the rank
bootstrap's own kernels and for a matrix product: the bound on any 2-worker speed-up here.

Each child process builds a sorted order of 4916 images' pairs (the deposit's size, random as a
real RDM's) and bootstrap counts, waits until every child is ready, then times `repeats` units of
a sample's work: one weighted rank walk (`doubled_ranks`) and one pooled re-rank of three such
rows (`pooled_ranks`), or one float32 matrix product of the same duration's order for the
control. The speed-up is 2 × (one child's time alone) / (the mean child time of two at once).

Usage: python -m bench.kernel_scaling [--repeats 12]   (prints the table)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_IMAGES = 4916


def child(kind: str, repeats: int, barrier: Path, parties: int) -> None:
    """Set up, wait for the other children, time `repeats` units of `kind`; print JSON."""
    import numpy as np

    from analysis.inference import rank_kernels as kernels
    from analysis.inference.rank_bootstrap import sort_rdm

    rng = np.random.default_rng(os.getpid())
    if kind == "ranks":
        n_pairs = N_IMAGES * (N_IMAGES - 1) // 2
        order = sort_rdm(rng.random(n_pairs), N_IMAGES).pairs
        counts = np.bincount(rng.integers(0, N_IMAGES, N_IMAGES), minlength=N_IMAGES)
        counts = counts.astype(np.int32)
        row, column, drawn = kernels.slot_tables(counts)
        weights = kernels.active_weights(counts, drawn)
        out = np.empty(weights.shape[0] + 1, dtype=np.int32)
        kernels.doubled_ranks(order, counts, row, column, out)  # compile outside the timing
        ranks = np.stack([out[:-1]] * 3)
        ranks[1] = ranks[1][::-1]
        ranks[2] = rng.permutation(ranks[2])
        pooled = np.empty(weights.shape[0], dtype=np.int32)
        packed = np.empty(weights.shape[0], dtype=np.int64)
        pool = np.ones(3, dtype=np.int64)

        def unit() -> None:
            kernels.doubled_ranks(order, counts, row, column, out)
            kernels.pooled_ranks(ranks, pool, weights, pooled, packed)
    else:
        a = rng.random((1024, 2048), dtype=np.float32)
        b = rng.random((2048, 3000), dtype=np.float32)

        def unit() -> None:
            a @ b

    unit()
    (barrier / str(os.getpid())).touch()
    while len(list(barrier.iterdir())) < parties:
        time.sleep(0.005)
    start = time.perf_counter()
    for _ in range(repeats):
        unit()
    print(json.dumps({"seconds": time.perf_counter() - start}))


def measure(kind: str, repeats: int, parties: int) -> float:
    """Mean time of `parties` children running `repeats` units of `kind` at once."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    with tempfile.TemporaryDirectory() as barrier:
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.kernel_scaling",
                    "--child",
                    kind,
                    str(repeats),
                    barrier,
                    str(parties),
                ],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(parties)
        ]
        times = [json.loads(p.communicate()[0].strip().splitlines()[-1])["seconds"] for p in procs]
    return sum(times) / len(times)


def scaling_rows(repeats: int = 12) -> list[tuple[str, str, str, str]]:
    """The speed-up of 2 processes over 1 for the rank kernels and for a matrix product."""
    rows = []
    for kind, label in (
        ("ranks", "rank walk + pooled re-rank (4916 images, one thread each)"),
        ("matmul", "float32 matrix product, one thread each (control: compute-bound)"),
    ):
        alone = measure(kind, repeats, 1)
        both = measure(kind, repeats, 2)
        rows.append(
            (
                f"machine scaling, 2 processes against 1: {label}",
                f"{2 * alone / both:.2f}×",
                "",
                f"{repeats} units: {alone:.1f} s alone, {both:.1f} s each with two at once; "
                f"load average {os.getloadavg()[0]:.1f}",
            )
        )
        print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1], int(argv[2]), Path(argv[3]), int(argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=12)
    args = parser.parse_args(argv)
    from .common import print_table

    print_table(scaling_rows(args.repeats), ("operation", "speed-up", "memory", "how"))


if __name__ == "__main__":
    main()
