"""`make bench`: every benchmark, one table of ratios against rsatoolbox measured in this run."""
from __future__ import annotations

import os

from .bench_pipeline import bench_pipeline
from .common import print_table


def main() -> None:
    rows = bench_pipeline()
    try:
        from .bench_inference import bench_inference
    except ImportError:
        bench_inference = None
    if bench_inference is not None:
        rows += bench_inference()
    print(f"\n{os.cpu_count()} cores; ratios above 1 mean ours is faster or smaller.\n")
    print_table(rows)


if __name__ == "__main__":
    main()
