"""``python -m qmdrender [--project DIR]``: render a Quarto project without the Quarto binary."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from qmdrender.errors import RenderError


def main(argv: list[str] | None = None) -> int:
    """Render the project; print where the outputs are, or one error line and return 2."""
    parser = argparse.ArgumentParser(prog="python -m qmdrender", description=__doc__)
    parser.add_argument(
        "--project",
        type=Path,
        default=Path("."),
        help="project directory holding _quarto.yml (default: .)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="write the outputs here instead of the "
        "project's output-dir (as quarto render --output-dir)",
    )
    parser.add_argument(
        "-M",
        "--metadata",
        action="append",
        default=[],
        metavar="KEY:VALUE",
        help="set a metadata field to a literal string, over the document's (as quarto render -M)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the output paths")
    args = parser.parse_args(argv)
    from qmdrender import identity
    from qmdrender.render import render_project

    os.environ.setdefault("RSA_RENDERER", identity())

    log = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    try:
        literal = dict(item.split(":", 1) for item in args.metadata if ":" in item)
        outputs = render_project(args.project, log, args.output_dir, literal)
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected failure still gets one line, not a traceback
        print(
            f"error: {args.project}: qmdrender failed unexpectedly: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 2
    for path in outputs:
        try:
            shown = path.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            shown = path
        print(f"Output created: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
