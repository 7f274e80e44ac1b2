"""Render a project: run cells, call pandoc for HTML
and typst, compile the PDF, publish atomically."""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from analysis.errors import AnalysisError
from analysis.publish import staged_folder
from qmdrender.citation import citation_appendix, citation_meta, title_block, typst_title
from qmdrender.config import (
    DEFAULT_EXECUTE,
    FIGURE_KEYS,
    FORMAT_EXTENSIONS,
    Project,
    as_list,
    check_document_options,
    deep_merge,
    directory_metadata,
    format_options,
    load_project,
)
from qmdrender.errors import RenderError
from qmdrender.execute import run_cells, to_markdown
from qmdrender.qmd import Document, parse_document

HERE = Path(__file__).resolve().parent
LUA_FILTER = HERE / "quarto.lua"
ASSETS = HERE / "assets"
HTML_TEMPLATE = ASSETS / "template.html"
HTML_CSS = ASSETS / "qmdrender.css"
PANDOC_ONLY_KEYS = {
    "title",
    "subtitle",
    "author",
    "date",
    "abstract",
    "lang",
    "link-citations",
    "toc-title",
}
TYPST_VARIABLES = {"papersize", "margin", "fontsize"}
MISSING_CITATION = re.compile(r"Citeproc: citation (\S+) not found")

Log = Callable[[str], None]


#: Format-options key that carries the command line's literal metadata to the pandoc calls.
LITERAL = "_literal-metadata"


def pandoc_path() -> str:
    """The pandoc binary shipped by pypandoc-binary."""
    try:
        import pypandoc
    except ImportError:
        raise RenderError(
            "pypandoc", "pypandoc-binary is not installed (pip install pypandoc-binary)"
        ) from None
    return pypandoc.get_pandoc_path()


def render_project(
    root: Path,
    log: Log = print,
    output_dir: Path | None = None,
    metadata: dict[str, str] | None = None,
) -> list[Path]:
    """Render every input of the project at ``root``; outputs appear only if all succeed.

    ``output_dir`` replaces the project's output-dir, as ``quarto render --output-dir`` does;
    ``metadata`` sets fields to literal strings over each document's, as ``quarto render -M``.
    """
    root = root.resolve()
    project = load_project(root)
    if output_dir is not None:
        project = dataclasses.replace(project, output_dir=output_dir.resolve())
    if metadata:
        project = dataclasses.replace(project, literal_metadata=dict(metadata))
    staging = Path(tempfile.mkdtemp(prefix=".qmdrender-", dir=root))
    try:
        if project.output_dir.resolve() == root:
            out_stage = staging / "output"
            out_stage.mkdir()
            _render_all(project, out_stage, staging, log)
            return publish_into_root(project, out_stage)
        try:
            with staged_folder(project.output_dir) as out_stage:
                _render_all(project, out_stage, staging, log)
                files = sorted(
                    p.relative_to(out_stage) for p in out_stage.rglob("*") if p.is_file()
                )
        except AnalysisError as err:
            raise RenderError(err.source, err.problem) from None
        return [project.output_dir / rel for rel in files]
    finally:
        if os.environ.get("QMDRENDER_KEEP"):  # debugging: keep the intermediate files
            print(f"qmdrender: kept {staging}", file=sys.stderr)
        else:
            shutil.rmtree(staging, ignore_errors=True)


def _render_all(project: Project, out_stage: Path, staging: Path, log: Log) -> None:
    """Render every input into ``out_stage`` and run the post-render scripts there."""
    for source in project.inputs:
        render_document(project, source, out_stage, staging / "work" / source.stem, log)
    run_post_render(project, out_stage)


def render_document(project: Project, source: Path, out_stage: Path, work: Path, log: Log) -> None:
    """Execute one ``.qmd`` once and write one file per format into ``out_stage``."""
    rel = source.relative_to(project.root)
    log(f"qmdrender: {rel}")
    doc = parse_document(source, project.root)
    check_document_options(rel, doc.front_matter)
    folder = directory_metadata(project.root, source)  # report/_metadata.yml, as Quarto
    meta = resolve_date(deep_merge(deep_merge(project.metadata, folder), doc.front_matter), source)
    meta = {**meta, **project.literal_metadata}  # -M KEY:VALUE, over every other
    formats = format_options(meta)
    if not formats:
        raise RenderError(rel, "no output format (set format: html and/or typst)")
    defaults = deep_merge(DEFAULT_EXECUTE, meta.get("execute", {}) or {})
    figure = figure_options(rel, formats)
    cwd = project.root if project.execute_dir == "project" else source.parent
    env = {
        "QUARTO_PROJECT_ROOT": str(project.root),
        "QUARTO_DOCUMENT_PATH": str(source.parent),
        "QUARTO_DOCUMENT_FILE": source.name,
    }
    work.mkdir(parents=True)
    if doc.cells:
        log(f"  running {len(doc.cells)} cells")
        run_cells(doc, cwd, env, figure, defaults)
    target_dir = out_stage / rel.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    for name, options in formats.items():
        out = target_dir / f"{source.stem}.{FORMAT_EXTENSIONS[name]}"
        log(f"  writing {name}")
        body = to_markdown(
            doc,
            work / "figures",
            name,
            defaults,
            bool(options.get("code-fold")),
            str(options.get("code-summary", "Code")),
        )
        if name == "html":
            body += citation_appendix(meta)
        (work / f"{name}.md").write_text(body, encoding="utf-8")
        write_metadata(
            work / f"{name}.yaml",
            {k: v for k, v in meta.items() if k not in project.literal_metadata},
            options,
            source.parent,
            html=name == "html",
        )
        options = {**options, LITERAL: project.literal_metadata}
        if name == "html":
            pandoc_html(rel, work, options, meta, source.parent, out)
        else:
            pandoc_typst(rel, work, options, source.parent, out)


def figure_options(rel: Path, formats: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Figure options shared by all formats (cells run once, so they must agree)."""
    merged: dict[str, Any] = {}
    for options in formats.values():
        for key in FIGURE_KEYS & options.keys():
            if key in merged and merged[key] != options[key]:
                raise RenderError(
                    rel,
                    f"{key} differs between formats; qmdrender runs the cells once, so set it once",
                )
            merged[key] = options[key]
    return merged


def resolve_date(meta: dict[str, Any], source: Path) -> dict[str, Any]:
    """Quarto's date keywords (today, now, last-modified) and YAML dates as an ISO date string."""
    value = meta.get("date")
    if value in ("today", "now"):
        value = datetime.date.today()
    elif value == "last-modified":
        value = datetime.date.fromtimestamp(source.stat().st_mtime)
    if isinstance(value, datetime.date):
        return {**meta, "date": value.isoformat()[:10]}
    return meta


def display_date(value: Any) -> Any:
    """An ISO date as Quarto shows it in HTML ("November 25, 2026"); anything else unchanged."""
    try:
        day = datetime.date.fromisoformat(str(value))
    except ValueError:
        return value
    return f"{day:%B} {day.day}, {day.year}"


def _absolute(paths: Any, base: Path) -> Any:
    if isinstance(paths, list):
        return [str((base / p).resolve()) for p in paths]
    return str((base / paths).resolve())


def write_metadata(
    path: Path, meta: dict[str, Any], options: dict[str, Any], doc_dir: Path, html: bool = False
) -> None:
    """The metadata pandoc sees: document fields,
    bibliography paths made absolute, typst variables."""
    out = {k: v for k, v in meta.items() if k in PANDOC_ONLY_KEYS}
    if "toc-title" in options:
        out["toc-title"] = options["toc-title"]
    for key in ("bibliography", "csl"):
        if key in meta:
            out[key] = _absolute(meta[key], doc_dir)
    if isinstance(out.get("author"), list):
        out["author"] = [a.get("name", a) if isinstance(a, dict) else a for a in out["author"]]
    if html:
        out.setdefault(
            "link-citations", True
        )  # as Quarto's HTML: citations link to the reference list
        out["author-label"] = "Authors" if len(title_block(meta)["authors"]) > 1 else "Author"
        out.update(title_block(meta))
        if "date" in out:
            out["date"] = display_date(out["date"])
    else:
        out.update(typst_title(meta, str(out.get("date", ""))))
    for key in TYPST_VARIABLES & options.keys():
        out[key] = options[key]
    if "section-numbering" in options:
        out["section-numbering"] = options["section-numbering"]
    path.write_text(yaml.safe_dump(out, allow_unicode=True, sort_keys=False), encoding="utf-8")


def common_args(work: Path, name: str, options: dict[str, Any], doc_dir: Path) -> list[str]:
    """Pandoc arguments shared by both formats (the filter runs before citeproc)."""
    args = [
        f"{name}.md",
        "--from",
        "markdown",
        "--standalone",
        "--wrap=none",  # as Quarto
        "--lua-filter",
        str(LUA_FILTER),
        "--citeproc",
        "--metadata-file",
        f"{name}.yaml",
        "--resource-path",
        os.pathsep.join([str(work), str(doc_dir)]),
    ]
    if options.get("toc"):
        args += ["--toc", f"--toc-depth={int(options.get('toc-depth', 3))}"]
    if options.get("number-sections"):
        args.append("--number-sections")
    for key, value in (options.get(LITERAL) or {}).items():
        args.append(f"--metadata={key}:{value}")  # pandoc's -M: a literal string, as Quarto's
    return args


def run_pandoc(rel: Path, work: Path, args: list[str]) -> None:
    """Run pandoc in ``work``; turn a failure or any warning into one RenderError."""
    proc = subprocess.run([pandoc_path(), *args], cwd=work, capture_output=True, text=True)
    lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
    for line in lines:
        if "qmdrender: " in line:
            raise RenderError(rel, line.split("qmdrender: ", 1)[1])
    for line in lines:
        missing = MISSING_CITATION.search(line)
        if missing:
            raise RenderError(
                rel, f"unresolved citation @{missing.group(1)} (not in the bibliography)"
            )
    if proc.returncode != 0:
        useful = [
            line
            for line in lines
            if not line.startswith(("stack traceback", "[C]", "(...", "Error running filter"))
            and not re.match(r"^\S+\.lua:\d+: in ", line)
        ]
        raise RenderError(
            rel, f"pandoc failed: {useful[0] if useful else f'exit code {proc.returncode}'}"
        )
    warnings = [line for line in lines if line.startswith("[WARNING]")]
    if warnings:
        raise RenderError(rel, f"pandoc: {warnings[0]}")


def pandoc_html(
    rel: Path, work: Path, options: dict[str, Any], meta: dict[str, Any], doc_dir: Path, out: Path
) -> None:
    """One self-contained HTML file (images, CSS embedded; MathML, so no CDN script)."""
    args = common_args(work, "html", options, doc_dir)
    args += [
        "--to",
        "html5",
        "--embed-resources",
        "--mathml",
        "--template",
        str(HTML_TEMPLATE),
        "--css",
        str(HTML_CSS),
    ]
    for css in as_list(options.get("css")):
        args += ["--css", str((doc_dir / css).resolve())]
    header = work / "citation-meta.html"
    header.write_text(citation_meta(meta), encoding="utf-8")
    args += ["--include-in-header", str(header)]
    for include in as_list(options.get("include-in-header")):
        args += ["--include-in-header", str((doc_dir / include).resolve())]
    if options.get("toc"):
        args += ["--include-after-body", str(ASSETS / "toc.html")]
    if options.get("lightbox"):
        args += ["--include-after-body", str(ASSETS / "lightbox.html")]
    run_pandoc(rel, work, args + ["--output", str(out)])


def pandoc_typst(rel: Path, work: Path, options: dict[str, Any], doc_dir: Path, out: Path) -> None:
    """``pandoc -t typst`` then the typst compiler (Python package) to PDF."""
    try:
        import typst
    except ImportError:
        raise RenderError(
            "typst", "the typst Python package is not installed (pip install typst)"
        ) from None
    typ = work / "index.typ"
    run_pandoc(
        rel,
        work,
        common_args(work, "typst", options, doc_dir) + ["--to", "typst", "--output", str(typ)],
    )
    try:
        typst.compile(str(typ), output=str(out), root=str(work))
    except Exception as exc:  # typst reports compile errors as its own exception types
        first = str(exc).strip().splitlines()
        raise RenderError(
            rel, f"typst failed: {first[0] if first else type(exc).__name__}"
        ) from None


def run_post_render(project: Project, out_stage: Path) -> None:
    """Run ``project.post-render`` scripts against the staged output, as Quarto does."""
    for script in project.post_render:
        parts = script.split()
        command = [sys.executable, *parts] if parts[0].endswith(".py") else parts
        env = {
            **os.environ,
            "QUARTO_PROJECT_OUTPUT_DIR": str(out_stage),
            "QUARTO_PROJECT_DIR": str(project.root),
        }
        proc = subprocess.run(command, cwd=project.root, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            raise RenderError(
                parts[0], f"post-render script failed: {lines[-1] if lines else proc.returncode}"
            )


def publish_into_root(project: Project, out_stage: Path) -> list[Path]:
    """Move the staged output file by file into the project root (an output-dir of '.')."""
    files = sorted(p.relative_to(out_stage) for p in out_stage.rglob("*") if p.is_file())
    for rel in files:
        (project.root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(out_stage / rel, project.root / rel)
    return [project.root / rel for rel in files]


__all__ = ["render_project", "Document"]
