"""Run report/index.qmd's Python cells in this process, as the renderers would, without rendering:
every figure, table and sentence the report package builds for a results folder, per cell."""

from __future__ import annotations

import contextlib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from qmdrender.qmd import Cell, Markdown, parse_document  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
QMD = ROOT / "report" / "index.qmd"
#: Cross-references in the report: @fig-…, @tbl-…
REFERENCE = re.compile(r"@((?:fig|tbl)-[A-Za-z0-9_-]+)")


@dataclass
class CellOutput:
    """What one cell printed, and the figures it left open (with their axes' content counts)."""

    label: str
    text: str
    figures: int
    empty_axes: int = 0


@dataclass
class Built:
    """Every cell's output, and the markdown between the cells."""

    cells: list[CellOutput] = field(default_factory=list)
    markdown: str = ""

    def by_label(self, label: str) -> CellOutput:
        return next(c for c in self.cells if c.label == label)

    @property
    def text(self) -> str:
        """Everything the reader would read: the static markdown and every cell's printed text."""
        return self.markdown + "\n" + "\n".join(c.text for c in self.cells)

    def targets(self) -> set[str]:
        """Labels a reference can point to: figure cells that drew, table cells that printed."""
        return {
            c.label
            for c in self.cells
            if (c.label.startswith("fig-") and c.figures)
            or (c.label.startswith("tbl-") and c.text.strip())
        }

    def dangling(self) -> list[str]:
        """@fig-/@tbl- references to a figure or table the report does not contain."""
        return sorted(set(REFERENCE.findall(self.text)) - self.targets())


def _empty_axes(fig) -> int:
    """Visible 2-d axes with nothing drawn in them (an empty panel)."""
    count = 0
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison or ax.name != "rectangular":
            continue
        if getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>":
            continue
        drawn = ax.lines + ax.collections + ax.patches + ax.images + ax.texts
        if not drawn:
            count += 1
    return count


def build(results: Path, qmd: Path = QMD) -> Built:
    """Execute every Python cell of the report on `results`; a cell that raises propagates."""
    document = parse_document(qmd, ROOT)
    built = Built()
    namespace: dict = {"__name__": "__report__"}
    previous = os.environ.get("RSA_RESULTS")
    os.environ["RSA_RESULTS"] = str(results)
    plt.close("all")
    try:
        for chunk in document.chunks:
            if isinstance(chunk, Markdown):
                built.markdown += chunk.text + "\n"
                continue
            assert isinstance(chunk, Cell)
            if chunk.options.get("eval") is False:
                continue
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                try:
                    exec(compile(chunk.source, f"{qmd}:{chunk.name}", "exec"), namespace)
                except Exception as err:
                    raise AssertionError(f"cell {chunk.name} failed: {err!r}") from err
            figures = [plt.figure(n) for n in plt.get_fignums()]
            built.cells.append(
                CellOutput(
                    label=chunk.name,
                    text=out.getvalue(),
                    figures=len(figures),
                    empty_axes=sum(_empty_axes(f) for f in figures),
                )
            )
            plt.close("all")
    finally:
        if previous is None:
            os.environ.pop("RSA_RESULTS", None)
        else:
            os.environ["RSA_RESULTS"] = previous
    return built
