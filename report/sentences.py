"""Sentences computed from the result tables (nothing typed by hand). A sentence never ranks values
that are equal within their uncertainty: it ranks only what a test (or, without inference, two
SEM) separates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .results import Results
from .style import measure_label, single_label
from .tables import fmt, interval
from .text import extremes, join, md, noun, plural

__all__ = [
    "join",
    "noun",
    "plural",
]  # re-exported: paper.py and older callers import them from here

CORRECTIONS = {
    "fdr": "the false discovery rate (Benjamini–Hochberg)",
    "bonferroni": "Bonferroni's correction",
    "none": "no correction",
}


def dof(res: Results) -> int:
    """Degrees of freedom of the bootstrap t tests: subjects − 1 for the dual bootstrap
    (rsatoolbox's default), images − 1 for the bootstrap over images of one subject."""
    if res.over_images_only:
        return max(int(res.manifest.get("n_common_images") or 2) - 1, 1)
    return max(len(res.subjects) - 1, 1)


def t_critical(degrees: int, alpha: float = 0.05) -> float:
    """Two-sided critical t value: an interval is ± this many SEM wide."""
    return float(stats.t.ppf(1 - alpha / 2, degrees))


# --- the logic, on plain tables (unit-tested) ---


def tied_with_top(
    labels: Sequence[str], means: Sequence[float], sems: Sequence[float], width: float = 2.0
) -> tuple[str, list[str]]:
    """The label with the highest mean and every other label within `width` combined SEM of it
    (sqrt(se_a² + se_b²)): those the data do not separate from the top."""
    means, sems = np.asarray(means, float), np.asarray(sems, float)
    top = int(np.nanargmax(means))
    spread = np.nan_to_num(width * np.sqrt(sems**2 + sems[top] ** 2), nan=0.0)
    tied = [
        labels[k] for k in range(len(labels)) if k != top and means[top] - means[k] <= spread[k]
    ]
    return labels[top], tied


def not_separated_from(best: str, pairwise: pd.DataFrame) -> list[str]:
    """Layers whose pairwise test against `best` is not significant (rows of one ROI and
    network)."""
    rows = pairwise[(pairwise["layer_a"] == best) | (pairwise["layer_b"] == best)]
    other = np.where(rows["layer_a"] == best, rows["layer_b"], rows["layer_a"])
    return [
        str(o) for o, sig in zip(other, rows["significant"].astype(bool), strict=True) if not sig
    ]


def beaten_by(best: str, pairwise: pd.DataFrame) -> list[str]:
    """Layers significantly below `best` (rows of one ROI and network)."""
    rows = pairwise[(pairwise["layer_a"] == best) | (pairwise["layer_b"] == best)]
    other = np.where(rows["layer_a"] == best, rows["layer_b"], rows["layer_a"])
    better = np.where(rows["layer_a"] == best, rows["difference"] > 0, rows["difference"] < 0)
    return [
        str(o)
        for o, sig, b in zip(other, rows["significant"].astype(bool), better, strict=True)
        if sig and b
    ]


def above_zero(inference: pd.DataFrame) -> pd.Series:
    """Rows significantly above zero: the two-sided test rejects and the interval lies above
    zero."""
    return inference["significant_zero"].astype(bool) & (inference["ci_low"] > 0)


def rois_without_signal(inference: pd.DataFrame) -> list[str]:
    """ROIs in which no layer of any network is significantly above zero (they are not ranked: all
    are zero within noise)."""
    any_signal = above_zero(inference).groupby(inference["roi"], sort=False).any()
    return [str(r) for r, signal in any_signal.items() if not signal]


def peak_layers(peak: pd.DataFrame) -> tuple[list[str], float]:
    """Every layer most often best in the bootstrap (several when they share the largest share),
    and that share; rows of one ROI and network."""
    shares = peak["share"].to_numpy(dtype=float)
    top = extremes(shares)
    return [str(peak["layer"].iloc[k]) for k in top], float(shares[top[0]])


def peak_summary(peak: pd.DataFrame, threshold: float = 0.5) -> tuple[str, float, bool]:
    """The layer most often best in the bootstrap ('a and b' when layers share the largest share),
    its share, and whether the peak is resolved (one layer, share of at least `threshold`); rows of
    one ROI and network."""
    layers, share = peak_layers(peak)
    return join(layers), share, len(layers) == 1 and share >= threshold


def network_counts(comparison: pd.DataFrame) -> tuple[int, int, int]:
    """(ROIs where network A's best layer is significantly higher, where B's is, where neither
    is)."""
    sig = comparison["significant"].astype(bool)
    return (
        int((sig & (comparison["difference"] > 0)).sum()),
        int((sig & (comparison["difference"] < 0)).sum()),
        int((~sig).sum()),
    )


# --- sentences for the report ---


def _where(res: Results, atlas: str) -> str:
    return "" if res.atlases == ["default"] else f" ({md(atlas)})"


def family_note(res: Results) -> str:
    """The correction in words, e.g. 'the false discovery rate (Benjamini–Hochberg)'."""
    correction = res.manifest.get("bootstrap", {}).get("correction", "fdr")
    return CORRECTIONS.get(correction, correction)


def group_peaks(res: Results) -> list[str]:
    """Per atlas, group and network: the peak layer of the group's ROI-averaged r with its interval,
    whether it is resolved, and the layers it is not separated from: the same bootstrap tests as
    the ROI tables (group_inference.csv, group_pairwise.csv). Without them, a description by the
    between-subject SEM (by_group.csv), said to be one."""
    table, pairs = res.table("group_inference"), res.table("group_pairwise")
    if table is None or pairs is None or table.empty:
        return _group_descriptions(res)
    label = single_label(res.method)
    out = []
    for atlas in res.atlases:
        for group in res.groups(atlas):
            parts = []
            for network in res.networks:
                where = (
                    (table["atlas"] == atlas)
                    & (table["group"] == group)
                    & (table["network"] == network)
                )
                peak = table[where & table["peak"].astype(bool)]
                if peak.empty:
                    continue
                row = peak.iloc[0]
                text = (
                    f"{md(network)} {md(row['layer'])} ({fmt(row['r'])} "
                    f"{interval(row['ci_low'], row['ci_high'])}"
                )
                if bool(row["resolved"]):
                    text += ", resolved)"
                elif not (row["significant_zero"] and row["ci_low"] > 0):
                    text += ", not above zero)"
                else:
                    rows = pairs[
                        (pairs["atlas"] == atlas)
                        & (pairs["group"] == group)
                        & (pairs["network"] == network)
                    ]
                    tied = [md(x) for x in not_separated_from(str(row["layer"]), rows)]
                    text += ")"
                    if tied:
                        text += (
                            f", not separated from {join(tied)}"
                            if len(tied) <= 4
                            else f", not separated from {len(tied)} other layers"
                        )
                parts.append(text)
            if parts:
                out.append(
                    f"**{md(group)}**{_where(res, atlas)}: {label} averaged over the group's ROIs "
                    "peaks at " + "; ".join(parts) + "."
                )
    return out


def _group_descriptions(res: Results) -> list[str]:
    """Without group tests: the highest mean per group and the layers within 2 between-subject SEM
    (a description, not a test)."""
    out = []
    label = single_label(res.method)
    for atlas in res.grouped_atlases():
        for group in res.groups(atlas):
            parts = []
            for network in res.networks:
                rows = res.by_group[
                    (res.by_group["atlas"] == atlas)
                    & (res.by_group["group"] == group)
                    & (res.by_group["network"] == network)
                ]
                if rows.empty:
                    continue
                layers = [md(x) for x in rows["layer"]]
                if len(layers) == 1:
                    best = rows.iloc[0]
                    parts.append(f"{md(network)} {layers[0]} ({_mean_sem(best)})")
                    continue
                top, tied = tied_with_top(layers, rows["mean"], rows["sem"])
                best = rows.iloc[layers.index(top)]
                equal = [layers[k] for k in extremes(rows["mean"])]
                if len(equal) > 1:
                    text = f"{md(network)} {join(equal)}, all at {_mean_sem(best)}"
                    tied = [t for t in tied if t not in equal]
                else:
                    text = f"{md(network)} {top} ({_mean_sem(best)})"
                if tied:
                    text += f", within 2 SEM of {join(tied)}"
                parts.append(text)
            if parts:
                out.append(
                    f"**{md(group)}**{_where(res, atlas)}: highest {label} at "
                    + "; ".join(parts)
                    + " (between-subject SEM; a description, not a test)."
                )
    return out


def _mean_sem(row: pd.Series) -> str:
    """'0.123 ± 0.010', or '0.123' where there is no SEM (one subject)."""
    sem = row.get("sem", np.nan)
    return f"{fmt(row['mean'])} ± {fmt(sem)}" if np.isfinite(sem) else fmt(row["mean"])


def _ceiling_lower(res: Results, atlas: str, roi: str) -> float:
    """The ROI's lower noise ceiling, NaN where the results have none (one subject)."""
    ceiling = res.table("noise_ceiling")
    if ceiling is None:
        return np.nan
    rows = ceiling[(ceiling["atlas"] == atlas) & (ceiling["roi"] == roi)]
    return float(rows["lower"].iloc[0]) if len(rows) else np.nan


def roi_peak_sentences(res: Results, atlas: str) -> list[str]:
    """Per ROI of one atlas: each network's peak layer with its bootstrap share, r with interval,
    the normalised value, and the layers the peak is not separated from; layers that share the
    largest share are all named."""
    inference, pairwise, peak = (
        res.table("inference"),
        res.table("pairwise"),
        res.table("peak_layer"),
    )
    out = []
    for roi in res.rois(atlas):
        parts = []
        lower = _ceiling_lower(res, atlas, roi)
        for network in res.networks:
            sel = (peak["atlas"] == atlas) & (peak["roi"] == roi) & (peak["network"] == network)
            if not sel.any():
                continue
            rows = inference[
                (inference["atlas"] == atlas)
                & (inference["roi"] == roi)
                & (inference["network"] == network)
            ]
            if "peak" in rows.columns:
                row = rows[rows["peak"].astype(bool)].iloc[0]
                layer = str(row["layer"])
                shares = peak[sel].set_index("layer")["share"]
                share = float(shares.get(layer, np.nan))
            else:
                layer, share, _ = peak_summary(peak[sel])
                row = rows[rows["layer"] == layer].iloc[0]
            word = "model" if not res.ordered(network) else "layer"
            tied = (
                []
                if pairwise is None  # no network of this study has two layers
                else [
                    md(x)
                    for x in not_separated_from(
                        layer,
                        pairwise[
                            (pairwise["atlas"] == atlas)
                            & (pairwise["roi"] == roi)
                            & (pairwise["network"] == network)
                        ],
                    )
                ]
            )
            text = (
                f"{md(network)} {md(layer)} "
                f"(r = {fmt(row['r'])} {interval(row['ci_low'], row['ci_high'])}"
            )
            if lower > 0 and np.isfinite(row.get("r_normalised", np.nan)):
                text += f", {fmt(row['r_normalised'], 2)} of the lower ceiling"
            if np.isfinite(share):
                text += f"; best in {100 * share:.0f}% of samples"
            text += ")"
            if bool(row.get("resolved", False)):
                text += ", resolved"
            elif not (row["significant_zero"] and row["ci_low"] > 0):
                text += ", not above zero"
            elif tied:
                text += (
                    f", not separated from {join(tied)}"
                    if len(tied) <= 4
                    else f", not separated from {len(tied)} other {word}s"
                )
            parts.append(text)
        if parts:
            out.append(
                f"**{md(roi)}**: {single_label(res.method)} peaks at " + "; ".join(parts) + "."
            )
    return out


def silent_rois(res: Results) -> str:
    """Which ROIs no layer fits (instead of naming a 'lowest' ROI)."""
    inference = res.table("inference")
    parts = []
    for atlas in res.atlases:
        silent = rois_without_signal(inference[inference["atlas"] == atlas])
        if silent:
            parts.append(f"{join(md(r) for r in silent)}{_where(res, atlas)}")
    if not parts:
        n = sum(len(res.rois(a)) for a in res.atlases)
        return (
            f"The ROI has at least one {noun(res)} significantly above zero."
            if n == 1
            else f"Every ROI has at least one {noun(res)} significantly above zero."
        )
    return (
        "In "
        + "; ".join(parts)
        + ", no layer of any network is significantly above zero; these ROIs "
        "are not ranked among themselves, since their values are all zero within noise."
    )


def ceiling_sentence(res: Results) -> str:
    """Tests against the lower noise ceiling, with what they can and cannot show with this many
    subjects, where r / ceiling is given, and why a ratio can exceed 1."""
    if not res.has_ceiling:
        return (
            "There is no noise ceiling: it needs at least two subjects, and this study has "
            f"{plural(len(res.subjects), 'subject')}, so no value is compared with one."
        )
    inference = res.table("inference")
    ceiling = res.table("noise_ceiling")
    n = len(inference)
    below = int(inference["significant_ceiling"].astype(bool).sum())
    degrees = dof(res)
    text = (
        f"{below} of {n} ROI × {noun(res)} values of {single_label(res.method)} are "
        "significantly below the lower noise ceiling (corrected within each ROI × network). With "
        f"{plural(len(res.subjects), 'subject')} the test has {degrees} degrees of freedom, so a "
        "value "
        f"must lie about {t_critical(degrees):.1f} standard errors below the ceiling to be "
        "detected: "
        "the test has little power, and a value that is not significantly below the ceiling has "
        "not "
        "been shown to reach it."
    )
    if ceiling is not None and "lower_above_zero" in ceiling.columns:
        above = int(ceiling["lower_above_zero"].astype(bool).sum())
        text += (
            f" The lower bound is significantly above zero in {above} of {len(ceiling)} ROIs; r / "
            "lower "
            "ceiling is given only there."
        )
    ratio = inference.get("r_normalised")
    if ratio is not None and (ratio > 1).any():
        text += (
            f" In {int((ratio > 1).sum())} rows r exceeds the lower bound (ratio above 1): the "
            "lower "
            "bound is the similarity of each subject with the average of the *other* subjects, an "
            "underestimate of the best possible fit, so a model that captures what the subjects "
            "share "
            "can exceed it without exceeding the upper bound."
        )
    return text


def effect_sentences(res: Results) -> list[str]:
    """Per atlas: the size of the effects first: the peak r (single subjects, mean) per ROI and
    network, its range and median over ROIs, the largest with its interval, and r / lower ceiling
    where that is defined."""
    inference = res.table("inference")
    if inference is None or "peak" not in inference.columns:
        return []
    label = single_label(res.method)
    out = []
    for atlas in res.atlases:
        peaks = inference[(inference["atlas"] == atlas) & inference["peak"].astype(bool)]
        if peaks.empty:
            continue
        # each ROI's best network peak
        best = peaks.loc[peaks.groupby("roi", sort=False)["r"].idxmax()]
        top = best.loc[best["r"].idxmax()]
        where = atlas_name(res, atlas)
        lead = f"{where}the best {noun(res)}" if where else f"The best {noun(res)}"
        largest = (
            f"{md(top['network'])} {md(top['layer'])} in {md(top['roi'])}, is {fmt(top['r'])} "
            f"{interval(top['ci_low'], top['ci_high'])}"
        )
        text = (
            f"{lead} reaches {label} of {fmt(best['r'].min())} to {fmt(best['r'].max())} across "
            f"{plural(len(best), 'ROI')} (median {fmt(float(best['r'].median()))}); the largest, "
            f"{largest}"
            if len(best) > 1
            else f"{lead} reaches {label} of {fmt(top['r'])} "
            f"{interval(top['ci_low'], top['ci_high'])} ({md(top['network'])} {md(top['layer'])} "
            f"in {md(top['roi'])})"
        )
        ratio = best["r_normalised"].dropna() if "r_normalised" in best.columns else pd.Series([])
        if len(ratio):
            text += (
                f"; relative to the lower noise ceiling {fmt(float(ratio.median()), 2)} (median "
                "over "
                f"the {plural(len(ratio), 'ROI')} whose lower bound is above zero)"
            )
        out.append(text + ".")
    return out


def atlas_name(res: Results, atlas: str) -> str:
    """'In BOLD5000, ' (nothing for a study without atlases)."""
    return "" if res.atlases == ["default"] else f"In {atlas}, "


def significance_counts(res: Results) -> str:
    """Counts of significant cells, each with its family."""
    inference = res.table("inference")
    sizes = inference.groupby(["atlas", "roi", "network"], sort=False).size()
    many = noun(res, many=True)
    family = (
        f"{sizes.min()} {many}"
        if sizes.min() == sizes.max()
        else f"{sizes.min()} to {sizes.max()} {many}"
    )
    text = (
        f"{int(above_zero(inference).sum())} of {len(inference)} ROI × {noun(res)} values are "
        f"significantly above zero (corrected with {family_note(res)} within each ROI × network, "
        f"i.e. over the {family} of one network)"
    )
    if "resolved" in inference.columns:
        peaks = inference[inference["peak"].astype(bool)]
        text += (
            f"; {int(peaks['resolved'].astype(bool).sum())} of {len(peaks)} ROI × network peaks "
            "are "
            f"resolved (above zero and significantly different from every other {noun(res)} of "
            "the network)"
        )
    return text + "."


def subjects_to_compare(res: Results) -> bool:
    """Whether peak_consistency.csv has a cell with two or more subjects (else there is no
    agreement between subjects to count)."""
    table = res.table("peak_consistency")
    return table is not None and not table.empty and int(table["n_subjects"].max()) >= 2


def consistency_sentences(res: Results) -> list[str]:
    """Per atlas: how many subjects share the peak layer of the subject-averaged RDM
    (peak_consistency.csv)."""
    table = res.table("peak_consistency")
    if table is None or table.empty:
        return []
    if not subjects_to_compare(res):
        return [
            "With one subject the subject-averaged RDM is that subject's own RDM, so there is no "
            "agreement between subjects to count (`peak_consistency.csv`)."
        ]
    out = []
    for atlas in res.atlases:
        rows = table[table["atlas"] == atlas]
        if rows.empty:
            continue
        n = int(rows["n_subjects"].max())
        everyone = int((rows["n_sharing"] == rows["n_subjects"]).sum())
        nobody = int((rows["n_sharing"] == 0).sum())
        out.append(
            f"{atlas_name(res, atlas)}the peak layer of the subject-averaged RDM is also the peak "
            f"of a median of {fmt(float(rows['n_sharing'].median()), 1)} of {n} subjects' own "
            f"RDMs; all {n} agree in {everyone} and none in {nobody} of {len(rows)} ROI × network "
            "cells (`peak_consistency.csv`)."
        )
    return out


def network_sentences(res: Results) -> list[str]:
    """Per atlas and pair of networks: in how many ROIs one network's cross-validated r (layer
    chosen on other images) is significantly higher, and the median difference."""
    table = res.table("network_comparison")
    out = []
    for atlas in res.atlases:
        rows = table[table["atlas"] == atlas]
        parts = []
        for (a, b), part in rows.groupby(["network_a", "network_b"], sort=False):
            higher, lower, neither = network_counts(part)
            if higher or lower:
                parts.append(
                    f"{md(a)} vs {md(b)}: {md(a)} higher in {higher}, {md(b)} higher in {lower}, "
                    f"not distinguishable in {neither} (median difference "
                    f"{fmt(float(part['difference'].median()))})"
                )
        total = rows["roi"].nunique()
        if parts:
            out.append(
                f"Cross-validated {single_label(res.method)} (each network's layer chosen on one "
                "half "
                f"of the images, evaluated on the other; family: the network pairs of one ROI). "
                f"Of {total} ROIs{_where(res, atlas)}, " + "; ".join(parts) + "."
            )
        elif len(rows):
            out.append(
                f"In all {total} ROIs{_where(res, atlas)}, no network's cross-validated "
                f"{single_label(res.method)} is significantly above another's (family: the network "
                "pairs of one ROI)."
            )
    return out


def last_layer_sentences(res: Results) -> list[str]:
    """Per network of layers in depth order: in how many ROIs the last layer is significantly below
    the one before it (none for a set of models, whose RDMs have no first or last)."""
    pairwise = res.table("pairwise")
    out = []
    if pairwise is None:
        return out
    for network in res.ordered_networks:
        layers = res.layers(network)
        if len(layers) < 2:
            continue
        before, last = layers[-2], layers[-1]
        rows = pairwise[
            (pairwise["network"] == network)
            & (pairwise["layer_a"] == before)
            & (pairwise["layer_b"] == last)
        ]
        if rows.empty:
            continue
        drops = int((rows["significant"].astype(bool) & (rows["difference"] > 0)).sum())
        rises = int((rows["significant"].astype(bool) & (rows["difference"] < 0)).sum())
        out.append(
            f"From {md(before)} to the last layer of {md(network)}, {md(last)}, r drops "
            f"significantly in {drops} and rises significantly in {rises} of "
            f"{plural(len(rows), 'ROI')}."
        )
    return out


def depth_sentence(res: Results) -> list[str]:
    """Per atlas and group: the relative depths of the ROIs' resolved peak layers (inference.csv
    `resolved`: above zero and significantly different from every other layer of the network),
    pooled over networks; unresolved peaks are counted, not placed."""
    inference = res.table("inference")
    if inference is None or "resolved" not in inference.columns:
        return []
    peaks = inference[inference["peak"].astype(bool)]
    out = []
    for atlas in res.grouped_atlases():
        parts = []
        for group, rois in res.groups(atlas).items():
            depths, unresolved = [], 0
            for row in peaks[(peaks["atlas"] == atlas) & peaks["roi"].isin(rois)].itertuples():
                if bool(row.resolved):
                    depths.append(res.depth(row.network, row.layer))
                else:
                    unresolved += 1
            if depths:
                low, high, count = min(depths), max(depths), plural(len(depths), "resolved peak")
                if np.isclose(low, high):
                    text = f"{md(group)}: {fmt(low, 2)} ({count}"
                else:
                    text = (
                        f"{md(group)}: {fmt(low, 2)}–{fmt(high, 2)} (median "
                        f"{fmt(float(np.median(depths)), 2)}, {count}"
                    )
                parts.append(text + (f"; {unresolved} unresolved)" if unresolved else ")"))
            elif unresolved:
                parts.append(f"{md(group)}: no peak resolved")
        if parts:
            out.append(
                "Relative depth (0 first layer, 1 last) of the resolved peak "
                f"layers{_where(res, atlas)}: " + "; ".join(parts) + "."
            )
    return out


def best_points(res: Results) -> list[str]:
    """Without groups and without inference: per atlas and network, the ROI × layer cell(s) with the
    highest r of the subject-averaged RDMs (every cell that shares it named)."""
    out = []
    label = measure_label(res.method)
    for atlas in res.atlases:
        parts = []
        for network in res.networks:
            rows = res.joint[(res.joint["atlas"] == atlas) & (res.joint["network"] == network)]
            if rows.empty:
                continue
            top = extremes(rows["r"])
            cells = [f"{md(rows['roi'].iloc[k])} × {md(rows['layer'].iloc[k])}" for k in top]
            value = fmt(rows["r"].iloc[top[0]])
            parts.append(
                f"{md(network)}: {cells[0]} ({value})"
                if len(cells) == 1
                else f"{md(network)}: {join(cells)}, all at {value}"
            )
        if parts:
            out.append(
                f"Highest {label} (point estimates){_where(res, atlas)}: " + "; ".join(parts) + "."
            )
    return out


def key_findings(res: Results) -> str:
    """All findings as a markdown bullet list: effect sizes first, then counts with families."""
    items = []
    if res.has_inference:
        items += effect_sentences(res)
        items.append(significance_counts(res))
    items += list(group_peaks(res))
    items += consistency_sentences(res)
    if not res.grouped_atlases():
        items.append(
            "The study file defines no ROI groups, so there are no group summaries; "
            f"@tbl-best-layers lists each ROI's best {noun(res)}."
        )
        if not res.has_inference:
            items += best_points(res)
    if res.has_inference:
        items.append(silent_rois(res))
        items += depth_sentence(res)
        if res.table("network_comparison") is not None:
            items += network_sentences(res)
        items += last_layer_sentences(res)
        items.append(ceiling_sentence(res))
    return "\n".join(f"- {item}" for item in items if item)


def abstract(res: Results) -> str:
    """The abstract: what was compared, how, the effect sizes with their intervals, then the counts
    of significant values with their families."""
    m = res.manifest
    n_rois = sum(len(res.rois(a)) for a in res.atlases)
    atlases = (
        ""
        if res.atlases == ["default"]
        else f" from {plural(len(res.atlases), 'atlas', 'atlases')}"
    )
    data = f" of {md(res.dataset['name'])}" if res.dataset.get("name") else ""
    ordered, unordered = res.ordered_networks, res.unordered_networks()
    against = []
    if ordered:
        n_layers = sum(len(res.layers(n)) for n in ordered)
        against.append(
            f"every layer of {join(md(n) for n in ordered)} ({plural(n_layers, 'layer')} in all)"
        )
    if unordered:
        n_models = sum(len(res.layers(n)) for n in unordered)
        against.append(f"{plural(n_models, 'model RDM')} ({join(md(n) for n in unordered)})")
    text = [
        (
            "We compared the representational dissimilarity matrices (RDMs) of "
            f"{plural(n_rois, 'region')} of interest{atlases} in "
            f"{plural(len(res.subjects), 'subject')}{data} with {' and '.join(against)}, using "
            f"representational similarity analysis: RDMs over the {m.get('n_common_images')} "
            f"images common to all files were compared, with {measure_label(res.method)} as the "
            "measure of similarity, averaged over the single subjects' values."
        )
    ]
    if res.has_inference:
        params = m.get("parameters", {})
        text += effect_sentences(res)
        if res.over_images_only:
            text.append(
                f"Uncertainty comes from a bootstrap over images ({params.get('samples')} samples) "
                f"with t tests on {dof(res)} degrees of freedom; with one subject, the intervals "
                "generalise over images, not over people, and there is no noise ceiling."
            )
        else:
            text.append(
                "Uncertainty comes from a dual bootstrap over images and subjects "
                f"({params.get('samples')} samples), with t tests on {dof(res)} degrees of freedom."
            )
        text.append(significance_counts(res))
        inference = res.table("inference")
        if "resolved" in inference.columns and inference["resolved"].astype(bool).any():
            text += depth_sentence(res)[:1]
        silent = sum(
            len(rois_without_signal(inference[inference["atlas"] == atlas]))
            for atlas in res.atlases
        )
        if silent:
            text.append(
                f"In {silent} of {inference.groupby(['atlas', 'roi']).ngroups} ROIs no layer of "
                "any "
                "network is significantly above zero."
            )
        if res.table("network_comparison") is not None:
            text += network_sentences(res)[:1]
        if res.has_ceiling:
            text.append(
                f"With {plural(len(res.subjects), 'subject')}, the tests against the noise ceiling "
                "have little power; the report lists what the data cannot decide."
            )
    else:
        text.append("The analysis ran without a bootstrap, so no intervals or tests are reported.")
    if res.synthetic:
        text.append(
            "These are synthetic data with a planted answer: the numbers test the pipeline, not "
            "the brain."
        )
    return " ".join(text)


# --- the sentences that introduce each figure (references only to figures the report draws) ------


def subject_text(res: Results, detail: str, absent: dict[str, str]) -> str:
    """The text before the per-subject figures."""
    where = "" if res.atlases == ["default"] else f" of the {md(detail)} atlas"
    each = (
        "for each subject, on one colour scale" if len(res.subjects) > 1 else "for the one subject"
    )
    text = (
        f"@fig-subject-heatmaps shows the similarity between every ROI{where} and every "
        f"{noun(res)} {each}."
    )
    if "fig-subject-bars" in absent:
        return text + " " + absent["fig-subject-bars"]
    grouped = res.grouped_atlases()
    which = "every atlas" if len(grouped) == len(res.atlases) else f"{join(md(a) for a in grouped)}"
    dots = (
        "bars are the mean over subjects and dots the single subjects"
        if len(res.subjects) > 1
        else "bars are the one subject's values"
    )
    return (
        text + f" @fig-subject-bars shows {which}, with ROIs averaged within their group: {dots}."
    )


def joint_text(res: Results) -> str:
    """The text before the subject-averaged heatmap."""
    if len(res.subjects) == 1:
        first = (
            "With one subject, @fig-joint-heatmap shows that subject's ROI RDMs compared with the "
            + noun(res, many=True)
        )
    else:
        first = (
            "For @fig-joint-heatmap each ROI's RDM was averaged over subjects before it was "
            f"compared with the {noun(res, many=True)}"
        )
    return (
        f"{first}; @tbl-best-layers in the appendix lists each ROI's best {noun(res)} per network. "
        "The HTML version also shows the grid with the value of every cell on hover."
    )


def rdm_examples_text(res: Results) -> str:
    """The text before the example RDMs: by source where the study names image sources."""
    table = res.table("rdm_examples")
    sources = set(table["source_a"]) | set(table["source_b"])
    if len(sources) > 1:
        return (
            "What do these RDMs look like? @fig-rdm-examples draws a few of them on a subsample "
            "of images, ordered by image source: blocks along the diagonal show how strongly an "
            "RDM separates the sources."
        )
    return (
        "What do these RDMs look like? @fig-rdm-examples draws a few of them on a subsample of "
        "images (the study names no image sources, or all images share one)."
    )


def groups_text(res: Results, absent: dict[str, str]) -> str:
    """The text before the group-line, depth, scatter and 3D figures."""
    text = []
    if "fig-group-lines" in absent:
        text.append(absent["fig-group-lines"])
    else:
        band = (
            " with a band of ±1 standard error of the mean"
            if len(res.subjects) > 1
            else " (one subject: no band)"
        )
        text.append(
            "@fig-group-lines follows each ROI group through the layers of each network: for "
            "every subject the similarity is averaged over the group's ROIs, and the line shows "
            f"the mean over subjects{band}."
        )
    if "fig-depth" in absent:
        text.append(absent["fig-depth"])
    else:
        text.append(
            "@fig-depth puts the networks of layers in depth order on one relative-depth axis, so "
            "that networks of different depth can be compared: thin lines are single ROIs, bold "
            "lines their group mean."
        )
    first = (
        "the first ROI of each group"
        if res.grouped_atlases()
        else "the first ROIs of each atlas (it has no groups)"
    )
    text.append(
        f"@fig-roi-scatter picks {first}, and @fig-bars3d shows the whole ROI × {noun(res)} grid "
        "as bars."
    )
    return " ".join(text)


def second_order_text(res: Results) -> str:
    """The text before the second-order map."""
    text = (
        f"@fig-second-order places every ROI RDM and every {noun(res)} RDM of an atlas on one map: "
        "the closer two points, the more alike their RDMs."
    )
    if res.ordered_networks:
        text += (
            " Each network's layers are joined from input to output, so the map shows which "
            "stretch of each network passes near which ROIs."
        )
    if res.unordered_networks():
        text += (
            f" The models of {join(md(n) for n in res.unordered_networks())} are crosses, not "
            "joined: they have no order."
        )
    return text


def inference_text(res: Results, absent: dict[str, str]) -> str:
    """The text before the inference figure and the peak table."""
    from .inference_figures import inference_rois

    atlas, rois = inference_rois(res)
    which = "every ROI" if len(rois) == len(res.rois(atlas)) else "the first ROI of each group"
    where = "" if res.atlases == ["default"] else f" of the {md(atlas)} atlas"
    ceiling = " and the noise ceiling" if res.has_ceiling else ""
    text = f"@fig-inference shows {which}{where} with t intervals{ceiling}."
    if res.over_images_only:
        text += (
            " With one subject the intervals come from resampling images only: they say how the "
            "values would vary with other images, not with other people."
        )
    if "tbl-peak" not in absent:
        normalised = " and its value relative to the lower noise ceiling" if res.has_ceiling else ""
        text += (
            f" @tbl-peak gives, for the same atlas, each network's peak {noun(res)} with the share "
            "of bootstrap samples in which it was the best, its similarity with "
            f"interval{normalised}."
        )
    if "tbl-noise-ceiling" not in absent:
        text += " @tbl-noise-ceiling lists the ceilings of every ROI."
    return text
