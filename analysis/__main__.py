"""Command line: `python -m analysis demo DIR`, `python -m analysis fetch STUDY` and
`python -m analysis run STUDY --out DIR`."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import AnalysisError, AnalysisWarning


def demo_shapes() -> dict[str, tuple[Callable[..., Path], int]]:
    """The demo shapes: each one's writer and default number of images, from its module.

    Imported here, not at the top: until main() has installed its signal handlers, the
    command line imports nothing heavy (numpy), so Ctrl-C never interrupts an import.
    """
    from . import demo, deposit_demo

    return {
        "resnet": (demo.write_demo, demo.N_IMAGES),
        "deposit": (deposit_demo.write_deposit_demo, deposit_demo.N_IMAGES),
    }


DEMO_SHAPES = ("resnet", "deposit")  # demo_shapes() gives each one's writer and default size


def _parser(demo_defaults: bool = True) -> argparse.ArgumentParser:
    """The command line. Without `demo_defaults` the demo modules (numpy) are not imported, so
    that `run` with every stage cached stays light; their default sizes then go unnamed."""
    shapes = demo_shapes() if demo_defaults else dict.fromkeys(DEMO_SHAPES, (None, None))
    parser = argparse.ArgumentParser(
        prog="python -m analysis", description="RSA of network layers against brain ROIs."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="write the synthetic demo study (planted answer)")
    demo.add_argument("folder", type=Path)
    demo.add_argument(
        "--shape",
        choices=tuple(shapes),
        default="resnet",
        help="resnet: ResNet-50 and 3 subjects (default); deposit: the whole Dryad deposit's "
        "shape (4 subjects, 3 atlases, group means, 4 networks)",
    )
    demo.add_argument(
        "--n-images",
        type=int,
        default=None,
        help="images (default: "
        + ", ".join(f"{n or 'its own'} for {shape}" for shape, (_, n) in shapes.items())
        + ")",
    )
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--signal",
        type=float,
        default=None,
        help="gain of the planted signal (default 0.5: effects at the scale of the real data, "
        "best-layer r about .06; 1.0: large effects)",
    )

    fetch = commands.add_parser(
        "fetch",
        help="download the files a study names from its dataset's Dryad DOI (only missing or "
        "wrong ones; DRYAD_API_TOKEN, or DRYAD_CLIENT_ID and DRYAD_CLIENT_SECRET)",
    )
    fetch.add_argument("study", type=Path)
    fetch.add_argument(
        "--verify",
        action="store_true",
        help="rehash every present file instead of trusting the size and time it was verified at",
    )

    run = commands.add_parser("run", help="analyse a study and write its results folder")
    run.add_argument("study", type=Path)
    run.add_argument("--out", type=Path, required=True)
    run.add_argument(
        "--samples",
        type=int,
        default=None,
        help="bootstrap samples (overrides the study file; 0 skips inference)",
    )
    run.add_argument(
        "--seed", type=int, default=None, help="bootstrap seed (overrides the study file)"
    )
    run.add_argument(
        "--allow-mixed-measures",
        action="store_true",
        help="compare files whose dissimilarity measures differ (with a warning)",
    )
    run.add_argument(
        "--verify",
        action="store_true",
        help="rehash every input file instead of trusting size and modification time",
    )
    run.add_argument(
        "--force", action="store_true", help="recompute every stage, ignoring the cache"
    )
    run.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the bootstrap's tasks on this Dask scheduler (e.g. tcp://host:8786); "
        "workers must read the input files and --store at the same paths",
    )
    run.add_argument(
        "--store",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for aligned RDMs on disk (default: .rsa-store beside --out, used "
        "for large studies and with --scheduler)",
    )
    return parser


def _report(outcome) -> None:
    key = outcome.key[:12]
    if not outcome.computed:
        print(
            f"cached results reused: {outcome.out} matches key {key} "
            f"(stages: {', '.join(outcome.reused)}); nothing recomputed"
        )
        return
    reused = f"; reused from cache: {', '.join(outcome.reused)}" if outcome.reused else ""
    print(
        f"results written: {outcome.out} (key {key}; "
        f"computed: {', '.join(outcome.computed)}{reused})"
    )


def _stop(signum: int, _frame: object) -> None:
    """Leave at once on SIGINT/SIGTERM: results are swapped in atomically, so stopping anywhere
    keeps the previous ones; only the temporary folder needs removing."""
    from .publish import discard_staged

    discard_staged()
    sys.stderr.write(
        f"error: interrupted by {signal.Signals(signum).name}; previous results left as they were\n"
    )
    sys.stderr.flush()
    os._exit(128 + signum)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """One line per warning on stderr: ``warning: FILE: problem``."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _messages() -> Iterator[None]:
    """While a command runs: every AnalysisWarning shown (not only its first occurrence), each
    warning as one line, and the library's log (e.g. bootstrap samples dropped) on stderr."""
    import logging  # here, not at the top: after main() has installed its signal handlers

    log = logging.getLogger("analysis")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", AnalysisWarning)
            warnings.showwarning = _show_warning
            yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Run a command; bad input gives one line on stderr and exit code 2, never a traceback."""
    if argv is None:
        argv = sys.argv[1:]
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
    args = _parser(demo_defaults=not argv or argv[0] not in ("run", "fetch")).parse_args(argv)
    with _messages():
        return _command(args, argv)


def _command(args: argparse.Namespace, argv: list[str]) -> int:
    """The command itself; an AnalysisError becomes one line on stderr and exit code 2."""
    try:
        if args.command == "demo":
            write, default_images = demo_shapes()[args.shape]
            strength = {} if args.signal is None else {"signal": args.signal}
            study = write(
                args.folder, n_images=args.n_images or default_images, seed=args.seed, **strength
            )
            print(f"demo study written: {study}")
        elif args.command == "fetch":
            from .fetch import failures, fetch

            outcome = fetch(args.study, verify=args.verify)
            for line in failures(outcome):
                print(line, file=sys.stderr)
            if outcome.failed:
                return 1
        else:
            from .pipeline.run import run

            outcome = run(
                args.study,
                args.out,
                samples=args.samples,
                seed=args.seed,
                allow_mixed_measures=args.allow_mixed_measures,
                verify=args.verify,
                force=args.force,
                scheduler=args.scheduler,
                store=args.store,
                command=" ".join(["python -m analysis", *map(shlex.quote, argv)]),
            )
            _report(outcome)
    except AnalysisError as err:
        print(f"error: {err.source}: {err.problem}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
