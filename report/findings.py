"""Key findings as sentences computed from the result tables (nothing typed by hand)."""

from __future__ import annotations

from figures import column_labels, measure_label
from results import Results


def _fmt(value: float) -> str:
    return f"{0.0 if abs(value) < 0.0005 else value:.3f}"


def group_peaks(res: Results) -> list[str]:
    """For each ROI group: the layer where the mean r across subjects peaks."""
    labels = column_labels(res)
    out = []
    for group in map(str, res.order["groups"]):
        rows = res.by_group[res.by_group["group"].astype(str) == group]
        if rows.empty:
            continue
        best = rows.loc[rows["mean"].idxmax()]
        out.append(f"**{group}**: mean {measure_label(res.method)} peaks at **{labels[int(best['layer_index'])]}** "
                   f"({_fmt(best['mean'])} ± {_fmt(best['sem'])} SEM, n = {int(best['n_subjects'])} subjects).")
    return out


def last_layer_change(res: Results) -> str:
    """Whether r drops from the second-to-last to the last layer, per group (first network)."""
    network = str(res.order["networks"][0])
    layers = [str(layer) for layer in res.order["layers"][network]]
    if len(layers) < 2:
        return ""
    before, last = layers[-2], layers[-1]
    table = res.by_group[res.by_group["network"].astype(str) == network]
    means = {(str(g), str(layer)): float(v) for g, layer, v in zip(table["group"], table["layer"], table["mean"])}
    changes = [(g, means[(g, before)], means[(g, last)]) for g in map(str, res.order["groups"])
               if (g, before) in means and (g, last) in means]
    if not changes:
        return ""
    drops = [g for g, a, b in changes if b < a]
    detail = "; ".join(f"{g}: {_fmt(a)} → {_fmt(b)}" for g, a, b in changes)
    if len(drops) == len(changes):
        result = "drops for every group"
    elif not drops:
        result = "does not drop for any group"
    else:
        result = f"drops for {len(drops)} of {len(changes)} groups, {' and '.join(drops)}"
    return f"From {before} to the last layer, {last}, mean {measure_label(res.method)} {result} ({detail})."


def lowest_roi(res: Results) -> str:
    """The ROI with the lowest r averaged over layers (subject-averaged RDMs)."""
    means = res.joint.groupby(res.joint["roi"].astype(str))["r"].mean()
    roi, value = means.idxmin(), means.min()
    top, top_value = means.idxmax(), means.max()
    return (f"Averaged over layers, the lowest ROI is **{roi}** ({measure_label(res.method)} = {_fmt(value)}) "
            f"and the highest is **{top}** ({_fmt(top_value)}), for the subject-averaged RDMs.")


def best_layer(res: Results) -> str:
    """The layer with the highest r averaged over ROIs (subject-averaged RDMs)."""
    labels = column_labels(res)
    means = res.joint.groupby("layer_index")["r"].mean()
    return (f"Averaged over all ROIs, **{labels[int(means.idxmax())]}** has the highest {measure_label(res.method)} "
            f"({_fmt(means.max())}) and **{labels[int(means.idxmin())]}** the lowest ({_fmt(means.min())}).")


def subject_agreement(res: Results) -> str:
    """How many subjects share the overall best layer for their mean r across ROIs."""
    labels = column_labels(res)
    per = res.per_subject.groupby([res.per_subject["subject"].astype(str), "layer_index"])["r"].mean().unstack()
    best = per.idxmax(axis=1)
    overall = int(res.joint.groupby("layer_index")["r"].mean().idxmax())
    agree = [s for s, b in best.items() if int(b) == overall]
    return (f"{len(agree)} of {len(best)} subjects have their highest mean {measure_label(res.method)} across ROIs "
            f"at {labels[overall]}" + (f" ({', '.join(agree)})." if agree else "."))


def key_findings(res: Results) -> str:
    """All findings as a markdown bullet list."""
    items = group_peaks(res) + [best_layer(res), subject_agreement(res), last_layer_change(res), lowest_roi(res)]
    return "\n".join(f"- {item}" for item in items if item)

