"""Figures for the report, drawn from the result tables only."""

from __future__ import annotations

from typing import Any, Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .results import InferenceTables, Results, group_rois, layer_order
from .style import OKABE_ITO, SEQUENTIAL, column_labels, measure_label


def _matrix(table: pd.DataFrame, res: Results, value: str = "r") -> np.ndarray:
    """ROI × (network, layer) matrix of ``value`` in report order (NaN where absent)."""
    out = np.full((len(res.order["rois"]), len(res.columns)), np.nan)
    rois = [str(r) for r in res.order["rois"]]
    for roi, col, v in zip(table["roi"].astype(str), table["layer_index"], table[value]):
        out[rois.index(roi), int(col)] = v
    return out


def _heatmap(ax: Any, matrix: np.ndarray, res: Results, vmin: float, vmax: float, title: str) -> Any:
    image = ax.imshow(matrix, cmap=SEQUENTIAL, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), column_labels(res), rotation=45, ha="right")
    ax.set_yticks(range(matrix.shape[0]), [str(r) for r in res.order["rois"]])
    ax.set_title(title)
    ax.set_xlabel("network layer")
    mid = (vmin + vmax) / 2
    for (i, j), v in np.ndenumerate(matrix):
        if np.isfinite(v):
            ax.text(j, i, f"{0.0 if abs(v) < 0.005 else v:.2f}", ha="center", va="center", fontsize=7, color="black" if v > mid else "white")
    return image


def _limits(values: Iterable[float]) -> tuple[float, float]:
    arr = np.asarray(list(values), dtype=float)
    lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
    return (lo, hi) if hi > lo else (lo - 0.05, hi + 0.05)


def subject_heatmaps(res: Results) -> Figure:
    """One ROI × layer heatmap of r per subject, on a shared colour scale."""
    subjects = [str(s) for s in res.order["subjects"]]
    vmin, vmax = _limits(res.per_subject["r"])
    fig, axes = plt.subplots(1, len(subjects), figsize=(3.4 * len(subjects) + 1, 4.2), sharey=True, squeeze=False)
    image = None
    for ax, subject in zip(axes[0], subjects):
        rows = res.per_subject[res.per_subject["subject"].astype(str) == subject]
        image = _heatmap(ax, _matrix(rows, res), res, vmin, vmax, subject)
    axes[0][0].set_ylabel("region of interest")
    fig.colorbar(image, ax=axes[0].tolist(), label=measure_label(res.method), shrink=0.9)
    return fig


def subject_bars(res: Results) -> Figure:
    """Per-subject grouped bars: r for every ROI, one bar per layer."""
    subjects = [str(s) for s in res.order["subjects"]]
    rois = [str(r) for r in res.order["rois"]]
    labels = column_labels(res)
    fig, axes = plt.subplots(len(subjects), 1, figsize=(8, 2.4 * len(subjects) + 0.6), sharex=True, sharey=True, squeeze=False)
    width = 0.8 / len(labels)
    x = np.arange(len(rois))
    for ax, subject in zip(axes[:, 0], subjects):
        matrix = _matrix(res.per_subject[res.per_subject["subject"].astype(str) == subject], res)
        for j, label in enumerate(labels):
            ax.bar(x + (j - (len(labels) - 1) / 2) * width, matrix[:, j], width, label=label,
                   color=OKABE_ITO[j % len(OKABE_ITO)])
        ax.axhline(0, color="0.3", linewidth=0.8)
        ax.set_title(subject, loc="left")
        ax.set_ylabel(measure_label(res.method))
    axes[-1, 0].set_xticks(x, rois, rotation=30, ha="right")
    axes[-1, 0].set_xlabel("region of interest")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), title="network layer", ncols=min(len(labels), 5),
               fontsize=8, loc="outside upper center", frameon=False)
    return fig


def joint_heatmap(res: Results) -> Figure:
    """ROI × layer heatmap of r for the subject-averaged ROI RDMs."""
    matrix = _matrix(res.joint, res)
    vmin, vmax = _limits(matrix.ravel())
    fig, ax = plt.subplots(figsize=(6, 4.6))
    image = _heatmap(ax, matrix, res, vmin, vmax, "subject-averaged RDMs")
    ax.set_ylabel("region of interest")
    fig.colorbar(image, ax=ax, label=measure_label(res.method))
    return fig


def group_lines(res: Results) -> Figure:
    """Mean r per ROI group across layers with ±1 SEM bands (between subjects)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(res.columns))
    for k, group in enumerate(str(g) for g in res.order["groups"]):
        rows = res.by_group[res.by_group["group"].astype(str) == group].sort_values("layer_index")
        xs = rows["layer_index"].to_numpy()
        mean, sem = rows["mean"].to_numpy(), rows["sem"].to_numpy()
        colour = OKABE_ITO[k % len(OKABE_ITO)]
        ax.plot(xs, mean, marker="o", color=colour, label=group)
        ax.fill_between(xs, mean - sem, mean + sem, color=colour, alpha=0.25, linewidth=0)
    ax.set_xticks(x, column_labels(res), rotation=30, ha="right")
    ax.set_xlabel("network layer")
    ax.set_ylabel(f"mean {measure_label(res.method)} (± SEM)")
    ax.legend(title="ROI group", frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def scatter_rois(res: Results) -> list[str]:
    """The ROI subset for the scatter plot: the first ROI of each group."""
    return [str(rois[0]) for rois in res.manifest["roi_groups"].values() if rois]


def roi_scatter(res: Results) -> Figure:
    """Scatter of r (subject-averaged RDMs) across layers for a subset of ROIs."""
    fig, ax = plt.subplots(figsize=(7, 4))
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    for k, roi in enumerate(scatter_rois(res)):
        rows = res.joint[res.joint["roi"].astype(str) == roi].sort_values("layer_index")
        ax.scatter(rows["layer_index"], rows["r"], s=50, marker=markers[k % len(markers)],
                   color=OKABE_ITO[k % len(OKABE_ITO)], label=roi, zorder=3)
        ax.plot(rows["layer_index"], rows["r"], color=OKABE_ITO[k % len(OKABE_ITO)], alpha=0.4)
    ax.set_xticks(range(len(res.columns)), column_labels(res), rotation=30, ha="right")
    ax.set_xlabel("network layer")
    ax.set_ylabel(measure_label(res.method))
    ax.legend(title="ROI", frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def surface_3d(res: Results) -> Figure:
    """3D surface of r (subject-averaged RDMs) over ROI × layer."""
    matrix = _matrix(res.joint, res)
    xs, ys = np.meshgrid(np.arange(matrix.shape[1]), np.arange(matrix.shape[0]))
    fig = plt.figure(figsize=(7, 5.5))
    ax = fig.add_subplot(projection="3d")
    vmin, vmax = _limits(matrix.ravel())
    surface = ax.plot_surface(xs, ys, np.nan_to_num(matrix, nan=vmin), cmap=SEQUENTIAL, vmin=vmin, vmax=vmax,
                              rstride=1, cstride=1, edgecolor="0.35", linewidth=0.3, shade=False)
    fig.colorbar(surface, ax=ax, shrink=0.6, pad=0.1, label=measure_label(res.method))
    ax.set_xticks(range(matrix.shape[1]), column_labels(res), fontsize=7)
    ax.set_yticks(range(matrix.shape[0]), [str(r) for r in res.order["rois"]], fontsize=7)
    ax.set_zlabel(measure_label(res.method))
    ax.set_xlabel("network layer", labelpad=8)
    ax.set_ylabel("region of interest", labelpad=14)
    ax.view_init(elev=28, azim=-60)
    return fig


def inference_bars(res: Results, tables: InferenceTables) -> Figure:
    """Per-layer bars with 95% intervals, the noise-ceiling band, significance marks; a row per ROI group."""
    inference, ceiling, pairwise = tables.inference, tables.ceiling, tables.pairwise
    groups = group_rois(res, tables.inference)
    columns = layer_order(res, tables.inference)
    n_cols = max(len(r) for r in groups.values())
    fig, axes = plt.subplots(len(groups), n_cols, figsize=(2.6 * n_cols + 0.6, 2.5 * len(groups) + 0.4),
                             squeeze=False, sharey=True)
    x = np.arange(len(columns))
    for row, (group, rois) in enumerate(groups.items()):
        for col in range(n_cols):
            ax = axes[row, col]
            if col >= len(rois):
                ax.axis("off")
                continue
            roi = rois[col]
            table = inference[inference.roi == roi].set_index(["network", "layer"]).loc[columns]
            bound = ceiling[ceiling.roi == roi].iloc[0]
            ax.add_patch(Rectangle((-0.5, bound.lower), len(columns), bound.upper - bound.lower,
                                   facecolor=(0.5, 0.5, 0.5, 0.25), edgecolor="none", zorder=0))
            r = table["r"].to_numpy()
            error = np.array([r - table["ci_low"].to_numpy(), table["ci_high"].to_numpy() - r])
            ax.bar(x, r, color="#4C72B0", zorder=1)
            ax.errorbar(x, r, yerr=np.clip(error, 0, None), fmt="none", ecolor="k", linewidth=1.2, zorder=2)
            above = table["significant_zero"].to_numpy(dtype=bool) & (table["ci_low"].to_numpy() > 0)
            ax.plot(x[above], np.zeros(above.sum()), marker="^", color="white", markeredgecolor="k",
                    linestyle="none", markersize=6, zorder=3)
            top = np.nanmax([table["ci_high"].max(), bound.upper])
            pairs = pairwise[(pairwise.roi == roi) & pairwise.significant.astype(bool)]
            step = 0.06 * max(top, 0.1)
            for k, pair in enumerate(pairs.itertuples()):
                a = columns.index((pair.network, pair.layer_a))
                b = columns.index((pair.network, pair.layer_b))
                y = top + step * (k + 1)
                ax.plot([a, b], [y, y], color="0.3", linewidth=1)
                ax.plot(a if pair.difference > 0 else b, y, marker="o", color="0.3", markersize=3)
            ax.set_xticks(x, [layer for _, layer in columns], rotation=60, fontsize=7)
            ax.set_title(f"{group}: {roi}", fontsize=9)
            ax.axhline(0, color="k", linewidth=0.6)
        axes[row, 0].set_ylabel(measure_label(res.method), fontsize=8)
    fig.tight_layout()
    return fig
