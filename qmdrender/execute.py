"""Run a document's cells in a Jupyter kernel and turn their outputs into markdown."""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import nbformat
import zmq
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from qmdrender.errors import RenderError
from qmdrender.qmd import Cell, Document, Markdown

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PIPE_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
CELL_TIMEOUT = 600


def setup_source(fig: dict[str, Any]) -> str:
    """Kernel setup like Quarto's: inline matplotlib with the document's figure options."""
    fmt = fig.get("fig-format", "png")
    if fmt not in ("png", "svg"):
        raise RenderError("_quarto.yml", f"fig-format '{fmt}' is not supported (png or svg)")
    width, height = fig.get("fig-width", 7), fig.get("fig-height", 5)
    dpi = fig.get("fig-dpi", 96)
    return "\n".join(
        [
            "%matplotlib inline",
            "from matplotlib_inline.backend_inline import set_matplotlib_formats",
            f"set_matplotlib_formats({fmt!r})",
            "import matplotlib as _mpl",
            f"_mpl.rcParams['figure.figsize'] = ({float(width)}, {float(height)})",
            f"_mpl.rcParams['figure.dpi'] = {float(dpi)}",
            "del _mpl, set_matplotlib_formats",
        ]
    )


def run_cells(
    doc: Document, cwd: Path, env: dict[str, str], fig: dict[str, Any], defaults: dict[str, Any]
) -> None:
    """Execute the document's cells in order, storing
    outputs on each Cell; stop at the first error."""
    cells = [c for c in doc.cells if _option(c, "eval", defaults)]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(setup_source(fig))] + [
        nbformat.v4.new_code_cell(c.source) for c in cells
    ]
    # Local IPC sockets in a private folder (short path: socket names are limited to ~100 bytes)
    # rather than unencrypted TCP ports.
    sockets = Path(tempfile.mkdtemp(prefix="qmdk-", dir="/tmp" if Path("/tmp").is_dir() else None))
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(sockets / "k"))
    client = NotebookClient(
        nb,
        km=km,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(cwd)}},
        allow_errors=False,
        record_timing=False,
    )
    try:
        with client.setup_kernel(cwd=str(cwd), env={**os.environ, **env}):
            for index, nb_cell in enumerate(nb.cells):
                cell = cells[index - 1] if index else None
                try:
                    client.execute_cell(nb_cell, index)
                except CellExecutionError as exc:
                    where = cell.where if cell else str(doc.path)
                    what = f"cell {cell.name} failed" if cell else "kernel setup failed"
                    message = ANSI.sub("", str(exc.evalue or "")).strip().splitlines()
                    detail = f"{exc.ename}: {message[-1]}" if message else str(exc.ename)
                    raise RenderError(where, f"{what}: {detail}") from None
                except CellTimeoutError:
                    where = cell.where if cell else str(doc.path)
                    raise RenderError(where, f"cell timed out after {CELL_TIMEOUT} s") from None
                except DeadKernelError:
                    raise RenderError(
                        cell.where if cell else str(doc.path), "the Jupyter kernel died"
                    ) from None
                if cell is not None:
                    cell.outputs = list(nb_cell.get("outputs", []))
    except (RuntimeError, OSError, zmq.ZMQError) as exc:  # kernel could not start
        raise RenderError(doc.path, f"could not start the python3 Jupyter kernel: {exc}") from None
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
        km.cleanup_resources()
        shutil.rmtree(sockets, ignore_errors=True)


def _option(cell: Cell, key: str, defaults: dict[str, Any]) -> Any:
    return cell.options.get(key, defaults.get(key))


def to_markdown(
    doc: Document,
    fig_dir: Path,
    fmt: str,
    defaults: dict[str, Any],
    code_fold: bool,
    code_summary: str,
) -> str:
    """The document body as pandoc markdown for one
    output format, cells replaced by their outputs."""
    parts: list[str] = []
    for chunk in doc.chunks:
        if isinstance(chunk, Markdown):
            parts.append(chunk.text)
        else:
            parts.append(cell_markdown(chunk, fig_dir, fmt, defaults, code_fold, code_summary))
    return "\n\n".join(parts) + "\n"


def cell_markdown(
    cell: Cell,
    fig_dir: Path,
    fmt: str,
    defaults: dict[str, Any],
    code_fold: bool,
    code_summary: str,
) -> str:
    """Markdown for one executed cell: optional code, then figures, tables or text."""
    if not _option(cell, "include", defaults):
        return ""
    parts: list[str] = []
    if _option(cell, "echo", defaults):
        code = fenced(cell.source, "python")
        if fmt == "html" and code_fold:
            code = f"<details>\n<summary>{code_summary}</summary>\n\n{code}\n\n</details>"
        parts.append(code)
    output = _option(cell, "output", defaults)
    if output is not False and _option(cell, "eval", defaults):
        parts.extend(
            output_markdown(
                cell,
                fig_dir,
                asis=output == "asis",
                warnings=bool(_option(cell, "warning", defaults)),
            )
        )
    label = str(cell.options.get("label", ""))
    if cell.options.get("tbl-cap") and not label.startswith("tbl-"):
        raise RenderError(
            cell.where,
            f"cell {cell.name} has tbl-cap but no tbl- label (needed for a numbered table)",
        )
    if label.startswith("tbl-") and any(p.strip() for p in parts):  # a table cell may print nothing
        return "\n\n".join(p for p in parts[:-1] if p) + "\n\n" + caption_table(cell, parts[-1])
    return "\n\n".join(p for p in parts if p)


def fenced(text: str, lang: str = "") -> str:
    """A fenced code block that survives backticks inside ``text``."""
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def merged_streams(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive stream outputs of one stream as
    one: the kernel may split a print at any point."""
    merged: list[dict[str, Any]] = []
    for out in outputs:
        previous = merged[-1] if merged else None
        if (
            out.get("output_type") == "stream"
            and previous is not None
            and previous.get("output_type") == "stream"
            and previous.get("name") == out.get("name")
        ):
            merged[-1] = {**previous, "text": previous.get("text", "") + out.get("text", "")}
        else:
            merged.append(out)
    return merged


def output_markdown(cell: Cell, fig_dir: Path, asis: bool, warnings: bool) -> list[str]:
    """Markdown for a cell's outputs; refuses outputs that would otherwise be lost."""
    label = str(cell.options.get("label", ""))
    parts: list[str] = []
    images = 0
    for out in merged_streams(cell.outputs):
        kind = out.get("output_type")
        if kind == "stream":
            text = ANSI.sub("", out.get("text", ""))
            if out.get("name") == "stderr":
                if warnings and text.strip():
                    parts.append(fenced(text))
            elif asis:
                parts.append(text.strip("\n"))
            elif text.strip():
                parts.append(fenced(text))
        elif kind in ("display_data", "execute_result"):
            data = out.get("data", {})
            image = next((m for m in ("image/png", "image/svg+xml") if m in data), None)
            if image:
                images += 1
                parts.append(image_markdown(cell, fig_dir, image, data[image], images))
            elif "text/markdown" in data:
                parts.append(str(data["text/markdown"]).strip("\n"))
            elif "text/html" in data and "text/plain" not in data:
                raise RenderError(
                    cell.where,
                    f"cell {cell.name} shows rich HTML output, "
                    "which qmdrender cannot put in the PDF",
                )
            elif "text/plain" in data:
                parts.append(
                    str(data["text/plain"]).strip("\n") if asis else fenced(str(data["text/plain"]))
                )
            else:
                raise RenderError(
                    cell.where,
                    f"cell {cell.name} shows output of type "
                    f"{', '.join(data)}, which qmdrender does not support",
                )
        elif kind == "error":  # only with allow_errors, which qmdrender never sets
            raise RenderError(cell.where, f"cell {cell.name} failed: {out.get('ename')}")
    # A figure cell may draw nothing (a figure the data do not support, as Quarto then shows
    # nothing); a reference to it is then unresolved, which the render refuses.
    if label.startswith("fig-") and images > 1:
        raise RenderError(
            cell.where, f"cell {cell.name} must draw at most one figure, it drew {images}"
        )
    return parts


def image_markdown(cell: Cell, fig_dir: Path, mime: str, payload: Any, number: int) -> str:
    """Save one image output and return its markdown (a captioned figure for fig- labels)."""
    label = str(cell.options.get("label", ""))
    stem = label or f"cell-{cell.line}"
    fig_dir.mkdir(parents=True, exist_ok=True)
    if mime == "image/png":
        path = fig_dir / f"{stem}-{number}.png"
        path.write_bytes(base64.b64decode(payload))
    else:
        path = fig_dir / f"{stem}-{number}.svg"
        path.write_text(payload if isinstance(payload, str) else "".join(payload), encoding="utf-8")
    link = path.relative_to(fig_dir.parent).as_posix()
    if label.startswith("fig-"):
        caption = cell.options.get("fig-cap")
        if not caption:
            raise RenderError(cell.where, f"cell {cell.name} has a fig- label but no fig-cap")
        alt = cell.options.get("fig-alt")
        attrs = f"#{label}" + (f' fig-alt="{_attr(alt)}"' if alt else "")
        return f"![{caption}]({link}){{{attrs}}}"
    if cell.options.get("fig-cap"):
        raise RenderError(
            cell.where,
            f"cell {cell.name} has fig-cap but no fig- label (needed for a numbered figure)",
        )
    return f"![]({link})"


def _attr(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def caption_table(cell: Cell, text: str) -> str:
    """Attach ``tbl-cap`` and the label to the one markdown pipe table a tbl- cell printed."""
    caption = cell.options.get("tbl-cap")
    if not caption:
        raise RenderError(cell.where, f"cell {cell.name} has a tbl- label but no tbl-cap")
    rows = [line for line in text.strip().splitlines()]
    if len(rows) < 2 or not all(PIPE_TABLE_ROW.match(r) for r in rows):
        raise RenderError(
            cell.where,
            f"cell {cell.name} must print one markdown pipe table or nothing (with output: asis)",
        )
    return text.strip() + f"\n\n: {caption} {{#{cell.options['label']}}}"
