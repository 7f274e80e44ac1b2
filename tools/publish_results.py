"""Copy a run's results (its tables and manifest) to `published/results/`, to be committed.

`make publish RESULTS=results/bold5000` runs this. The Pages workflow renders the report from
`published/results/` when it is in the checkout, so real results can be published without the
RDM files they were computed from (their sizes and SHA-256 checksums are in the manifest, and the
report's provenance appendix shows them). Only the files of the results contract are copied
(analysis/schema.py's tables and manifest.json); the copy replaces the previous one atomically.

Usage: python tools/publish_results.py RESULTS [--to published/results]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from analysis.errors import AnalysisError  # noqa: E402  (after the path: runs from a source tree too)
from analysis.publish import staged_folder  # noqa: E402
from analysis.schema import TABLES  # noqa: E402

PUBLISHED = ROOT / "published" / "results"
MANIFEST = "manifest.json"
#: The tables a report cannot be rendered without (report/results.py REQUIRED).
REQUIRED = ("per_subject", "joint", "by_group")


def contract_files(results: Path) -> list[Path]:
    """The results folder's files that the contract names: manifest.json and every table."""
    if not (results / MANIFEST).is_file():
        raise AnalysisError(
            results, f"no {MANIFEST}: not a results folder of `python -m analysis run`"
        )
    missing = [f"{name}.csv" for name in REQUIRED if not (results / f"{name}.csv").is_file()]
    if missing:
        raise AnalysisError(results, f"incomplete results folder: {', '.join(missing)} missing")
    try:
        json.loads((results / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise AnalysisError(results / MANIFEST, "not valid JSON") from None
    tables = [results / TABLES[name].file for name in TABLES]
    return [results / MANIFEST, *(path for path in tables if path.is_file())]


def publish(results: Path, to: Path = PUBLISHED) -> tuple[list[Path], int, bool]:
    """Copy the contract files of `results` into `to` (replacing it whole).

    Returns the files copied, their total size in bytes, and whether the results are synthetic.
    """
    files = contract_files(results)
    to.parent.mkdir(parents=True, exist_ok=True)
    with staged_folder(to) as stage:
        for path in files:
            shutil.copy2(path, stage / path.name)
    manifest = json.loads((to / MANIFEST).read_text(encoding="utf-8"))
    return files, sum(p.stat().st_size for p in files), bool(manifest.get("synthetic"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--to", type=Path, default=PUBLISHED)
    args = parser.parse_args(argv)
    try:
        files, size, synthetic = publish(args.results, args.to)
    except AnalysisError as err:
        print(f"error: {err.source}: {err.problem}", file=sys.stderr)
        return 2
    where = args.to.resolve()
    shown = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
    print(
        f"published {len(files)} files ({size / 1e6:.1f} MB) from {args.results} to {shown}; "
        f"commit them (git add {shown}) and the Pages workflow renders from them"
    )
    if synthetic:
        print("warning: these results are from synthetic data; the report will say so")
    return 0


if __name__ == "__main__":
    sys.exit(main())
