"""`make bench`: every benchmark, one table of ratios against rsatoolbox measured in this run.

`python -m bench deposit`: the deposit-size run (bench/deposit.py); `python -m bench reading`:
a gzip-compressed 4916-image RDM file against an uncompressed one (bench/bench_reading.py)."""

from __future__ import annotations

import os
import sys

from .bench_pipeline import bench_pipeline
from .common import print_table


def main() -> None:
    if sys.argv[1:2] == ["deposit"]:
        from .deposit import main as deposit

        deposit(sys.argv[2:])
        return
    if sys.argv[1:2] == ["reading"]:
        from .bench_reading import main as reading

        reading()
        return
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
