"""Parse a ``.qmd`` file: front matter, includes, markdown and executable cells."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qmdrender.config import read_yaml
from qmdrender.errors import RenderError

#: Cell options qmdrender implements (``#| key: value``).
CELL_KEYS = {
    "label",
    "fig-cap",
    "fig-alt",
    "tbl-cap",
    "echo",
    "eval",
    "output",
    "include",
    "warning",
}

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<ticks>`{3,}|~{3,})\s*(?P<info>.*?)\s*$")
CELL_INFO = re.compile(r"^\{(?P<engine>[A-Za-z][\w-]*)(?P<rest>[^}]*)\}$")
INCLUDE = re.compile(r"^\s*\{\{<\s*include\s+(?P<path>\S+)\s*>\}\}\s*$")
SHORTCODE = re.compile(r"\{\{[<%]")
INLINE_CODE = re.compile(r"`\{[A-Za-z][\w-]*\}")
OPTION = re.compile(r"^#\|\s?(?P<text>.*)$")


@dataclass
class Markdown:
    """Literal markdown passed to pandoc."""

    text: str


@dataclass
class Cell:
    """One executable Python cell with its ``#|`` options."""

    source: str
    options: dict[str, Any]
    path: Path
    line: int
    outputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def where(self) -> str:
        """``file:line`` of the cell's opening fence, for messages."""
        return f"{self.path}:{self.line}"

    @property
    def name(self) -> str:
        """The cell's label, or its position when it has none."""
        return str(self.options.get("label", f"at line {self.line}"))


@dataclass
class Document:
    """A parsed ``.qmd``: its front matter and its body as markdown and cells."""

    path: Path
    front_matter: dict[str, Any]
    chunks: list[Markdown | Cell]

    @property
    def cells(self) -> list[Cell]:
        """The executable cells, in order."""
        return [c for c in self.chunks if isinstance(c, Cell)]


def split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], list[str], int]:
    """Return (front matter, body lines, line number of the first body line)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, lines, 1
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            meta = read_yaml(path, "\n".join(lines[1:i]))
            return meta, lines[i + 1 :], i + 2
    raise RenderError(path, "front matter opened with '---' is never closed")


def parse_options(
    cell_path: Path, line: int, source_lines: list[str]
) -> tuple[dict[str, Any], str]:
    """Split the leading ``#|`` option lines off a cell; check every option is supported."""
    option_lines: list[str] = []
    for text in source_lines:
        match = OPTION.match(text)
        if not match:
            break
        option_lines.append(match.group("text"))
    code = "\n".join(source_lines[len(option_lines) :])
    try:
        options = yaml.safe_load("\n".join(option_lines)) if option_lines else {}
    except yaml.YAMLError as exc:
        raise RenderError(
            f"{cell_path}:{line}", f"invalid cell options: {getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(options, dict):
        raise RenderError(f"{cell_path}:{line}", "cell options must be 'key: value' lines")
    for key in options:
        if key not in CELL_KEYS:
            raise RenderError(
                f"{cell_path}:{line}",
                f"unsupported cell option '{key}' (qmdrender "
                f"supports {', '.join(sorted(CELL_KEYS))})",
            )
    output = options.get("output", True)
    if output not in (True, False, "asis"):
        raise RenderError(
            f"{cell_path}:{line}", f"unsupported value output: {output!r} (true, false or asis)"
        )
    return options, code


def parse_body(
    path: Path, lines: list[str], first_line: int, root: Path, seen: tuple[Path, ...]
) -> list[Markdown | Cell]:
    """Turn body lines into chunks, expanding includes and refusing unsupported syntax.

    ``path`` is the file as shown in messages; ``seen[-1]`` is its real path (for includes).
    """
    chunks: list[Markdown | Cell] = []
    text: list[str] = []
    i = 0
    while i < len(lines):
        line, lineno = lines[i], first_line + i
        fence = FENCE.match(line)
        if fence:
            ticks, info = fence.group("ticks"), fence.group("info")
            end = _closing_fence(lines, i + 1, ticks)
            if end is None:
                raise RenderError(f"{path}:{lineno}", "code block is never closed")
            cell = CELL_INFO.match(info)
            if cell:
                engine = cell.group("engine")
                if engine != "python" or cell.group("rest").strip():
                    raise RenderError(
                        f"{path}:{lineno}",
                        f"unsupported executable cell '{{{info[1:-1]}}}' "
                        "(qmdrender runs plain {python} cells)",
                    )
                if fence.group("indent"):
                    raise RenderError(
                        f"{path}:{lineno}", "indented executable cells are not supported"
                    )
                options, code = parse_options(path, lineno, lines[i + 1 : end])
                if text:
                    chunks.append(Markdown("\n".join(text)))
                    text = []
                chunks.append(Cell(source=code, options=options, path=path, line=lineno))
            elif info.startswith("{{"):
                raise RenderError(f"{path}:{lineno}", f"unsupported code block '{info}'")
            else:
                text.extend(lines[i : end + 1])
            i = end + 1
            continue
        include = INCLUDE.match(line)
        if include:
            text_chunks = include_file(path, seen[-1], lineno, include.group("path"), root, seen)
            if text:
                chunks.append(Markdown("\n".join(text)))
                text = []
            chunks.extend(text_chunks)
            i += 1
            continue
        if SHORTCODE.search(line):
            raise RenderError(
                f"{path}:{lineno}",
                f"unsupported shortcode '{line.strip()}' (qmdrender supports only include)",
            )
        if INLINE_CODE.search(line):
            raise RenderError(
                f"{path}:{lineno}", "inline code expressions (`{python} ...`) are not supported"
            )
        text.append(line)
        i += 1
    if text:
        chunks.append(Markdown("\n".join(text)))
    return chunks


def _closing_fence(lines: list[str], start: int, ticks: str) -> int | None:
    for j in range(start, len(lines)):
        stripped = lines[j].strip()
        if stripped and set(stripped) == {ticks[0]} and len(stripped) >= len(ticks):
            return j
    return None


def include_file(
    path: Path, real: Path, lineno: int, target: str, root: Path, seen: tuple[Path, ...]
) -> list[Markdown | Cell]:
    """Expand ``{{< include target >}}`` (relative to
    the including file, or to the project with '/')."""
    included = (root / target.lstrip("/")) if target.startswith("/") else (real.parent / target)
    included = included.resolve()
    if not included.is_file():
        raise RenderError(f"{path}:{lineno}", f"included file '{target}' not found")
    if included in seen:
        raise RenderError(f"{path}:{lineno}", f"'{target}' includes itself")
    display = _display(included, root)
    meta, body, first = split_front_matter(display, included.read_text(encoding="utf-8"))
    if meta:
        raise RenderError(display, "an included file cannot have front matter")
    return parse_body(display, body, first, root, seen + (included,))


def _display(path: Path, root: Path) -> Path:
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        return path


def parse_document(path: Path, root: Path) -> Document:
    """Read and parse one ``.qmd`` file of the project at ``root``."""
    display = _display(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RenderError(display, exc.strerror or str(exc)) from None
    meta, body, first = split_front_matter(display, text)
    chunks = parse_body(display, body, first, root, (path.resolve(),))
    return Document(path=path, front_matter=meta, chunks=chunks)
