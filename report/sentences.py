"""Sentences computed from the result tables (nothing typed by hand). A
sentence never ranks values that are equal within their uncertainty: it
ranks only what a test (or, without inference, two SEM) separates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .results import Results
from .style import measure_label
from .tables import fmt, interval

CORRECTIONS = {
    "fdr": "the false discovery rate (Benjamini–Hochberg)",
    "bonferroni": "Bonferroni's correction",
    "none": "no correction",
}


def join(items: Iterable[str], word: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 ROI', '3 ROIs'."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def dof(res: Results) -> int:
    """Degrees of freedom of the bootstrap t tests: subjects
    − 1 (rsatoolbox's default for dual bootstrap)."""
    return max(len(res.subjects) - 1, 1)


def t_critical(degrees: int, alpha: float = 0.05) -> float:
    """Two-sided critical t value: an interval is ± this many SEM wide."""
    return float(stats.t.ppf(1 - alpha / 2, degrees))


# --- the logic, on plain tables (unit-tested)
# ----------------------------------------------------------


def tied_with_top(
    labels: Sequence[str], means: Sequence[float], sems: Sequence[float], width: float = 2.0
) -> tuple[str, list[str]]:
    """The label with the highest mean and every other label within `width` combined SEM of it
    (sqrt(se_a² + se_b²)): those the data do not separate from the top."""
    means, sems = np.asarray(means, float), np.asarray(sems, float)
    top = int(np.nanargmax(means))
    spread = width * np.sqrt(sems**2 + sems[top] ** 2)
    tied = [
        labels[k] for k in range(len(labels)) if k != top and means[top] - means[k] <= spread[k]
    ]
    return labels[top], tied


def not_separated_from(best: str, pairwise: pd.DataFrame) -> list[str]:
    """Layers whose pairwise test against `best` is
    not significant (rows of one ROI and network)."""
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
    """Rows significantly above zero: the two-sided
    test rejects and the interval lies above zero."""
    return inference["significant_zero"].astype(bool) & (inference["ci_low"] > 0)


def rois_without_signal(inference: pd.DataFrame) -> list[str]:
    """ROIs in which no layer of any network is significantly above
    zero (they are not ranked: all are zero within noise)."""
    any_signal = above_zero(inference).groupby(inference["roi"], sort=False).any()
    return [str(r) for r, signal in any_signal.items() if not signal]


def peak_summary(peak: pd.DataFrame, threshold: float = 0.5) -> tuple[str, float, bool]:
    """The layer most often best in the bootstrap, its share, and whether the peak is resolved
    (share of at least `threshold`); rows of one ROI and network."""
    row = peak.loc[peak["share"].idxmax()]
    return str(row["layer"]), float(row["share"]), bool(row["share"] >= threshold)


def network_counts(comparison: pd.DataFrame) -> tuple[int, int, int]:
    """(ROIs where network A's best layer is significantly
    higher, where B's is, where neither is)."""
    sig = comparison["significant"].astype(bool)
    return (
        int((sig & (comparison["difference"] > 0)).sum()),
        int((sig & (comparison["difference"] < 0)).sum()),
        int((~sig).sum()),
    )


# --- sentences for the report
# --------------------------------------------------------------------------


def _where(res: Results, atlas: str) -> str:
    return "" if res.default_atlas_only else f" ({atlas})"


def group_peaks(res: Results) -> list[str]:
    """Per atlas, group and network: where the group's mean r peaks, and which layers
    are within 2 SEM of it (between-subject SEM; a description, not a test)."""
    out = []
    label = measure_label(res.method)
    for atlas in res.atlases:
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
                top, tied = tied_with_top(list(rows["layer"]), rows["mean"], rows["sem"])
                best = rows[rows["layer"] == top].iloc[0]
                text = f"{network} {top} ({fmt(best['mean'])} ± {fmt(best['sem'])})"
                if tied:
                    text += f", not separated from {join(tied)}"
                parts.append(text)
            if parts:
                out.append(
                    f"**{group}**{_where(res, atlas)}: highest mean {label} at "
                    + "; ".join(parts)
                    + "."
                )
    return out


def roi_peak_sentences(res: Results, atlas: str) -> list[str]:
    """Per ROI of one atlas: each network's peak layer with its bootstrap share, r with
    interval, the normalised value, and the layers the peak is not separated from."""
    inference, pairwise, peak = (
        res.table("inference"),
        res.table("pairwise"),
        res.table("peak_layer"),
    )
    ceiling = res.table("noise_ceiling").set_index(["atlas", "roi"])
    out = []
    for roi in res.rois(atlas):
        parts = []
        for network in res.networks:
            sel = (peak["atlas"] == atlas) & (peak["roi"] == roi) & (peak["network"] == network)
            if not sel.any():
                continue
            layer, share, resolved = peak_summary(peak[sel])
            row = inference[
                (inference["atlas"] == atlas)
                & (inference["roi"] == roi)
                & (inference["network"] == network)
                & (inference["layer"] == layer)
            ].iloc[0]
            pairs = pairwise[
                (pairwise["atlas"] == atlas)
                & (pairwise["roi"] == roi)
                & (pairwise["network"] == network)
            ]
            tied = not_separated_from(layer, pairs)
            text = (
                f"{network} {layer} in {100 * share:.0f}% of samples "
                f"(r = {fmt(row['r'])} {interval(row['ci_low'], row['ci_high'])}"
            )
            if ceiling.loc[(atlas, roi), "lower"] > 0 and np.isfinite(
                row.get("r_normalised", np.nan)
            ):
                text += f", {fmt(row['r_normalised'], 2)} of the lower ceiling"
            text += ")"
            if not (row["significant_zero"] and row["ci_low"] > 0):
                text += ", not above zero"
            elif tied:
                text += (
                    f", not separated from {join(tied)}"
                    if len(tied) <= 4
                    else f", not separated from {len(tied)} other layers"
                )
            parts.append(text)
        if parts:
            out.append(f"**{roi}** peaks at " + "; ".join(parts) + ".")
    return out


def silent_rois(res: Results) -> str:
    """Which ROIs no layer fits (instead of naming a 'lowest' ROI)."""
    inference = res.table("inference")
    parts = []
    for atlas in res.atlases:
        silent = rois_without_signal(inference[inference["atlas"] == atlas])
        if silent:
            parts.append(f"{join(silent)}{_where(res, atlas)}")
    if not parts:
        return "Every ROI has at least one layer significantly above zero."
    return (
        "In "
        + "; ".join(parts)
        + ", no layer of any network is significantly above zero; these ROIs "
        "are not ranked among themselves, since their values are all zero within noise."
    )


def ceiling_sentence(res: Results) -> str:
    """Tests against the lower noise ceiling, with what
    they can and cannot show with this many subjects."""
    inference = res.table("inference")
    n = len(inference)
    below = int(inference["significant_ceiling"].astype(bool).sum())
    degrees = dof(res)
    return (
        f"{below} of {n} ROI × layer values are significantly below the lower noise "
        f"ceiling. With {plural(len(res.subjects), 'subject')} the test has {degrees} "
        f"degrees of freedom, so a value must lie about {t_critical(degrees):.1f} standard "
        "errors below the ceiling to be detected: the test has little power, and a value "
        "that is not significantly below the ceiling has not been shown to reach it."
    )


def network_sentences(res: Results) -> list[str]:
    """Per atlas and pair of networks: in how many ROIs
    one network's best layer beats the other's."""
    table = res.table("network_comparison")
    out = []
    for atlas in res.atlases:
        rows = table[table["atlas"] == atlas]
        parts = []
        for (a, b), part in rows.groupby(["network_a", "network_b"], sort=False):
            higher, lower, neither = network_counts(part)
            if higher or lower:
                parts.append(
                    f"{a} vs {b}: {a} higher in {higher}, {b} higher in {lower}, "
                    f"not distinguishable in {neither}"
                )
        total = rows["roi"].nunique()
        if parts:
            out.append(f"Of {total} ROIs{_where(res, atlas)}, " + "; ".join(parts) + ".")
        elif len(rows):
            out.append(
                f"In all {total} ROIs{_where(res, atlas)}, no network's "
                "best layer is significantly above another's."
            )
    return out


def last_layer_sentences(res: Results) -> list[str]:
    """Per network: in how many ROIs the last layer is significantly below the one before it."""
    pairwise = res.table("pairwise")
    out = []
    for network in res.networks:
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
            f"From {before} to the last layer of {network}, {last}, r drops significantly "
            f"in {drops} and rises significantly in {rises} of {len(rows)} ROIs."
        )
    return out


def depth_sentence(res: Results) -> list[str]:
    """Per atlas and group: the relative depths of the
    ROIs' resolved peak layers, pooled over networks."""
    peak = res.table("peak_layer")
    if peak is None:
        return []
    out = []
    for atlas in res.atlases:
        parts = []
        for group, rois in res.groups(atlas).items():
            depths, unresolved = [], 0
            for (_roi, network), rows in peak[
                (peak["atlas"] == atlas) & peak["roi"].isin(rois)
            ].groupby(["roi", "network"], sort=False):
                layer, _share, resolved = peak_summary(rows)
                if resolved:
                    depths.append(res.depth(network, layer))
                else:
                    unresolved += 1
            if depths:
                low, high, count = min(depths), max(depths), plural(len(depths), "resolved peak")
                if np.isclose(low, high):
                    text = f"{group}: {fmt(low, 2)} ({count}"
                else:
                    text = (
                        f"{group}: {fmt(low, 2)}–{fmt(high, 2)} (median "
                        f"{fmt(float(np.median(depths)), 2)}, {count}"
                    )
                parts.append(text + (f"; {unresolved} unresolved)" if unresolved else ")"))
            elif unresolved:
                parts.append(f"{group}: no peak resolved")
        if parts:
            out.append(
                f"Relative depth of the peak layers{_where(res, atlas)}: " + "; ".join(parts) + "."
            )
    return out


def key_findings(res: Results) -> str:
    """All findings as a markdown bullet list."""
    items = list(group_peaks(res))
    if res.has_inference:
        items.append(silent_rois(res))
        items += depth_sentence(res)
        if res.table("network_comparison") is not None:
            items += network_sentences(res)
        items += last_layer_sentences(res)
        items.append(ceiling_sentence(res))
    return "\n".join(f"- {item}" for item in items if item)


def abstract(res: Results) -> str:
    """The abstract: what was compared, how, and what the tables say (with their uncertainty)."""
    m = res.manifest
    n_rois = sum(len(res.rois(a)) for a in res.atlases)
    atlases = (
        "" if res.default_atlas_only else f" from {plural(len(res.atlases), 'atlas', 'atlases')}"
    )
    n_layers = sum(len(res.layers(n)) for n in res.networks)
    text = [
        (
            f"We compared the representational geometry of {plural(n_rois, 'region')} of "
            f"interest{atlases} in human visual cortex, measured with fMRI in "
            f"{plural(len(res.subjects), 'subject')} viewing BOLD5000 images, with every "
            f"layer of {join(res.networks)} ({plural(n_layers, 'layer')} in all), using "
            "representational similarity analysis: representational dissimilarity matrices "
            f"(RDMs) over the {m.get('n_common_images')} images common to all files were "
            f"compared, with {measure_label(res.method)} as the measure of similarity."
        )
    ]
    if res.has_inference:
        inference = res.table("inference")
        params = m.get("parameters", {})
        text.append(
            "Uncertainty comes from a dual bootstrap over images and subjects "
            f"({params.get('samples')} samples), with t tests on {dof(res)} degrees of freedom."
        )
        text.append(
            f"{int(above_zero(inference).sum())} of {len(inference)} ROI × layer "
            "similarities are significantly above zero."
        )
        text += depth_sentence(res)[:1]
        silent = silent_rois(res)
        if silent.startswith("In "):
            text.append(silent.split(";")[0] + ".")
        if res.table("network_comparison") is not None:
            text += network_sentences(res)[:1]
        text.append(
            f"With {plural(len(res.subjects), 'subject')}, the tests against the noise "
            "ceiling have little power; the report lists what the data cannot decide."
        )
    else:
        text.append("The analysis ran without a bootstrap, so no intervals or tests are reported.")
    if res.synthetic:
        text.append(
            "These are synthetic data with a planted answer: "
            "the numbers test the pipeline, not the brain."
        )
    return " ".join(text)
