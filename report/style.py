"""One look for every figure: palettes, sizes that fit an
A4 page, labels, and tick labels that never overlap."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.schema import method_label

#: Okabe & Ito's colour-blind-safe palette, black last: ROI groups and other categories.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000"]
#: Networks get seaborn's dark colour-blind palette,
#: distinct from the group colours in shared plots.
NETWORK_PALETTE = sns.color_palette("dark", 10).as_hex()
#: Perceptually uniform, colour-blind-safe map for r values.
SEQUENTIAL = "viridis"
#: Text width and usable height of the PDF page (A4, 2 cm margins), in inches.
PAGE_WIDTH = 6.7
PAGE_HEIGHT = 8.8
MAX_LEGEND_ENTRIES = 12
#: Smallest tick-label font before labels are thinned instead.
MIN_TICK_FONT = 5.0

sns.set_theme(
    context="paper",
    style="ticks",
    font_scale=1.0,
    rc={
        "axes.prop_cycle": plt.cycler(color=OKABE_ITO),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 8,
        "axes.titlesize": 8,
        "axes.labelsize": 8,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "legend.fontsize": 7,
        "legend.title_fontsize": 7,
        "figure.constrained_layout.use": True,
        "figure.dpi": 100,
        # Names come from the study: '$' and '_' are text, never mathtext.
        "text.parse_math": False,
    },
)


def measure_label(method: str) -> str:
    """Axis label naming the RDM comparison measure,
    e.g. 'Pearson r' (analysis.schema.METHOD_LABELS)."""
    return method_label(method)


def colours(names: Sequence[str], palette: Sequence[str] = OKABE_ITO) -> dict[str, str]:
    """A fixed colour per name, in order (cycles only past the palette's length)."""
    return {name: palette[k % len(palette)] for k, name in enumerate(names)}


def figure_height(height: float) -> float:
    """Cap a figure's height at the PDF page's usable height."""
    return float(min(max(height, 1.5), PAGE_HEIGHT))


def new_figure(width: float, height: float) -> Figure:
    """A figure no wider than the PDF text and no taller than its page."""
    return plt.figure(figsize=(min(width, PAGE_WIDTH), figure_height(height)))


def _tick_labels(ax: Axes, which: str) -> list:
    axis = {"x": ax.xaxis, "y": ax.yaxis, "z": getattr(ax, "zaxis", None)}[which]
    if axis is None:
        return []
    ticks = axis.get_major_ticks()
    labels = [tick.label1 for tick in ticks if tick.get_visible()] + [
        tick.label2 for tick in ticks if tick.get_visible()
    ]
    return [label for label in labels if label.get_visible() and label.get_text()]


def _overlapping(boxes: np.ndarray, pad: float = 0.5) -> bool:
    """True when any two boxes (x0, y0, x1, y1 in display units) intersect by more than `pad`."""
    if len(boxes) < 2:
        return False
    x0, y0, x1, y1 = (boxes[:, k] for k in range(4))
    w = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
    h = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
    hit = (w > pad) & (h > pad)
    np.fill_diagonal(hit, False)
    return bool(hit.any())


def tick_label_boxes(fig: Figure) -> list[tuple[Axes, str, np.ndarray]]:
    """For every axis of every panel, the display-space boxes of its visible tick labels."""
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        for which in ("x", "y", "z"):
            labels = _tick_labels(ax, which)
            if labels:
                boxes = np.array([label.get_window_extent(renderer).extents for label in labels])
                out.append((ax, which, boxes))
    return out


def overlapping_tick_labels(fig: Figure) -> list[str]:
    """Descriptions of axes whose tick labels overlap each other (empty when none do)."""
    fig.canvas.draw()
    return [
        f"{ax.get_title() or ax.get_label()}: {which} axis"
        for ax, which, boxes in tick_label_boxes(fig)
        if _overlapping(boxes)
    ]


def _thin_axis(axis) -> None:
    """Keep every second of the tick labels still shown
    (text emptied, so it stays hidden on redraw)."""
    labels = [str(t.get_text()) for t in axis.get_ticklabels()]
    shown = [k for k, text in enumerate(labels) if text]
    keep = set(shown[::2])
    axis.set_ticks(
        axis.get_ticklocs(), [text if k in keep else "" for k, text in enumerate(labels)]
    )


def fit_tick_labels(fig: Figure, max_rounds: int = 8) -> Figure:
    """Shrink, then thin, tick labels of each axis until no two labels of the same axis overlap."""
    for _ in range(max_rounds):
        fig.canvas.draw()
        crowded = [(ax, which) for ax, which, boxes in tick_label_boxes(fig) if _overlapping(boxes)]
        if not crowded:
            return fig
        for ax, which in crowded:
            labels = _tick_labels(ax, which)
            size = labels[0].get_fontsize()
            if size > MIN_TICK_FONT:
                for label in labels:
                    label.set_fontsize(max(MIN_TICK_FONT, size - 1))
            else:
                axis = {"x": ax.xaxis, "y": ax.yaxis, "z": getattr(ax, "zaxis", None)}[which]
                _thin_axis(axis)
    fig.canvas.draw()
    return fig


def legend_below(
    fig: Figure,
    handles: list,
    labels: list[str],
    title: str,
    ncols: int | None = None,
    where: str = "lower center",
) -> None:
    """A figure legend under the panels. Past MAX_LEGEND_ENTRIES entries it keeps the
    first ones and says how many more there are (colours then repeat: facet instead). No legend
    without entries."""
    if not labels:
        return
    if len(labels) > MAX_LEGEND_ENTRIES:
        hidden = len(labels) - MAX_LEGEND_ENTRIES + 1
        handles = [*handles[: MAX_LEGEND_ENTRIES - 1], plt.Line2D([], [], linestyle="none")]
        labels = [*labels[: MAX_LEGEND_ENTRIES - 1], f"and {hidden} more"]
    fig.legend(
        handles,
        labels,
        title=title,
        loc=f"outside {where}",
        frameon=False,
        ncols=ncols or min(len(labels), 6),
    )


def wrap_label(text: str, width: int = 18) -> str:
    """Break a long panel title at spaces so that it fits a narrow column."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])
