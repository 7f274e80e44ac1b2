"""Figures of the inferential statistics: bars with intervals and the noise
ceiling, peak-layer shares, networks compared; drawn from inference.csv,
noise_ceiling.csv, pairwise.csv, peak_layer.csv and network_comparison.csv only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from .figures import ROI_ROW, detail_atlas, layer_axes, network_colours, scatter_rois
from .results import Results
from .style import (
    PAGE_WIDTH,
    colours,
    fit_tick_labels,
    legend_below,
    new_figure,
    single_label,
    wrap_label,
)
from .tables import fmt

#: At most this many ROIs get a bar panel of their own in the inference figure.
MAX_INFERENCE_ROIS = 12


def inference_rois(res: Results) -> tuple[str, list[str]]:
    """The atlas and ROIs that get one bar panel each: all ROIs of the detail atlas, at most 12."""
    atlas = detail_atlas(res)
    rois = res.rois(atlas)
    if len(rois) > MAX_INFERENCE_ROIS:
        rois = scatter_rois(res, atlas)[:MAX_INFERENCE_ROIS]
    return atlas, rois


def data_limits(rows: pd.DataFrame) -> tuple[float, float]:
    """y limits that fit the intervals (and zero) of one ROI's rows, with a margin: the noise
    ceiling is drawn inside them when it fits and named in the corner when it lies above."""
    low = min(0.0, float(np.nanmin(rows["ci_low"])))
    high = max(0.0, float(np.nanmax(rows["ci_high"])))
    span = max(high - low, 1e-3)
    return low - 0.08 * span, high + 0.15 * span


def inference_figure(res: Results) -> Figure:
    """Per-layer r with t intervals, the noise-ceiling band
    and marks for significance; ROI rows, network columns."""
    inference, ceiling = res.table("inference"), res.table("noise_ceiling")
    atlas, rois = inference_rois(res)
    fig = new_figure(PAGE_WIDTH, 0.85 * len(rois) + 1.3)
    axes = layer_axes(fig, res, len(rois), sharey="row")
    part = inference[inference["atlas"] == atlas]
    palette = network_colours(res)
    for i, roi in enumerate(rois):
        bound = (
            None
            if ceiling is None
            else ceiling[(ceiling["atlas"] == atlas) & (ceiling["roi"] == roi)].iloc[0]
        )
        low, high = data_limits(part[part["roi"] == roi])
        for j, network in enumerate(res.networks):
            ax = axes[i, j]
            layers = res.layers(network)
            rows = (
                part[(part["roi"] == roi) & (part["network"] == network)]
                .set_index("layer")
                .reindex(layers)
            )
            x = np.arange(len(layers))
            if bound is not None:
                ax.add_patch(
                    Rectangle(
                        (-0.5, bound["lower"]),
                        len(layers),
                        bound["upper"] - bound["lower"],
                        facecolor="0.85",
                        edgecolor="none",
                        zorder=0,
                    )
                )
            r = rows["r"].to_numpy()
            error = np.clip(
                np.array([r - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - r]), 0, None
            )
            ax.bar(x, r, color=palette[network], alpha=0.8, zorder=1, width=0.75)
            ax.errorbar(x, r, yerr=error, fmt="none", ecolor="k", linewidth=0.7, zorder=2)
            above = rows["significant_zero"].to_numpy(dtype=bool) & (rows["ci_low"].to_numpy() > 0)
            ax.plot(
                x[above],
                np.zeros(above.sum()),
                marker="^",
                color="white",
                markeredgecolor="k",
                linestyle="none",
                markersize=3,
                zorder=3,
            )
            ax.axhline(0, color="k", linewidth=0.5)
            ax.set_ylim(low, high)
            if bound is not None and bound["lower"] > high and j == len(res.networks) - 1:
                ax.annotate(
                    f"ceiling {fmt(bound['lower'], 2)}–{fmt(bound['upper'], 2)} ↑",
                    (1, 1),
                    xycoords="axes fraction",
                    ha="right",
                    va="top",
                    fontsize=6,
                    color="0.35",
                )
            ax.set_xlim(-0.6, len(layers) - 0.4)
            ax.set_xticks(x, layers if i == len(rois) - 1 else [], rotation=90)
            if j == 0:
                ax.set_ylabel(wrap_label(roi, 12), fontsize=7)
            if i == 0:
                ax.set_title(wrap_label(network, 16))
    handles = [
        Patch(color="0.85"),
        Line2D([], [], color="k", linewidth=0.7),
        Line2D([], [], marker="^", color="white", markeredgecolor="k", linestyle="none"),
    ]
    labels = [
        "noise ceiling (lower to upper bound; named in the corner when above the axis)",
        "t interval",
        "significantly above zero",
    ]
    if ceiling is None:  # one subject: no noise ceiling
        handles, labels = handles[1:], labels[1:]
    legend_below(fig, handles, labels, "", ncols=len(labels))
    fig.supylabel(single_label(res.method), fontsize=8)
    return fit_tick_labels(fig)


def peak_share(res: Results) -> Figure:
    """Share of bootstrap samples in which each layer is the ROI's best in its network; atlas rows,
    network columns (a column per layer; dark = the peak is certain)."""
    table = res.table("peak_layer")
    counts = [len(res.rois(a)) for a in res.atlases]
    fig = new_figure(PAGE_WIDTH, sum(counts) * ROI_ROW + 0.4 * len(counts) + 1.4)
    widths = [max(len(res.layers(n)), 3) for n in res.networks]
    axes = fig.subplots(
        len(counts),
        len(res.networks),
        squeeze=False,
        sharey="row",
        gridspec_kw={"height_ratios": counts, "width_ratios": widths},
    )
    image = None
    for i, atlas in enumerate(res.atlases):
        rois = res.rois(atlas)
        for j, network in enumerate(res.networks):
            ax = axes[i, j]
            layers = res.layers(network)
            rows = table[(table["atlas"] == atlas) & (table["network"] == network)]
            grid = rows.pivot_table(index="roi", columns="layer", values="share").reindex(
                index=rois, columns=layers
            )
            image = ax.imshow(
                grid.to_numpy(),
                cmap="Greys",
                vmin=0,
                vmax=1,
                aspect="auto",
                interpolation="nearest",
            )
            ax.set_yticks(range(len(rois)), rois if j == 0 else [])
            ax.set_xticks(range(len(layers)), layers if i == len(counts) - 1 else [], rotation=90)
            if i == 0:
                ax.set_title(wrap_label(network, 16))
            if j == 0 and len(res.atlases) > 1:
                ax.set_ylabel(atlas)
    fig.colorbar(image, ax=axes.ravel().tolist(), label="share of bootstrap samples", shrink=0.5)
    return fit_tick_labels(fig)


#: Up to this many pairs of networks get a column each in the network comparison figure; more
#: share one column, a colour each.
MAX_PAIR_COLUMNS = 6


def network_comparison_figure(res: Results) -> Figure:
    """Difference between two networks' cross-validated r per ROI with its t interval; atlas rows,
    one column per pair of networks (up to MAX_PAIR_COLUMNS, else one column, a colour per pair);
    filled points are significant differences."""
    table = res.table("network_comparison").copy()
    table["pair"] = table["network_a"] + " − " + table["network_b"]
    pairs = list(dict.fromkeys(table["pair"]))
    columns = pairs if len(pairs) <= MAX_PAIR_COLUMNS else ["all"]
    palette = colours(pairs) if columns == ["all"] else dict.fromkeys(pairs, "0.15")
    counts = [len(res.rois(a)) for a in res.atlases]
    fig = new_figure(PAGE_WIDTH, sum(counts) * 0.17 + 0.4 * len(counts) + 1.2)
    axes = fig.subplots(
        len(counts),
        len(columns),
        squeeze=False,
        sharex=True,
        sharey="row",
        gridspec_kw={"height_ratios": counts},
    )
    shown = pairs if columns == ["all"] else [None]
    offsets = (np.arange(len(shown)) - (len(shown) - 1) / 2) * (0.8 / len(shown))
    for row, atlas in enumerate(res.atlases):
        rois = res.rois(atlas)
        y_of = {roi: k for k, roi in enumerate(rois)}
        for column, name in enumerate(columns):
            ax = axes[row, column]
            rows = table[table["atlas"] == atlas]
            for pair, offset in zip(pairs if name == "all" else [name], offsets, strict=True):
                _difference_points(ax, rows[rows["pair"] == pair], y_of, offset, palette[pair])
            ax.axvline(0, color="0.5", linewidth=0.6, zorder=0)
            ax.set_ylim(len(rois) - 0.5, -0.5)
            if row == 0 and name != "all":
                ax.set_title(wrap_label(name, 14), fontsize="small")
        axes[row, 0].set_yticks(range(len(rois)), rois)
        if len(res.atlases) > 1:
            axes[row, 0].set_ylabel(atlas)
    handles = [
        Line2D([], [], color="0.15", marker="o", linestyle="", markerfacecolor=face)
        for face in ("0.15", "white")
    ]
    labels = ["significant (interval excludes 0)", "not significant"]
    if columns == ["all"]:
        handles += [Line2D([], [], color=palette[p], marker="o") for p in pairs]
        labels += pairs
    title = (
        f"difference in cross-validated {single_label(res.method)}, networks A − B\n"
        "(each network's layer chosen on other images)"
    )
    legend_below(fig, handles, labels, title, ncols=min(3, len(labels)))
    return fit_tick_labels(fig)


def _difference_points(ax, part: pd.DataFrame, y_of: dict, offset: float, colour) -> None:
    """One pair's differences with their intervals, significant ones filled."""
    y = part["roi"].map(y_of).to_numpy() + offset
    ax.errorbar(
        part["difference"],
        y,
        xerr=np.abs(
            np.array([part["difference"] - part["ci_low"], part["ci_high"] - part["difference"]])
        ),
        fmt="none",
        ecolor=colour,
        linewidth=0.7,
    )
    significant = part["significant"].astype(bool).to_numpy()
    for mask, face in ((significant, colour), (~significant, "white")):
        ax.plot(
            part["difference"].to_numpy()[mask],
            y[mask],
            "o",
            markersize=2.8,
            color=colour,
            markerfacecolor=face,
            markeredgewidth=0.7,
            linestyle="",
        )
