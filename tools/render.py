"""Render the report from a results folder, unless nothing it depends on has changed.

Uses `quarto render` when Quarto is on PATH, otherwise `python -m qmdrender` on the same sources.
The render key is a sha256 over the results folder, the report sources, the renderer and its
version; it is stored in `_output/.render-key` after a successful render. The renderer's name and
version reach the report's cells in RSA_RENDERER, for its provenance appendix.

Usage: python tools/render.py --results results/demo [--force]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from analysis.errors import AnalysisError  # noqa: E402  (after the path: runs from a source tree too)
from analysis.publish import locked  # noqa: E402
OUTPUT = ROOT / "_output"
KEY_FILE = OUTPUT / ".render-key"
OUTPUTS = ("index.html", "index.pdf")
SOURCES = ("report", "_quarto.yml", "references.bib", "qmdrender", "tools/render.py")


def renderer() -> tuple[list[str], str]:
    """The render command and a name-and-version line for provenance."""
    quarto = shutil.which("quarto")
    if quarto:
        version = subprocess.run([quarto, "--version"], capture_output=True, text=True).stdout.strip()
        return [quarto, "render"], f"Quarto {version}"
    from qmdrender import identity
    return [sys.executable, "-m", "qmdrender"], identity()


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def render_key(results: Path, renderer_line: str) -> str:
    """sha256 over everything the rendered report depends on."""
    digest = hashlib.sha256(renderer_line.encode() + b"\0" + str(results).encode() + b"\0")
    for path in [*_files(results), *(f for s in SOURCES for f in _files(ROOT / s))]:
        digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the report when its inputs changed.")
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    results = args.results if args.results.is_absolute() else (Path.cwd() / args.results)
    if not (results / "manifest.json").is_file():
        print(f"error: {args.results}: no results folder (run the analysis first: make analysis)",
              file=sys.stderr)
        return 2
    try:
        with locked(OUTPUT, busy="another render is writing the report"):
            return render(results, args.force)
    except AnalysisError as err:
        print(f"error: {err.source}: {err.problem}", file=sys.stderr)
        return 2


def render(results: Path, force: bool) -> int:
    """Render unless the key of the last successful render matches (call under the lock)."""
    command, renderer_line = renderer()
    key = render_key(results.resolve(), renderer_line)
    fresh = all((OUTPUT / name).is_file() for name in OUTPUTS)
    if not force and fresh and KEY_FILE.is_file() and KEY_FILE.read_text().strip() == key:
        print(f"report up to date: cached render reused (key {key[:12]}); nothing re-rendered")
        return 0
    print(f"rendering with {renderer_line}", flush=True)
    env = {**os.environ, "RSA_RESULTS": str(results), "RSA_RENDERER": renderer_line}
    done = subprocess.run(command, cwd=ROOT, env=env)
    if done.returncode != 0:
        return done.returncode
    KEY_FILE.write_text(key + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
