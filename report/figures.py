"""The report's figures, drawn from the result tables only, laid out to
stay readable at any size of study: panels per atlas (rows) and network
(columns), colour per ROI group or network, never one colour per layer."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .results import Results
from .style import (
    NETWORK_PALETTE,
    PAGE_WIDTH,
    SEQUENTIAL,
    colours,
    fit_tick_labels,
    legend_below,
    measure_label,
    new_figure,
    wrap_label,
)

#: Row height of one ROI in a heatmap (inches); the page height caps the total.
ROI_ROW = 0.13


# --- shared helpers
# -----------------------------------------------------------------------------------


def network_colours(res: Results) -> dict[str, str]:
    """A fixed colour per network."""
    return colours(res.networks, NETWORK_PALETTE)


def all_groups(res: Results) -> list[str]:
    """Every group name over all atlases, first-seen
    order (one legend for atlas-faceted figures)."""
    seen: dict[str, None] = {}
    for atlas in res.atlases:
        seen.update(dict.fromkeys(res.groups(atlas)))
    return list(seen)


def detail_atlas(res: Results) -> str:
    """The atlas drawn in figures that show one atlas in detail: the first with at most 16 ROIs."""
    return next((a for a in res.atlases if len(res.rois(a)) <= 16), res.atlases[0])


def roi_layer_matrix(table: pd.DataFrame, res: Results, atlas: str, value: str = "r") -> np.ndarray:
    """ROI × (network, layer) matrix of ``value`` for
    one atlas in report order (NaN where absent)."""
    rows = {roi: k for k, roi in enumerate(res.rois(atlas))}
    cols = {c: k for k, c in enumerate(res.columns)}
    out = np.full((len(rows), len(cols)), np.nan)
    part = table[table["atlas"] == atlas]
    i = part["roi"].map(rows).to_numpy()
    j = np.array(
        [cols[(n, layer)] for n, layer in zip(part["network"], part["layer"], strict=True)],
        dtype=int,
    )
    out[i.astype(int), j] = part[value].to_numpy(dtype=float)
    return out


def _limits(values: np.ndarray) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    return (lo, hi) if hi > lo else (lo - 0.05, hi + 0.05)


def _network_spans(res: Results) -> list[tuple[str, int, int]]:
    """(network, first column, last column + 1) of each network in the ROI × layer grid."""
    spans, start = [], 0
    for network in res.networks:
        spans.append((network, start, start + len(res.layers(network))))
        start += len(res.layers(network))
    return spans


def _grid_heatmap(
    ax,
    matrix: np.ndarray,
    res: Results,
    rois: list[str],
    vmin: float,
    vmax: float,
    cmap: str = SEQUENTIAL,
    annotate: bool = True,
    xlabels: bool = True,
):
    """ROI × layer heatmap with white lines between networks and network names above."""
    image = ax.imshow(
        matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest"
    )
    ax.set_yticks(range(len(rois)), rois)
    if xlabels:
        ax.set_xticks(range(matrix.shape[1]), [layer for _, layer in res.columns], rotation=90)
    else:
        ax.set_xticks(range(matrix.shape[1]), [])
    spans = _network_spans(res)
    for _, start, _end in spans[1:]:
        ax.axvline(start - 0.5, color="white", linewidth=2)
    if len(spans) > 1:
        top = ax.secondary_xaxis("top")
        top.set_xticks(
            [(a + b - 1) / 2 for _, a, b in spans], [wrap_label(n, 14) for n, _, _ in spans]
        )
        top.tick_params(length=0)
    small = matrix.shape[0] <= 12 and matrix.shape[1] <= 12
    if annotate and small:
        mid = (vmin + vmax) / 2
        for (i, j), v in np.ndenumerate(matrix):
            if np.isfinite(v):
                ax.text(
                    j,
                    i,
                    f"{0.0 if abs(v) < 0.005 else v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="black" if v > mid else "white",
                )
    ax.spines[:].set_visible(False)
    return image


# --- per subject
# --------------------------------------------------------------------------------------


def subject_heatmaps(res: Results) -> Figure:
    """One ROI × layer heatmap of r per subject (one atlas), on a shared colour scale."""
    atlas = detail_atlas(res)
    rois = res.rois(atlas)
    subjects = res.subjects
    table = res.per_subject[res.per_subject["atlas"] == atlas]
    vmin, vmax = _limits(table["r"])
    height = len(subjects) * (len(rois) * ROI_ROW + 0.35) + 1.6
    fig = new_figure(PAGE_WIDTH, height)
    axes = fig.subplots(len(subjects), 1, sharex=True, squeeze=False)[:, 0]
    image = None
    for k, (ax, subject) in enumerate(zip(axes, subjects, strict=True)):
        rows = table[table["subject"] == subject]
        image = _grid_heatmap(
            ax,
            roi_layer_matrix(rows, res, atlas),
            res,
            rois,
            vmin,
            vmax,
            xlabels=k == len(subjects) - 1,
        )
        ax.set_ylabel(subject)
    fig.colorbar(image, ax=list(axes), label=measure_label(res.method), shrink=0.6)
    return fit_tick_labels(fig)


def layer_axes(fig: Figure, res: Results, n_rows: int, sharey: bool = True) -> np.ndarray:
    """A grid of panels: one row per atlas (or other facet),
    one column per network, widths ∝ layer count."""
    widths = [max(len(res.layers(n)), 3) for n in res.networks]
    return fig.subplots(
        n_rows,
        len(res.networks),
        squeeze=False,
        sharey=sharey,
        gridspec_kw={"width_ratios": widths},
    )


def layer_panels(
    fig: Figure,
    res: Results,
    ylabel: str,
    inner_x_labels: bool = True,
    atlases: list[str] | None = None,
) -> Iterator[tuple[Axes, str, str]]:
    """The atlas × network grid of layer_axes, one (axes, atlas, network) at a time; once the
    caller has drawn a panel, labels it: atlas and `ylabel` in the first column, the network
    above the first row, and (unless `inner_x_labels`) no layer names under inner rows.
    `atlases`: the rows (default every atlas)."""
    atlases = res.atlases if atlases is None else atlases
    axes = layer_axes(fig, res, len(atlases))
    for i, atlas in enumerate(atlases):
        for j, network in enumerate(res.networks):
            ax = axes[i, j]
            yield ax, atlas, network
            ax.set_ylabel(f"{wrap_label(atlas, 14)}\n{ylabel}" if j == 0 else "")
            if i == 0:
                ax.set_title(wrap_label(network, 16))
            if not inner_x_labels and i < len(atlases) - 1:
                ax.tick_params(axis="x", labelbottom=False)


def subject_bars(res: Results) -> Figure:
    """Bars: mean r over a group's ROIs and the subjects, per layer; dots: each subject's value."""
    table = res.per_subject.copy()
    table["group"] = [
        res.group_of(a).get(r, "ungrouped")
        for a, r in zip(table["atlas"], table["roi"], strict=True)
    ]
    per_subject = (
        table.groupby(["atlas", "group", "network", "layer", "subject"], sort=False)["r"]
        .mean()
        .reset_index()
    )
    groups = all_groups(res)
    palette = colours(groups)
    atlases = res.grouped_atlases()
    fig = new_figure(PAGE_WIDTH, 1.9 * len(atlases) + 1.2)
    for ax, atlas, network in layer_panels(fig, res, measure_label(res.method), atlases=atlases):
        rows = per_subject[(per_subject["atlas"] == atlas) & (per_subject["network"] == network)]
        rows = rows[rows["group"].isin(groups)]
        hue_order = [g for g in groups if g in set(rows["group"])]
        layout = {  # bars and dots of one panel: the same data, axes and colours
            "x": "layer",
            "y": "r",
            "hue": "group",
            "order": res.layers(network),
            "hue_order": hue_order,
            "palette": palette,
            "ax": ax,
            "legend": False,
        }
        sns.barplot(rows, **layout, errorbar=None, alpha=0.85)
        sns.stripplot(
            rows,
            **layout,
            dodge=True,
            size=1.8,
            color="k",
            jitter=False,
            edgecolor="black",
            linewidth=0.3,
        )
        ax.axhline(0, color="0.3", linewidth=0.6)
        ax.tick_params(axis="x", rotation=90)
        ax.set_xlabel("")
    handles = [Patch(color=palette[g]) for g in groups]
    legend_below(fig, handles, groups, "ROI group")
    return fit_tick_labels(fig)


# --- subject-averaged RDMs
# -----------------------------------------------------------------------------


def joint_heatmap(
    res: Results, table: pd.DataFrame | None = None, label: str | None = None
) -> Figure:
    """ROI × layer heatmap of r for the subject-averaged ROI RDMs, one row of panels per atlas."""
    table = res.joint if table is None else table
    counts = [len(res.rois(a)) for a in res.atlases]
    height = sum(counts) * ROI_ROW + 0.45 * len(counts) + 1.4
    fig = new_figure(PAGE_WIDTH, height)
    axes = fig.subplots(
        len(counts), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": counts}
    )[:, 0]
    vmin, vmax = _limits(table["r"])
    image = None
    for k, (ax, atlas) in enumerate(zip(axes, res.atlases, strict=True)):
        image = _grid_heatmap(
            ax,
            roi_layer_matrix(table, res, atlas),
            res,
            res.rois(atlas),
            vmin,
            vmax,
            xlabels=k == len(counts) - 1,
        )
        if len(res.atlases) > 1:
            ax.set_ylabel(atlas)
    fig.colorbar(image, ax=list(axes), label=label or measure_label(res.method), shrink=0.5)
    return fit_tick_labels(fig)


def group_lines(res: Results) -> Figure:
    """Mean r per ROI group across layers with ±1 SEM bands between subjects; rows are the
    atlases with groups, columns networks."""
    groups = all_groups(res)
    palette = colours(groups)
    atlases = res.grouped_atlases()
    fig = new_figure(PAGE_WIDTH, 1.8 * len(atlases) + 1.2)
    ylabel = f"mean {measure_label(res.method)}"
    panels = layer_panels(fig, res, ylabel, inner_x_labels=False, atlases=atlases)
    for ax, atlas, network in panels:
        layers = res.layers(network)
        rows = res.by_group[(res.by_group["atlas"] == atlas) & (res.by_group["network"] == network)]
        for group in groups:
            line = rows[rows["group"] == group].set_index("layer").reindex(layers)
            if line["mean"].isna().all():
                continue
            x = np.arange(len(layers))
            ax.plot(
                x, line["mean"], marker="o", markersize=2.5, color=palette[group], linewidth=1.2
            )
            ax.fill_between(
                x,
                line["mean"] - line["sem"],
                line["mean"] + line["sem"],
                color=palette[group],
                alpha=0.2,
                linewidth=0,
            )
        ax.set_xticks(range(len(layers)), layers, rotation=90)
    legend_below(
        fig, [Line2D([], [], color=palette[g], marker="o") for g in groups], groups, "ROI group"
    )
    return fit_tick_labels(fig)


def depth_profiles(res: Results) -> Figure:
    """Every network of layers in depth order on a relative-depth axis (0 = first layer, 1 =
    last): thin lines for single ROIs (subject-averaged RDMs), bold lines for the group mean; atlas
    rows, ROI-group columns."""
    networks = [n for n in res.ordered_networks if len(res.layers(n)) > 1]
    table = res.joint[res.joint["network"].isin(networks)].copy()
    table["depth"] = [
        res.depth(n, layer) for n, layer in zip(table["network"], table["layer"], strict=True)
    ]
    palette = network_colours(res)
    n_cols = max(len(res.groups(a)) or 1 for a in res.atlases)
    fig = new_figure(PAGE_WIDTH, 1.7 * len(res.atlases) + 1.0)
    axes = fig.subplots(len(res.atlases), n_cols, squeeze=False, sharex=True, sharey=True)
    for i, atlas in enumerate(res.atlases):
        groups = res.groups(atlas) or {"all ROIs": res.rois(atlas)}
        for j in range(n_cols):
            ax = axes[i, j]
            if j >= len(groups):
                ax.axis("off")
                continue
            group, rois = list(groups.items())[j]
            rows = table[(table["atlas"] == atlas) & table["roi"].isin(rois)]
            for network in networks:
                part = rows[rows["network"] == network]
                for _, line in part.groupby("roi", sort=False):
                    ax.plot(
                        line["depth"], line["r"], color=palette[network], linewidth=0.5, alpha=0.45
                    )
                mean = part.groupby("depth")["r"].mean()
                ax.plot(mean.index, mean.to_numpy(), color=palette[network], linewidth=2.0)
            ax.axhline(0, color="0.5", linewidth=0.5)
            ax.set_title(wrap_label(group, 18))
            ax.set_xticks([0, 0.5, 1])
            if j == 0:
                ax.set_ylabel(f"{wrap_label(atlas, 14)}\n{measure_label(res.method)}")
            if i == len(res.atlases) - 1:
                ax.set_xlabel("relative depth")
    legend_below(
        fig,
        [Line2D([], [], color=palette[n], linewidth=2) for n in networks],
        networks,
        "network (bold: group mean; thin: single ROIs)",
    )
    return fit_tick_labels(fig)


def scatter_rois(res: Results, atlas: str) -> list[str]:
    """The ROI subset for the scatter plot: the first ROI of each group."""
    return [rois[0] for rois in res.groups(atlas).values() if rois] or res.rois(atlas)[:4]


def roi_scatter(res: Results) -> Figure:
    """r (subject-averaged RDMs) across layers for the first
    ROI of each group; atlas rows, network columns."""
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    fig = new_figure(PAGE_WIDTH, 1.8 * len(res.atlases) + 1.2)
    panels = layer_panels(fig, res, measure_label(res.method), inner_x_labels=False)
    groups = all_groups(res)
    palette = colours(groups)
    for ax, atlas, network in panels:
        by_group = res.group_of(atlas)
        layers = res.layers(network)
        for roi in scatter_rois(res, atlas):
            group = by_group[roi]
            rows = (
                res.joint[
                    (res.joint["atlas"] == atlas)
                    & (res.joint["network"] == network)
                    & (res.joint["roi"] == roi)
                ]
                .set_index("layer")
                .reindex(layers)
            )
            k = groups.index(group) if group in groups else 0
            if res.ordered(network):  # a set of models has no order to join
                ax.plot(
                    range(len(layers)),
                    rows["r"],
                    color=palette.get(group, "0.3"),
                    alpha=0.5,
                    linewidth=0.8,
                )
            ax.scatter(
                range(len(layers)),
                rows["r"],
                color=palette.get(group, "0.3"),
                marker=markers[k % 8],
                s=12,
                zorder=3,
            )
        ax.set_xticks(range(len(layers)), layers, rotation=90)
    handles = [
        Line2D([], [], color=palette[g], marker=markers[k % 8], linestyle="none")
        for k, g in enumerate(groups)
    ]
    legend_below(fig, handles, [f"first ROI of {g}" for g in groups], "ROI")
    return fit_tick_labels(fig)


def bars_3d(res: Results) -> Figure:
    """3D bars of r (subject-averaged RDMs) over the categorical ROI × layer grid of one
    atlas, a panel per network (bars, not a surface: neither axis is continuous)."""
    atlas = detail_atlas(res)
    matrix = roi_layer_matrix(res.joint, res, atlas)
    vmin, vmax = _limits(matrix.ravel())
    bottom = min(0.0, vmin)
    cmap = colormaps[SEQUENTIAL]
    n = len(res.networks)
    n_cols = 1 if n == 1 else 2
    n_rows = int(np.ceil(n / n_cols))
    fig = new_figure(PAGE_WIDTH, 4.6 if n == 1 else 3.3 * n_rows + 0.4)
    spans = _network_spans(res)
    rois = res.rois(atlas)
    for k, (network, start, end) in enumerate(spans):
        ax = fig.add_subplot(n_rows, n_cols, k + 1, projection="3d")
        part = matrix[:, start:end]
        xs, ys = np.meshgrid(np.arange(part.shape[1]), np.arange(part.shape[0]))
        values = np.nan_to_num(part.ravel(), nan=bottom)
        ax.bar3d(
            xs.ravel() - 0.35,
            ys.ravel() - 0.35,
            np.full(values.size, bottom),
            0.7,
            0.7,
            values - bottom,
            color=cmap((values - vmin) / (vmax - vmin)),
            shade=True,
            linewidth=0,
        )
        ax.set_xticks(range(part.shape[1]), res.layers(network), fontsize=5)
        ax.set_yticks(range(part.shape[0]), rois, fontsize=5)
        ax.tick_params(axis="z", labelsize=5)
        ax.set_zlim(bottom, vmax)
        ax.set_title(network, fontsize=8)
        ax.view_init(elev=32, azim=-60)
    fig.colorbar(
        ScalarMappable(norm=Normalize(vmin, vmax), cmap=SEQUENTIAL),
        ax=fig.axes,
        shrink=0.5,
        label=measure_label(res.method),
    )
    return fit_tick_labels(fig)


# --- inference
# ----------------------------------------------------------------------------------------


# --- second order and RDMs
# ----------------------------------------------------------------------------
