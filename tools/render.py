"""Render the report from a results folder, unless nothing it depends on has changed.

Uses `quarto render` when Quarto is on PATH, otherwise `python -m qmdrender` on the same sources
(`--renderer` chooses one). Quarto runs the report's cells with this Python (QUARTO_PYTHON), so in
the project's virtual environment, not whatever `python3` comes first on PATH.

Both renderers write into a staged folder that replaces `_output/` only once both outputs exist
(analysis.publish), under a lock, so a failed render keeps the previous report. Quarto's scratch
folder `.quarto/` is removed afterwards: a render leaves the working tree as it found it.

The render key is a sha256 over the results folder, the report sources, the renderer and its
version; it is stored in `_output/.render-key` with the outputs. The renderer's name and version
reach the report's cells in RSA_RENDERER, for its provenance appendix.

Usage: python tools/render.py --results results/demo [--force] [--renderer auto|quarto|qmdrender]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from analysis.errors import AnalysisError  # noqa: E402  (after the path: runs from a source tree too)
from analysis.publish import locked, staged_folder  # noqa: E402

OUTPUT = ROOT / "_output"
KEY_NAME = ".render-key"
OUTPUTS = ("index.html", "index.pdf")
SOURCES = ("report", "_quarto.yml", "references.bib", "qmdrender", "tools/render.py")
RENDERERS = ("auto", "quarto", "qmdrender")
#: Quarto's per-project scratch folder (execution cache, cross-reference index).
QUARTO_SCRATCH = ROOT / ".quarto"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Renderer:
    """A render command that takes the output folder as its last argument."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def is_quarto(self) -> bool:
        """Whether this is the Quarto CLI (rather than the qmdrender fallback)."""
        return self.name.startswith("Quarto")


class RendererError(Exception):
    """The renderer stopped; its one error line has been printed."""

    def __init__(self, returncode: int) -> None:
        super().__init__(returncode)
        self.returncode = returncode


def find_renderer(choice: str = "auto") -> Renderer:
    """Quarto when on PATH (unless the fallback is asked
    for), else qmdrender; with a provenance name."""
    quarto = shutil.which("quarto") if choice != "qmdrender" else None
    if choice == "quarto" and not quarto:
        raise AnalysisError(
            "quarto", "not found on PATH (install Quarto, or use --renderer qmdrender)"
        )
    if quarto:
        version = subprocess.run(
            [quarto, "--version"], capture_output=True, text=True
        ).stdout.strip()
        return Renderer(
            f"Quarto {version}",
            [quarto, "render", "{metadata}", "--output-dir"],
            {"QUARTO_PYTHON": sys.executable},
        )
    from qmdrender import identity

    return Renderer(
        identity(),
        [
            sys.executable,
            "-m",
            "qmdrender",
            "--project",
            str(ROOT),
            "{metadata}",
            "--output-dir",
        ],
    )


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def render_key(results: Path, renderer_line: str) -> str:
    """sha256 over everything the rendered report depends on."""
    digest = hashlib.sha256(renderer_line.encode() + b"\0" + str(results).encode() + b"\0")
    for path in [*_files(results), *(f for s in SOURCES for f in _files(ROOT / s))]:
        digest.update(
            str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).encode() + b"\0"
        )
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the report when its inputs changed.")
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--force", action="store_true")
    parser.add_argument(
        "--renderer",
        choices=RENDERERS,
        default="auto",
        help="auto: Quarto when on PATH, else the qmdrender fallback (default)",
    )
    args = parser.parse_args(argv)
    results = args.results if args.results.is_absolute() else (Path.cwd() / args.results)
    if not (results / "manifest.json").is_file():
        print(
            f"error: {args.results}: no results folder (run the analysis first: make analysis)",
            file=sys.stderr,
        )
        return 2
    try:
        with locked(OUTPUT, busy="another render is writing the report"):
            return render(results, args.force, args.renderer)
    except RendererError as failed:
        return failed.returncode
    except AnalysisError as err:
        print(f"error: {err.source}: {err.problem}", file=sys.stderr)
        return 2


def render(results: Path, force: bool, choice: str = "auto") -> int:
    """Render unless the key of the last successful render matches (call under the lock)."""
    chosen = find_renderer(choice)
    key = render_key(results.resolve(), chosen.name)
    key_file = OUTPUT / KEY_NAME
    fresh = all((OUTPUT / name).is_file() for name in OUTPUTS)
    if not force and fresh and key_file.is_file() and key_file.read_text().strip() == key:
        print(f"report up to date: cached render reused (key {key[:12]}); nothing re-rendered")
        return 0
    print(f"rendering with {chosen.name}", flush=True)
    env = {**os.environ, **chosen.env, "RSA_RESULTS": str(results), "RSA_RENDERER": chosen.name}
    with staged_folder(OUTPUT) as stage, tempfile.TemporaryDirectory() as scratch:
        stage.chmod(0o755)  # a published folder, readable like any other (mkdtemp makes it private)
        metadata = metadata_args(results, Path(scratch) / "title.yml" if chosen.is_quarto else None)
        chosen = dataclasses.replace(
            chosen,
            command=[m for c in chosen.command for m in (metadata if c == "{metadata}" else [c])],
        )
        if chosen.is_quarto:
            run_quarto(chosen, stage, env)
        else:
            run_fallback(chosen, stage, env)
        missing = [name for name in OUTPUTS if not (stage / name).is_file()]
        if missing:
            raise AnalysisError(
                OUTPUT,
                f"{chosen.name} did not write {', '.join(missing)}; the previous report was kept",
            )
        (stage / KEY_NAME).write_text(key + "\n")
    for name in OUTPUTS:
        print(f"Output created: {(OUTPUT / name).relative_to(ROOT)}")
    return 0


def title_block(results: Path) -> dict[str, str]:
    """The document's title and subtitle from the results' manifest (the study's title and data
    set), literal strings for `-M KEY:VALUE` (both renderers print them as written)."""
    import json

    from report.text import document_metadata

    try:
        manifest = json.loads((results / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}  # the report's first cell names the problem
    block = document_metadata(manifest if isinstance(manifest, dict) else {})
    return {k: v for k, v in block.items() if k not in user_metadata()}


#: ASCII punctuation: a backslash before it makes pandoc's markdown show it as written.
MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def metadata_args(results: Path, quarto_file: Path | None = None) -> list[str]:
    """The title block as renderer arguments. qmdrender takes `-M KEY:VALUE` as a literal string,
    as pandoc does. Quarto reads every -M value as YAML as well and stops on one that is not valid
    YAML (a title such as "[draft] V1: *IT*"), so with `quarto_file` the block is written there
    and passed with --metadata-file (JSON, which is YAML): each ASCII punctuation mark
    backslash-escaped, so that Quarto's markdown reading of metadata shows the title as written,
    and the title as it is for the citation tags (`citation.title`, which Quarto takes as written),
    beside the paper's own citation fields."""
    block = title_block(results)
    if quarto_file is None:
        return [arg for key, value in block.items() for arg in ("-M", f"{key}:{value}")]
    import json

    metadata: dict = {key: MARKDOWN_PUNCTUATION.sub(r"\\\1", value) for key, value in block.items()}
    citation = user_metadata().get("citation")
    if "title" in block and citation:
        metadata["citation"] = {
            **(citation if isinstance(citation, dict) else {}),
            "title": block["title"],
        }
    quarto_file.write_text(json.dumps(metadata, ensure_ascii=False), encoding="utf-8")
    return ["--metadata-file", str(quarto_file)]


def user_metadata() -> dict:
    """The paper's own metadata (report/_metadata.yml, when present): a title the user set there
    wins over the study's."""
    import yaml

    path = ROOT / "report" / "_metadata.yml"
    try:
        found = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, yaml.YAMLError):
        return {}
    return found if isinstance(found, dict) else {}


def run_fallback(chosen: Renderer, stage: Path, env: dict[str, str]) -> None:
    """qmdrender into `stage`; it prints its own one-line error."""
    done = subprocess.run(
        [*chosen.command, str(stage)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    if done.returncode != 0:
        raise RendererError(done.returncode)


def run_quarto(chosen: Renderer, stage: Path, env: dict[str, str]) -> None:
    """`quarto render --output-dir stage`, its log kept
    aside; a failure becomes one line naming the log."""
    had_scratch = QUARTO_SCRATCH.exists()
    log = Path(tempfile.mkstemp(prefix="quarto-render-", suffix=".log")[1])
    try:
        with open(log, "w", encoding="utf-8") as sink:
            done = subprocess.run(
                [*chosen.command, str(stage)],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
    finally:
        if not had_scratch:
            shutil.rmtree(QUARTO_SCRATCH, ignore_errors=True)
    if done.returncode != 0:
        print(
            f"error: {quarto_failure(log.read_text(encoding='utf-8', errors='replace'))} "
            f"(full log: {log})",
            file=sys.stderr,
        )
        raise RendererError(2)
    log.unlink()


def quarto_failure(log: str) -> str:
    """One line from Quarto's log: the document, the
    failing cell and the exception, where it says them."""
    lines = [ANSI.sub("", line).strip() for line in log.splitlines()]
    lines = [line for line in lines if line]
    documents = [
        m.group(1) for line in lines if (m := re.match(r"^\[\s*\d+/\d+\]\s+(\S+\.qmd)", line))
    ]
    document = documents[-1] if documents else _single_input()
    cells = [m.group(1) for line in lines if (m := re.match(r"^Cell \d+/\d+: '([^']*)'", line))]
    errors = [line for line in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception)\b:?", line)]
    if "An error occurred while executing the following cell:" in lines and errors:
        cell = cells[-1] if cells else "?"
        return f"{document}: cell {cell} failed: {errors[-1]}"
    explicit = [line for line in lines if line.startswith(("ERROR:", "Error:"))]
    return f"{document}: Quarto failed: {(explicit or errors or lines or ['no output'])[-1]}"


def _single_input() -> str:
    try:
        from qmdrender.config import load_project

        inputs = load_project(ROOT).inputs
    except Exception:  # the message is best effort; the log has the details
        return "_quarto.yml"
    return str(inputs[0].relative_to(ROOT)) if len(inputs) == 1 else "_quarto.yml"


if __name__ == "__main__":
    sys.exit(main())
