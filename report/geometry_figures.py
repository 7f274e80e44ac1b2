"""Figures of representational geometry: the second-order map of every ROI and layer RDM, and
example RDMs ordered by image source; drawn from second_order.csv and rdm_examples.csv only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .figures import all_groups, network_colours
from .results import Results
from .style import (
    PAGE_WIDTH,
    SEQUENTIAL,
    colours,
    fit_tick_labels,
    legend_below,
    new_figure,
    wrap_label,
)


def classical_mds(distances: np.ndarray, dims: int = 2) -> np.ndarray:
    """Classical (Torgerson) MDS: coordinates whose Euclidean distances best match `distances`."""
    n = distances.shape[0]
    centring = np.eye(n) - np.ones((n, n)) / n
    gram = -0.5 * centring @ (distances**2) @ centring
    values, vectors = np.linalg.eigh(gram)
    top = np.argsort(values)[::-1][:dims]
    return vectors[:, top] * np.sqrt(np.clip(values[top], 0, None))


def second_order_matrix(table: pd.DataFrame) -> tuple[list[tuple[str, str, str]], np.ndarray]:
    """Items (kind, network, name) and the symmetric similarity matrix of one
    atlas's second_order rows (the diagonal is 1: an RDM is identical to itself)."""
    a = list(zip(table["kind_a"], table["network_a"], table["name_a"], strict=True))
    b = list(zip(table["kind_b"], table["network_b"], table["name_b"], strict=True))
    items = list(dict.fromkeys(a + b))
    index = {item: k for k, item in enumerate(items)}
    matrix = np.eye(len(items))
    i = np.array([index[x] for x in a])
    j = np.array([index[x] for x in b])
    matrix[i, j] = matrix[j, i] = table["r"].to_numpy(dtype=float)
    return items, matrix


def second_order_map(res: Results) -> Figure:
    """MDS of 1 − similarity between every ROI RDM and every layer RDM: one map per atlas, brain and
    networks together; layers joined input to output."""
    table = res.table("second_order")
    n = len(res.atlases)
    n_cols = min(n, 2) if n > 1 else 1
    n_rows = int(np.ceil(n / n_cols))
    fig = new_figure(PAGE_WIDTH, 3.2 * n_rows + 0.9)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    groups = all_groups(res)
    gpal = colours(groups)
    npal = network_colours(res)
    for k, atlas in enumerate(res.atlases):
        ax = axes[k // n_cols, k % n_cols]
        items, similarity = second_order_matrix(table[table["atlas"] == atlas])
        coords = classical_mds(1 - similarity)
        position = {item: coords[m] for m, item in enumerate(items)}
        for network in res.networks:
            path = np.array(
                [
                    position[("layer", network, layer)]
                    for layer in res.layers(network)
                    if ("layer", network, layer) in position
                ]
            )
            if len(path) and not res.ordered(network):  # a set of models: points, no path
                ax.plot(
                    path[:, 0],
                    path[:, 1],
                    color=npal[network],
                    linestyle="none",
                    marker="x",
                    markersize=4,
                )
            elif len(path):
                ax.plot(
                    path[:, 0],
                    path[:, 1],
                    color=npal[network],
                    linewidth=1,
                    marker=".",
                    markersize=3,
                )
                ax.annotate(
                    "",
                    xy=path[-1],
                    xytext=path[-2] if len(path) > 1 else path[-1],
                    arrowprops={"arrowstyle": "->", "color": npal[network]},
                )
        group_of = res.group_of(atlas)
        rois = [item for item in items if item[0] == "roi"]
        for item in rois:
            xy = position[item]
            ax.scatter(
                *xy,
                color=gpal.get(group_of.get(item[2]), "0.5"),
                s=18,
                edgecolor="k",
                linewidth=0.3,
                zorder=3,
            )
        ax.set_title(atlas if n > 1 else "")
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("MDS 1")
        ax.set_ylabel("MDS 2")
    for k in range(n, n_rows * n_cols):
        axes[k // n_cols, k % n_cols].axis("off")
    group_handles = [
        Line2D([], [], marker="o", color=gpal[g], markeredgecolor="k", linestyle="none")
        for g in groups
    ]
    network_handles = [
        Line2D([], [], color=npal[n_], marker=".")
        if res.ordered(n_)
        else Line2D([], [], color=npal[n_], marker="x", linestyle="none")
        for n_ in res.networks
    ]
    if not groups:  # no ROI groups: one grey kind of dot
        group_handles = [
            Line2D([], [], marker="o", color="0.5", markeredgecolor="k", linestyle="none")
        ]
    legend_below(
        fig,
        group_handles,
        groups or ["ROI"],
        "ROI group (dots)" if groups else "",
        ncols=min(len(groups), 4) or 1,
        where="lower left",
    )
    legend_below(
        fig,
        network_handles,
        res.networks,
        "network (lines, input → output)"
        if not res.unordered_networks()
        else "network (lines, input → output; crosses: models)",
        ncols=2,
        where="lower right",
    )
    return fit_tick_labels(fig)


def rdm_examples_figure(res: Results) -> Figure:
    """A few RDMs on a subsample of images, ordered by
    image source (lines between sources); atlas rows."""
    table = res.table("rdm_examples")
    atlases = [a for a in res.atlases if a in set(table["atlas"])]
    n_cols = max(table[table["atlas"] == a]["rdm"].nunique() for a in atlases)
    fig = new_figure(PAGE_WIDTH, 1.75 * len(atlases) + 0.8)
    axes = fig.subplots(len(atlases), n_cols, squeeze=False)
    for i, atlas in enumerate(atlases):
        rows = table[table["atlas"] == atlas]
        for j in range(n_cols):
            ax = axes[i, j]
            names = list(dict.fromkeys(rows["rdm"]))
            if j >= len(names):
                ax.axis("off")
                continue
            part = rows[rows["rdm"] == names[j]]
            images = list(dict.fromkeys([*part["image_a"], *part["image_b"]]))
            source = dict(zip(part["image_a"], part["source_a"], strict=True)) | dict(
                zip(part["image_b"], part["source_b"], strict=True)
            )
            order = sorted(images, key=lambda im: (source[im], images.index(im)))
            index = {im: k for k, im in enumerate(order)}
            matrix = np.zeros((len(order), len(order)))
            a = part["image_a"].map(index).to_numpy()
            b = part["image_b"].map(index).to_numpy()
            matrix[a, b] = matrix[b, a] = part["dissimilarity"].to_numpy()
            off = matrix[~np.eye(len(order), dtype=bool)]
            lo, hi = np.percentile(off, [2, 98])
            ax.imshow(matrix, cmap=SEQUENTIAL, vmin=lo, vmax=hi, interpolation="nearest")
            sources = [source[im] for im in order]
            edges = [k for k in range(1, len(sources)) if sources[k] != sources[k - 1]]
            for e in edges:
                ax.axhline(e - 0.5, color="white", linewidth=0.8)
                ax.axvline(e - 0.5, color="white", linewidth=0.8)
            bounds = [0, *edges, len(sources)]
            centres = [(bounds[k] + bounds[k + 1] - 1) / 2 for k in range(len(bounds) - 1)]
            labels = [sources[bounds[k]] for k in range(len(bounds) - 1)]
            ax.set_xticks(centres, labels if i == len(atlases) - 1 else [], rotation=90)
            ax.set_yticks(centres, labels if j == 0 else [])
            ax.tick_params(length=0)
            ax.set_title(wrap_label(names[j], 20), fontsize=7)
            if j == 0 and len(atlases) > 1:
                ax.set_ylabel(atlas)
    return fit_tick_labels(fig)
