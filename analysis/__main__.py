"""Command line: `python -m analysis demo DIR` and `python -m analysis run STUDY --out DIR`."""
from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from pathlib import Path

from .errors import AnalysisError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis",
                                     description="RSA of network layers against brain ROIs.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="write the synthetic demo study (planted answer)")
    demo.add_argument("folder", type=Path)
    demo.add_argument("--n-images", type=int, default=800)
    demo.add_argument("--seed", type=int, default=0)

    run = commands.add_parser("run", help="analyse a study and write its results folder")
    run.add_argument("study", type=Path)
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--samples", type=int, default=None,
                     help="bootstrap samples (overrides the study file; 0 skips inference)")
    run.add_argument("--seed", type=int, default=None, help="bootstrap seed (overrides the study file)")
    run.add_argument("--allow-mixed-measures", action="store_true",
                     help="compare files whose dissimilarity measures differ (with a warning)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; bad input gives one line on stderr and exit code 2, never a traceback."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    warnings.formatwarning = lambda message, *_args, **_kw: f"warning: {message}\n"
    try:
        if args.command == "demo":
            from .demo import write_demo
            study = write_demo(args.folder, n_images=args.n_images, seed=args.seed)
            print(f"demo study written: {study}")
        else:
            from .pipeline import run
            out = run(args.study, args.out, samples=args.samples, seed=args.seed,
                      allow_mixed_measures=args.allow_mixed_measures,
                      command=" ".join(["python -m analysis", *map(shlex.quote, argv)]))
            print(f"results written: {out}")
    except AnalysisError as err:
        print(f"error: {err.source}: {err.problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; previous results left as they were", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
