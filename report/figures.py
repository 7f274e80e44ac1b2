"""Figures and markdown tables for the report, drawn from the result tables only."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from results import Results

HERE = Path(__file__).resolve().parent
#: Okabe & Ito's colour-blind-safe palette (black last).
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000"]
#: Perceptually uniform, colour-blind-safe map for r values.
SEQUENTIAL = "viridis"
METHOD_LABELS = {
    "corr": "Pearson r",
    "pearson": "Pearson r",
    "corr_cov": "Pearson r (noise-whitened)",
    "spearman": "Spearman ρ",
    "rho-a": "Spearman ρ_A",
    "tau-a": "Kendall τ_A",
    "tau_a": "Kendall τ_A",
    "cosine": "cosine similarity",
    "cosine_cov": "cosine similarity (noise-whitened)",
}

plt.rcParams.update({
    "axes.prop_cycle": plt.cycler(color=OKABE_ITO),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "figure.constrained_layout.use": True,
})


def measure_label(method: str) -> str:
    """Axis label naming the RDM comparison measure, e.g. 'Pearson r'."""
    return METHOD_LABELS.get(method, f"{method} (RDM similarity)")


def column_labels(res: Results) -> list[str]:
    """x-axis labels: layer names, prefixed with the network when there are several."""
    several = len(res.order["networks"]) > 1
    return [f"{n}: {layer}" if several else str(layer) for n, layer in res.columns]


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


# --- markdown tables (print them from a cell with `output: asis`) ---

def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: Sequence[str] | None = None,
             widths: Sequence[int] | None = None) -> str:
    """A pandoc pipe table; ``align`` holds 'l' or 'r' per column, ``widths`` relative column widths."""
    align = align or ["l"] * len(header)
    dashes = [max(3, int(w)) for w in widths] if widths else [3] * len(header)
    rule = ["-" * d + ":" if a == "r" else ":" + "-" * d for a, d in zip(align, dashes)]
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def cite(keys: str) -> str:
    """Markdown citation for ';'-separated BibTeX keys."""
    return "[" + "; ".join(f"@{k.strip()}" for k in keys.split(";") if k.strip()) + "]"


def latency_table(path: Path = HERE / "latencies.csv") -> str:
    """The literature table of onset latencies with resolved citations."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return md_table(["Area", "Onset latency", "Notes", "Sources"],
                    [(r["roi"], r["latency"], r["notes"], cite(r["citations"])) for r in rows], widths=[7, 17, 45, 31])


def groups_table(res: Results) -> str:
    """ROI groups (early / mid / high) in hierarchy order."""
    return md_table(["Group", "ROIs"], [(g, ", ".join(map(str, rois))) for g, rois in res.manifest["roi_groups"].items()])


def inputs_table(res: Results) -> str:
    """Input files (subjects first, then networks) with checksums and image counts from the manifest."""
    rows = []
    for item in res.manifest["inputs"]:
        rows.append((
            item.get("name", ""), Path(str(item.get("path", ""))).name, f"`{str(item.get('sha256', ''))[:12]}`",
            item.get("images_in_file", ""), item.get("images_kept", ""), item.get("images_dropped", ""),
        ))
    return md_table(["Subject or network", "File", "SHA-256 (first 12)", "Images in file", "Kept", "Dropped"],
                    rows, ["l", "l", "l", "r", "r", "r"], widths=[16, 36, 18, 12, 8, 10])


def study_table(res: Results) -> str:
    """Key facts about the analysed study."""
    m = res.manifest
    study = m.get("study", {})
    layers = "; ".join(f"{n}: {', '.join(map(str, res.order['layers'][n]))}" for n in res.order["networks"])
    params = m.get("parameters", {})
    rows = [
        ("Study", m.get("title", "")),
        ("Study file", f"`{Path(str(study.get('path', ''))).name}`"),
        ("Study file SHA-256", f"`{str(study.get('sha256', ''))}`"),
        ("Synthetic data", "yes" if res.synthetic else "no"),
        ("Subjects", ", ".join(map(str, res.order["subjects"]))),
        ("ROIs", ", ".join(map(str, res.order["rois"]))),
        ("Networks and layers", layers),
        ("Images common to all files", m.get("n_common_images", "")),
        ("Comparison method", f"{res.method} ({measure_label(res.method)})"),
        ("Bootstrap samples", params.get("samples", "")),
        ("Computed at", m.get("computed_at", "")),
        ("Project version", (m.get("project") or {}).get("version", "")),
    ]
    return md_table(["Item", "Value"], rows, widths=[25, 75])


def joint_table(res: Results) -> str:
    """r for every ROI and layer (subject-averaged RDMs), three decimals."""
    matrix = _matrix(res.joint, res)
    rows = [[roi] + [f"{0.0 if abs(v) < 0.0005 else v:.3f}" if np.isfinite(v) else "–" for v in matrix[i]] for i, roi in enumerate(map(str, res.order["rois"]))]
    return md_table(["ROI", *column_labels(res)], rows, ["l"] + ["r"] * len(res.columns))


def _renderer() -> str:
    return os.environ.get("RSA_RENDERER") or "not recorded (RSA_RENDERER unset)"


def provenance_table(res: Results) -> str:
    """Command, parameters, study file, code version, library versions and renderer behind the report."""
    m = res.manifest
    project = m.get("project") or {}
    commit = str(project.get("git_commit") or "unknown")
    if project.get("git_dirty"):
        commit += " (with uncommitted changes)"
    versions = ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items())
    parameters = ", ".join(f"{k} = {v}" for k, v in (m.get("parameters") or {}).items())
    study = m.get("study") or {}
    stages = (m.get("cache") or {}).get("stages") or {}
    computed = "; ".join(f"{stage}: {record.get('computed_at', '')}" for stage, record in stages.items())
    rows = [
        ("Command", f"`{m.get('command', '')}`"),
        ("Study file", f"`{Path(study.get('path', '')).name}`, sha256 `{study.get('sha256', '')}`"),
        ("Parameters", parameters),
        ("Computed at", computed or m.get("computed_at", "")),
        ("Results key", f"`{(m.get('cache') or {}).get('key', '')}`"),
        ("Git commit", commit),
        ("Versions", versions),
        ("Results folder", f"`{res.path.name}`"),
        ("Rendered with", _renderer()),
    ]
    return md_table(["Item", "Value"], rows, widths=[22, 78])


def provenance_inputs_table(res: Results) -> str:
    """Every input file with its size and full sha256."""
    rows = [(f"`{Path(i['path']).name}`", f"{i['size']:,}", f"`{i['sha256']}`")
            for i in res.manifest.get("inputs", [])]
    return md_table(["File", "Bytes", "SHA-256"], rows, align=["l", "r", "l"], widths=[30, 12, 58])


def provenance_metadata(res: Results) -> str:
    """The provenance facts as a JSON block in the HTML page (machine-readable; ignored in the PDF)."""
    m = res.manifest
    facts = {key: m.get(key) for key in ("title", "synthetic", "study", "inputs", "n_common_images",
                                         "parameters", "versions", "project", "command", "computed_at",
                                         "cache")}
    facts["inputs"] = [{k: i.get(k) for k in ("role", "name", "path", "size", "sha256")}
                       for i in m.get("inputs", [])]
    facts["renderer"] = _renderer()
    payload = json.dumps(facts, ensure_ascii=True, sort_keys=True).replace("</", "<\\/")
    return f'```{{=html}}\n<script type="application/json" id="rsa-provenance">{payload}</script>\n```'
