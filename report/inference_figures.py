"""Figures of the inferential statistics: bars with intervals and the noise
ceiling, peak-layer shares, networks compared; drawn from inference.csv,
noise_ceiling.csv, pairwise.csv, peak_layer.csv and network_comparison.csv only."""

from __future__ import annotations

import numpy as np
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
    measure_label,
    new_figure,
    wrap_label,
)

#: At most this many ROIs get a bar panel of their own in the inference figure.
MAX_INFERENCE_ROIS = 12


def inference_rois(res: Results) -> tuple[str, list[str]]:
    """The atlas and ROIs that get one bar panel each: all ROIs of the detail atlas, at most 12."""
    atlas = detail_atlas(res)
    rois = res.rois(atlas)
    if len(rois) > MAX_INFERENCE_ROIS:
        rois = scatter_rois(res, atlas)[:MAX_INFERENCE_ROIS]
    return atlas, rois


def inference_figure(res: Results) -> Figure:
    """Per-layer r with t intervals, the noise-ceiling band
    and marks for significance; ROI rows, network columns."""
    inference, ceiling = res.table("inference"), res.table("noise_ceiling")
    atlas, rois = inference_rois(res)
    fig = new_figure(PAGE_WIDTH, 0.85 * len(rois) + 1.3)
    axes = layer_axes(fig, res, len(rois))
    part = inference[inference["atlas"] == atlas]
    palette = network_colours(res)
    for i, roi in enumerate(rois):
        bound = (
            None
            if ceiling is None
            else ceiling[(ceiling["atlas"] == atlas) & (ceiling["roi"] == roi)].iloc[0]
        )
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
    labels = ["noise ceiling (lower to upper bound)", "t interval", "significantly above zero"]
    if ceiling is None:  # one subject: no noise ceiling
        handles, labels = handles[1:], labels[1:]
    legend_below(fig, handles, labels, "", ncols=len(labels))
    fig.supylabel(measure_label(res.method), fontsize=8)
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


def network_comparison_figure(res: Results) -> Figure:
    """Difference between two networks' best layers per ROI with 95%
    t intervals; atlas rows, one colour per pair of networks."""
    table = res.table("network_comparison").copy()
    table["pair"] = table["network_a"] + " − " + table["network_b"]
    pairs = list(dict.fromkeys(table["pair"]))
    palette = colours(pairs)
    counts = [len(res.rois(a)) for a in res.atlases]
    fig = new_figure(PAGE_WIDTH, sum(counts) * 0.17 + 0.4 * len(counts) + 1.2)
    axes = fig.subplots(
        len(counts), 1, squeeze=False, sharex=True, gridspec_kw={"height_ratios": counts}
    )[:, 0]
    offsets = (np.arange(len(pairs)) - (len(pairs) - 1) / 2) * (0.8 / max(len(pairs), 1))
    for ax, atlas in zip(axes, res.atlases, strict=True):
        rois = res.rois(atlas)
        rows = table[table["atlas"] == atlas]
        y_of = {roi: k for k, roi in enumerate(rois)}
        for pair, offset in zip(pairs, offsets, strict=True):
            part = rows[rows["pair"] == pair]
            y = part["roi"].map(y_of).to_numpy() + offset
            ax.errorbar(
                part["difference"],
                y,
                xerr=np.abs(
                    np.array(
                        [part["difference"] - part["ci_low"], part["ci_high"] - part["difference"]]
                    )
                ),
                fmt="o",
                markersize=2,
                color=palette[pair],
                linewidth=0.6,
            )
        ax.axvline(0, color="0.3", linewidth=0.6)
        ax.set_yticks(range(len(rois)), rois)
        ax.set_ylim(len(rois) - 0.5, -0.5)
        if len(res.atlases) > 1:
            ax.set_ylabel(atlas)
    axes[-1].set_xlabel(
        f"difference in {measure_label(res.method)} between the networks' best layers"
    )
    legend_below(
        fig,
        [Line2D([], [], color=palette[p], marker="o") for p in pairs],
        pairs,
        "networks A − B",
        ncols=min(3, len(pairs)),
    )
    return fit_tick_labels(fig)
