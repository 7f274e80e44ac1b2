"""Markdown tables for the report (print them from a cell with `output: asis`), from the result
tables and the manifest only."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .figures import _matrix
from .results import InferenceTables, Results, group_rois
from .style import column_labels, measure_label

HERE = Path(__file__).resolve().parent


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


def _fmt_p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def pairwise_table(res: Results, tables: InferenceTables) -> str:
    """Every pairwise layer comparison, in manifest order (network shown only when there are several)."""
    pairwise = tables.pairwise
    several = len(res.order["networks"]) > 1
    rows = []
    for roi in [r for rois in group_rois(res, tables.pairwise).values() for r in rois]:
        for p in pairwise[pairwise.roi == roi].itertuples():
            pair = f"{p.network}: {p.layer_a} − {p.layer_b}" if several else f"{p.layer_a} − {p.layer_b}"
            rows.append((roi, pair, f"{p.difference:+.3f}", _fmt_p(p.p), _fmt_p(p.p_adjusted),
                         "yes" if bool(p.significant) else "no"))
    return md_table(["ROI", "Layers A − B", "Difference", "p", "p adjusted", "Significant"],
                            rows, align=["l", "l", "r", "r", "r", "l"], widths=[16, 30, 14, 12, 14, 14])


def ceiling_table(tables: InferenceTables) -> str:
    """Noise ceiling bounds ± bootstrap SEM per ROI."""
    rows = [(c.roi, f"{c.lower:.3f} ± {c.lower_sem:.3f}", f"{c.upper:.3f} ± {c.upper_sem:.3f}")
            for c in tables.ceiling.itertuples()]
    return md_table(["ROI", "Lower bound ± SEM", "Upper bound ± SEM"], rows, align=["l", "r", "r"])
