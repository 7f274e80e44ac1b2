"""Markdown tables for the report (printed from cells with `output: asis`), and the appendix's long
tables: a summary in every format, the full table collapsible in the HTML with a CSV download
inside the page."""

from __future__ import annotations

import base64
import csv
import html
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .results import Results
from .style import measure_label
from .text import extremes, join, md, noun, split_hemisphere

HERE = Path(__file__).resolve().parent
LATENCIES = HERE / "latencies.csv"


def _cell(value: Any) -> str:
    """A pipe-table cell: '|' escaped unless already escaped (names come escaped by text.md)."""
    return re.sub(r"(?<!\\)\|", r"\\|", str(value)).replace("\n", " ")


def md_table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    align: Sequence[str] | None = None,
    widths: Sequence[int] | None = None,
) -> str:
    """A pandoc pipe table; ``align`` holds 'l' or 'r' per column, ``widths`` relative column
    widths."""
    align = align or ["l"] * len(header)
    dashes = [max(3, int(w)) for w in widths] if widths else [3] * len(header)
    rule = [
        "-" * d + ":" if a == "r" else ":" + "-" * d for a, d in zip(align, dashes, strict=True)
    ]
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value: float, digits: int = 3) -> str:
    """A number with fixed decimals, '–' when missing, and no '-0.000'."""
    if value is None or not np.isfinite(value):
        return "–"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def fmt_p(p: float) -> str:
    """A p-value: three decimals, '< 0.001' below that."""
    return "–" if not np.isfinite(p) else "< 0.001" if p < 0.001 else f"{p:.3f}"


def interval(low: float, high: float) -> str:
    """An interval as '[low, high]'."""
    return f"[{fmt(low)}, {fmt(high)}]"


def cite(keys: str) -> str:
    """Markdown citation for ';'-separated BibTeX keys."""
    return "[" + "; ".join(f"@{k.strip()}" for k in keys.split(";") if k.strip()) + "]"


def atlas_label(res: Results, atlas: str) -> str:
    """The atlas name (Markdown-escaped), or nothing when the study has only the default one."""
    return "" if res.atlases == ["default"] else md(atlas)


# --- methods tables ---


def _latency_rows(path: Path = LATENCIES) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _area_of(roi: str) -> str:
    """An ROI name without its hemisphere mark ('LHPPA' -> 'PPA', 'lh_V1-retinotopic' ->
    'V1-retinotopic'), case-folded."""
    split = split_hemisphere(roi)
    return (split[1] if split else roi).casefold()


def latency_areas(rois: Iterable[str], path: Path = LATENCIES) -> list[str]:
    """The areas of the latency table that name one of `rois`: equal to the ROI's name without its
    hemisphere mark, or to its first part before a '-', '_' or '.' ('V1-retinotopic' is V1)."""
    names = {_area_of(r) for r in rois}
    names |= {re.split(r"[-_.]", n)[0] for n in names}
    return [r["roi"] for r in _latency_rows(path) if r["roi"].casefold() in names]


def latency_table(res: Results | None = None, path: Path = LATENCIES) -> str:
    """Onset latencies from the literature, with the kind of evidence each row rests on: only the
    areas among the study's ROIs (matched by name; every row without `res`); '' when none match."""
    rows = _latency_rows(path)
    if res is not None:
        keep = set(latency_areas([r for a in res.atlases for r in res.rois(a)], path))
        rows = [r for r in rows if r["roi"] in keep]
    if not rows:
        return ""
    return md_table(
        ["Area", "Onset latency", "Evidence", "Notes", "Sources"],
        [
            (
                r["roi"],
                r["latency"].replace(" ", "\u00a0"),
                r["evidence"],
                r["notes"],
                cite(r["citations"]),
            )
            for r in rows
        ],
        widths=[5, 14, 22, 29, 30],
    )


def groups_table(res: Results) -> str:
    """ROI groups of every atlas in hierarchy order, as the study file defines them."""
    rows = [
        (atlas_label(res, atlas) or "–", md(group), ", ".join(md(r) for r in rois))
        for atlas in res.atlases
        for group, rois in res.groups(atlas).items()
    ]
    if not rows:
        return ""
    return md_table(["Atlas", "Group", "ROIs"], rows, widths=[12, 16, 72])


def study_table(res: Results) -> str:
    """Key facts about the analysed study."""
    m = res.manifest
    study = m.get("study", {})
    params = m.get("parameters", {})
    rows = [
        ("Study", md(m.get("title", ""))),
        ("Data set", md(res.dataset.get("name") or "not declared by the study file")),
        (
            "Study file",
            f"`{Path(str(study.get('path', ''))).name}` (SHA-256 "
            f"`{str(study.get('sha256', ''))[:12]}…`)",
        ),
        ("Synthetic data", "yes" if res.synthetic else "no"),
        ("Subjects", ", ".join(md(s) for s in res.subjects)),
        ("Atlases (ROIs)", "; ".join(f"{md(a)} ({len(res.rois(a))})" for a in res.atlases)),
        (
            "Networks (layers or models)",
            "; ".join(
                f"{md(n)} ({len(res.layers(n))}{'' if res.ordered(n) else ' models'})"
                for n in res.networks
            ),
        ),
        ("Images common to all files", m.get("n_common_images", "")),
        ("Comparison method", f"`{res.method}` ({measure_label(res.method)})"),
        ("Bootstrap samples (seed)", f"{params.get('samples', '')} ({params.get('seed', '')})"),
        ("Results computed at", m.get("computed_at", "")),
    ]
    return md_table(["Item", "Value"], rows, widths=[25, 75])


def inputs_table(res: Results) -> str:
    """Input files with checksums and how many images each held, kept and dropped."""
    rows = []
    for item in res.manifest["inputs"]:
        name = md(item.get("name", ""))
        if item.get("atlas") and res.atlases != ["default"]:
            name = f"{name} ({md(item['atlas'])})"
        rows.append(
            (
                name,
                md(Path(str(item.get("path", ""))).name),
                f"`{str(item.get('sha256', ''))[:12]}`",
                item.get("images_in_file", ""),
                item.get("images_kept", ""),
                item.get("images_dropped", ""),
            )
        )
    return md_table(
        ["Subject or network", "File", "SHA-256 (first 12)", "Images", "Kept", "Dropped"],
        rows,
        ["l", "l", "l", "r", "r", "r"],
        widths=[22, 34, 16, 9, 8, 9],
    )


def images_table(res: Results) -> str:
    """Images kept of those in each file, per image source (what the alignment cost, and where)."""
    images = res.table("images")
    if images is None:
        return md_table(
            ["Role", "File", "All kept / in file"],
            [
                (
                    i.get("role", ""),
                    i.get("name", ""),
                    f"{i.get('images_kept')} / {i.get('images_in_file')}",
                )
                for i in res.manifest["inputs"]
            ],
            ["l", "l", "r"],
        )
    sources = [s for s in dict.fromkeys(images["source"]) if s != "all"]
    rows = []
    for (role, name), part in images.groupby(["role", "name"], sort=False):
        counts = part.drop(columns=["role", "name"])
        per_atlas = [
            rows_of.drop(columns="atlas").to_numpy().tolist()
            for _, rows_of in counts.groupby("atlas", sort=False)
        ]
        same = all(p == per_atlas[0] for p in per_atlas)
        for atlas, by_atlas in (
            counts.groupby("atlas", sort=False)
            if not same
            else [("", counts[counts["atlas"] == counts["atlas"].iloc[0]])]
        ):
            label = md(f"{name} ({atlas})" if atlas and res.atlases != ["default"] else name)
            by_source = by_atlas.set_index("source")
            total = (
                by_source.loc["all"]
                if "all" in by_source.index
                else by_source.sum(numeric_only=True)
            )
            cells = [
                f"{int(by_source.loc[s, 'images_kept'])} / "
                f"{int(by_source.loc[s, 'images_in_file'])}"
                if s in by_source.index
                else "–"
                for s in sources
            ]
            rows.append(
                (
                    role.replace("_", " "),
                    label,
                    *cells,
                    f"{int(total['images_kept'])} / {int(total['images_in_file'])}",
                )
            )
    return md_table(
        ["Role", "File", *[f"{md(s)} kept / in file" for s in sources], "All kept / in file"],
        rows,
        ["l", "l", *["r"] * (len(sources) + 1)],
        widths=[10, 22, *[14] * (len(sources) + 1)],
    )


def peak_rows(res: Results) -> pd.DataFrame:
    """Per atlas, ROI and network: every layer chosen most often as best in the bootstrap (several
    rows where layers share the largest share), its share, and its r with interval and
    noise-ceiling-normalised value (from peak_layer.csv and inference.csv)."""
    peak = res.table("peak_layer")
    top = peak.groupby(["atlas", "roi", "network"], sort=False)["share"].transform("max")
    best = peak[peak["share"] == top]
    return best.merge(res.table("inference"), on=["atlas", "roi", "network", "layer"], how="left")


def peak_table(res: Results, atlas: str) -> str:
    """One atlas's peak layers: share of bootstrap samples, r with 95% t interval, r / lower ceiling
    (that column only where the results have a noise ceiling); tied layers each get a row."""
    rows = peak_rows(res)
    rows = rows[rows["atlas"] == atlas]
    ceiling = res.table("noise_ceiling")
    lower = (
        {}
        if ceiling is None
        else dict(
            zip(zip(ceiling["atlas"], ceiling["roi"], strict=True), ceiling["lower"], strict=True)
        )
    )
    out = []
    for roi in res.rois(atlas):
        for network in res.networks:
            found = rows[(rows["roi"] == roi) & (rows["network"] == network)]
            for _, r in found.iterrows():
                share = f"{100 * r['share']:.0f}%" + (" (tie)" if len(found) > 1 else "")
                cells = [
                    md(roi),
                    md(network),
                    md(r["layer"]),
                    share,
                    fmt(r["r"]),
                    interval(r["ci_low"], r["ci_high"]),
                ]
                if ceiling is not None:
                    positive = lower.get((atlas, roi), np.nan) > 0
                    cells.append(fmt(r.get("r_normalised", np.nan), 2) if positive else "–")
                out.append(cells)
    header = [
        "ROI",
        "Network",
        f"Peak {noun(res)}",
        "Bootstrap share",
        measure_label(res.method),
        "Interval",
    ]
    if ceiling is not None:
        header.append("r / lower ceiling")
    return md_table(
        header,
        out,
        ["l", "l", "l", "r", "r", "r", "r"][: len(header)],
        widths=[14, 18, 14, 10, 10, 20, 12][: len(header)],
    )


def ceiling_table(res: Results) -> str:
    """Noise ceiling bounds ± bootstrap SEM per atlas and ROI."""
    if res.table("noise_ceiling") is None:
        return ""
    rows = [
        (
            atlas_label(res, c["atlas"]) or "–",
            md(c["roi"]),
            f"{fmt(c['lower'])} ± {fmt(c['lower_sem'])}",
            f"{fmt(c['upper'])} ± {fmt(c['upper_sem'])}",
        )
        for _, c in res.table("noise_ceiling").iterrows()
    ]
    return md_table(
        ["Atlas", "ROI", "Lower bound ± SEM", "Upper bound ± SEM"], rows, ["l", "l", "r", "r"]
    )


def network_summary_table(res: Results) -> str:
    """Per atlas and pair of networks: in how many ROIs each network's best layer is significantly
    higher."""
    table = res.table("network_comparison")
    rows = []
    for (atlas, a, b), part in table.groupby(["atlas", "network_a", "network_b"], sort=False):
        sig = part["significant"].astype(bool)
        rows.append(
            (
                atlas_label(res, atlas) or "–",
                f"{md(a)} − {md(b)}",
                int((sig & (part["difference"] > 0)).sum()),
                int((sig & (part["difference"] < 0)).sum()),
                int((~sig).sum()),
                f"{fmt(part['difference'].median())}",
            )
        )
    return md_table(
        [
            "Atlas",
            "Networks A − B",
            "ROIs A > B",
            "ROIs B > A",
            "Not distinguishable",
            "Median difference",
        ],
        rows,
        ["l", "l", "r", "r", "r", "r"],
        widths=[14, 40, 10, 10, 14, 12],
    )


def pairwise_summary_table(res: Results) -> str:
    """Per atlas and network: how many of the layer-pair tests are significant (the full table is in
    the HTML)."""
    table = res.table("pairwise")
    if table is None:
        return ""
    rows = []
    for (atlas, network), part in table.groupby(["atlas", "network"], sort=False):
        sig = part["significant"].astype(bool)
        per_roi = part.groupby("roi", sort=False)["significant"].mean()
        rows.append(
            (
                atlas_label(res, atlas) or "–",
                md(network),
                part["roi"].nunique(),
                len(part),
                int(sig.sum()),
                f"{100 * sig.mean():.0f}%",
                f"{100 * per_roi.min():.0f}–{100 * per_roi.max():.0f}%",
            )
        )
    return md_table(
        [
            "Atlas",
            "Network",
            "ROIs",
            "Layer pairs tested",
            "Significant",
            "Share",
            "Range over ROIs",
        ],
        rows,
        ["l", "l", "r", "r", "r", "r", "r"],
        widths=[14, 22, 8, 14, 12, 10, 14],
    )


def best_layer_table(res: Results) -> str:
    """Per atlas and ROI: each network's layer with the highest r (subject-averaged RDMs) and that
    r; layers that share the highest r are all named."""
    cell = {}
    for (a, r, n), rows in res.joint.groupby(["atlas", "roi", "network"], sort=False):
        top = extremes(rows["r"])
        layers = join(md(rows["layer"].iloc[k]) for k in top)
        cell[(a, r, n)] = f"{layers} ({fmt(rows['r'].iloc[top[0]])})" if top else "–"
    rows = [
        (
            atlas_label(res, atlas) or "–",
            md(roi),
            *[cell.get((atlas, roi, n), "–") for n in res.networks],
        )
        for atlas in res.atlases
        for roi in res.rois(atlas)
    ]
    width = max(10, 74 // max(len(res.networks), 1))
    return md_table(
        ["Atlas", "ROI", *(md(n) for n in res.networks)],
        rows,
        widths=[12, 14, *[width] * len(res.networks)],
    )


# --- long tables: full in the HTML, downloadable ---


def csv_data_uri(payload: bytes) -> str:
    """CSV bytes as a data: URI, so the self-contained HTML can offer the file for download."""
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(payload).decode("ascii")


#: The script and style that fill a collapsible table from its own CSV download link when opened
#: (offline, no library); a page asset beside the others in report/web/.
TABLE_ASSET = HERE / "web" / "rsa-table.html"


def table_script() -> str:
    """The collapsible tables' script and style (TABLE_ASSET without its leading comment)."""
    text = TABLE_ASSET.read_text(encoding="utf-8")
    return text[text.index("-->") + len("-->") :].strip("\n")


def html_details(payload: bytes, filename: str, summary: str) -> str:
    """A collapsible full table as a raw HTML block (dropped in the PDF): the CSV file's bytes as
    one data: URI, offered for download and drawn in the page when the reader opens it."""
    n_rows = max(payload.count(b"\n") - 1, 0)
    name = html.escape(filename)
    link = f'<a download="{name}" href="{csv_data_uri(payload)}">Download {name}</a>'
    return (
        f'```{{=html}}\n<details class="rsa-table"><summary>{html.escape(summary)}</summary>\n'
        f"<p>{link} ({n_rows:,} rows; the full table appears below)</p>\n"
        f'<div class="rsa-table-body"></div>\n</details>\n```'
    )


def appendix_tables(res: Results) -> str:
    """Every long result table, full and downloadable in the HTML (the PDF keeps the summaries)."""
    blocks = [f"```{{=html}}\n{table_script()}\n```"]
    for name, what in (
        ("joint", "r of every ROI with every layer, subject-averaged RDMs"),
        ("inference", "r with SEM, t interval, normalised value and tests"),
        ("pairwise", "every pairwise layer comparison"),
        ("peak_layer", "bootstrap share of each layer being the best"),
        ("network_comparison", "every network comparison"),
        ("noise_ceiling", "noise ceiling bounds"),
    ):
        path = res.path / f"{name}.csv"
        if not path.is_file():
            continue
        payload = path.read_bytes()
        rows = max(payload.count(b"\n") - 1, 0)
        blocks.append(html_details(payload, path.name, f"{path.name}: {what} ({rows:,} rows)"))
    return "\n\n".join(blocks)


def interactive_grid(res: Results) -> str:
    """The ROI × layer grid of the subject-averaged RDMs as inline SVG, one per atlas: hovering a
    cell shows its ROI, layer and value (SVG <title>, so it works offline and without script). A
    raw HTML block; the PDF has the static heatmap instead."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize, to_hex

    from .figures import roi_layer_matrix

    cmap = colormaps["viridis"]
    values = res.joint["r"].to_numpy(dtype=float)
    norm = Normalize(float(np.nanmin(values)), float(np.nanmax(values)))
    cell, left, top = 12, 90, 4
    blocks = []
    for atlas in res.atlases:
        rois = res.rois(atlas)
        matrix = roi_layer_matrix(res.joint, res, atlas)
        width, height = left + cell * len(res.columns) + 4, top + cell * len(rois) + 4
        parts = [
            f'<svg viewBox="0 0 {width} {height}" width="100%" '
            f'role="img" aria-label="{html.escape(atlas)}: {measure_label(res.method)} per ROI and '
            'layer" '
            'style="max-width:60em;font:8px sans-serif">'
        ]
        for i, roi in enumerate(rois):
            y = top + i * cell
            parts.append(
                f'<text x="{left - 3}" y="{y + cell - 3}" '
                f'text-anchor="end">{html.escape(roi)}</text>'
            )
            for j, (network, layer) in enumerate(res.columns):
                value = matrix[i, j]
                colour = to_hex(cmap(norm(value))) if np.isfinite(value) else "#ffffff"
                parts.append(
                    f'<rect x="{left + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                    f'fill="{colour}"><title>{html.escape(roi)} · {html.escape(network)} '
                    f"{html.escape(layer)}: {fmt(value)}</title></rect>"
                )
        parts.append("</svg>")
        label = (
            "" if res.atlases == ["default"] else f"<p><strong>{html.escape(atlas)}</strong></p>"
        )
        blocks.append(label + "".join(parts))
    return (
        '```{=html}\n<details class="rsa-grid"><summary>Interactive grid: hover over a cell for '
        f"its ROI, layer and {html.escape(measure_label(res.method))}</summary>\n"
        + "\n".join(blocks)
        + "\n</details>\n```"
    )
