"""Project and document options: load ``_quarto.yml``, merge front matter, check support."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qmdrender.errors import RenderError

#: Options qmdrender implements. Anything else is refused, never ignored.
PROJECT_KEYS = {"type", "output-dir", "render", "execute-dir", "post-render"}
EXECUTE_KEYS = {"echo", "eval", "output", "warning", "include"}
FIGURE_KEYS = {"fig-format", "fig-dpi", "fig-width", "fig-height"}
COMMON_FORMAT_KEYS = {"toc", "toc-depth", "toc-title", "number-sections"} | FIGURE_KEYS
FORMAT_KEYS = {
    "html": COMMON_FORMAT_KEYS
    | {
        "embed-resources",
        "code-fold",
        "code-summary",
        "html-math-method",
        "css",
        "lightbox",
        "include-in-header",
    },
    # template-partials: Quarto's typst partials; qmdrender builds the same title block itself
    # (qmdrender/citation.py typst_title), so the partial's effect is matched, not the file read.
    "typst": COMMON_FORMAT_KEYS
    | {"papersize", "margin", "fontsize", "citeproc", "section-numbering", "template-partials"},
}
DOCUMENT_KEYS = {
    "title",
    "subtitle",
    "author",
    "date",
    "abstract",
    "keywords",
    "license",
    "doi",
    "lang",
    "bibliography",
    "csl",
    "link-citations",
    "citation",
    "google-scholar",
    "execute",
    "format",
    "jupyter",
}
#: Format options naming files; in _quarto.yml they are relative to the project, as in Quarto.
PATH_KEYS = {"css", "include-in-header"}
FORMAT_EXTENSIONS = {"html": "html", "typst": "pdf"}
DEFAULT_EXECUTE = {"echo": True, "eval": True, "output": True, "warning": True, "include": True}


@dataclass
class Project:
    """A Quarto project directory and its ``_quarto.yml``."""

    root: Path
    output_dir: Path
    inputs: list[Path]
    execute_dir: str
    post_render: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    #: `-M KEY:VALUE` from the command line: literal strings over every document's metadata
    literal_metadata: dict[str, str] = field(default_factory=dict)


def read_yaml(path: Path, text: str | None = None) -> dict[str, Any]:
    """Parse a YAML mapping, turning any problem into a RenderError."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8") if text is None else text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise RenderError(path, f"invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    except OSError as exc:
        raise RenderError(path, exc.strerror or str(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RenderError(path, "expected a YAML mapping")
    return data


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into a copy of ``base`` (mappings recursively, other values replaced)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def as_list(value: Any) -> list[Any]:
    """A YAML value that may be one item or a list, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _from_root(root: Path, value: Any) -> Any:
    """A path (or list of paths) from _quarto.yml, made absolute against the project root."""
    return [str(root / v) for v in value] if isinstance(value, list) else str(root / value)


def load_project(root: Path) -> Project:
    """Read ``root/_quarto.yml`` and check that qmdrender supports every project option."""
    config_path = root / "_quarto.yml"
    if not config_path.is_file():
        raise RenderError(config_path, "no Quarto project here (_quarto.yml missing)")
    config = read_yaml(config_path)
    project = config.pop("project", {}) or {}
    if not isinstance(project, dict):
        raise RenderError(config_path, "'project' must be a mapping")
    for key in project:
        if key not in PROJECT_KEYS:
            raise RenderError(
                config_path,
                f"unsupported project option '{key}' (qmdrender "
                f"supports {', '.join(sorted(PROJECT_KEYS))})",
            )
    if project.get("type", "default") != "default":
        raise RenderError(
            config_path, f"unsupported project type '{project['type']}' (only 'default')"
        )
    execute_dir = project.get("execute-dir", "file")
    if execute_dir not in ("file", "project"):
        raise RenderError(
            config_path, f"execute-dir must be 'file' or 'project', not '{execute_dir}'"
        )
    inputs = [root / p for p in as_list(project.get("render"))]
    if not inputs:
        inputs = sorted(
            p
            for p in root.rglob("*.qmd")
            if not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts)
        )
    for path in inputs:
        if path.suffix != ".qmd":
            raise RenderError(
                config_path, f"can only render .qmd files, not '{path.relative_to(root)}'"
            )
        if not path.is_file():
            raise RenderError(path, "listed in project.render but missing")
    check_document_options(config_path, config)
    for key in (
        "bibliography",
        "csl",
    ):  # project paths are relative to the project, not the document
        if key in config:
            config[key] = _from_root(root, config[key])
    formats = config.get("format")
    for options in formats.values() if isinstance(formats, dict) else []:
        if isinstance(options, dict):
            for key in PATH_KEYS & options.keys():
                options[key] = _from_root(root, options[key])
    return Project(
        root=root,
        output_dir=root / project.get("output-dir", "."),
        inputs=inputs,
        execute_dir=execute_dir,
        post_render=[str(s) for s in as_list(project.get("post-render"))],
        metadata=config,
    )


def directory_metadata(root: Path, source: Path) -> dict[str, Any]:
    """Quarto's directory metadata: the ``_metadata.yml`` files from the project root down to the
    document's folder, merged in that order (the nearer folder wins; front matter wins over all)."""
    root = root.resolve()
    folder = source.resolve().parent
    chain = [d for d in (folder, *folder.parents) if d == root or root in d.parents]
    merged: dict[str, Any] = {}
    for directory in reversed(chain):
        path = directory / "_metadata.yml"
        if path.is_file():
            data = read_yaml(path)
            check_document_options(path, data)
            merged = deep_merge(merged, data)
    return merged


def check_document_options(path: Path, meta: dict[str, Any]) -> None:
    """Refuse document, execute and format options that qmdrender does not implement."""
    for key in meta:
        if key not in DOCUMENT_KEYS and key not in COMMON_FORMAT_KEYS:
            raise RenderError(path, f"unsupported option '{key}' (qmdrender does not implement it)")
    execute = meta.get("execute", {}) or {}
    if not isinstance(execute, dict):
        raise RenderError(path, "'execute' must be a mapping")
    for key in execute:
        if key not in EXECUTE_KEYS:
            raise RenderError(path, f"unsupported execute option '{key}'")
    formats = meta.get("format", {})
    if isinstance(formats, str):
        formats = {formats: {}}
    if not isinstance(formats, dict):
        raise RenderError(path, "'format' must be a mapping of format names to options")
    for name, options in formats.items():
        if name not in FORMAT_KEYS:
            raise RenderError(
                path, f"unsupported format '{name}' (qmdrender renders {', '.join(FORMAT_KEYS)})"
            )
        if options in (None, "default"):
            continue
        if not isinstance(options, dict):
            raise RenderError(path, f"format '{name}' options must be a mapping")
        for key in options:
            if key not in FORMAT_KEYS[name]:
                raise RenderError(path, f"unsupported {name} option '{key}'")
        if name == "html":
            if options.get("embed-resources") is not True:
                raise RenderError(
                    path,
                    "html needs 'embed-resources: true' (qmdrender writes one self-contained file)",
                )
            if options.get("html-math-method", "mathml") != "mathml":
                raise RenderError(
                    path,
                    "html-math-method must be 'mathml' (other methods load scripts from a CDN)",
                )
        if name == "typst" and options.get("citeproc", True) is not True:
            raise RenderError(
                path, "typst needs 'citeproc: true' (qmdrender formats citations with pandoc)"
            )


def format_options(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-format options, with document-level format-independent options applied to each format."""
    formats = meta.get("format", {}) or {}
    if isinstance(formats, str):
        formats = {formats: {}}
    shared = {k: v for k, v in meta.items() if k in COMMON_FORMAT_KEYS}
    return {
        name: deep_merge(shared, opts if isinstance(opts, dict) else {})
        for name, opts in formats.items()
    }
