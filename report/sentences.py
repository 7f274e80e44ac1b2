"""Sentences computed from the result tables when the report is rendered (nothing typed by hand):
key findings, and what the inferential section says."""

from __future__ import annotations

from typing import Iterable

from analysis.schema import CORRECTIONS

from .results import InferenceTables, Results, group_rois
from .style import column_labels, measure_label


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


def method_paragraph(res: Results) -> str:
    """How the uncertainty was computed, with the sample counts from the manifest."""
    parameters = res.manifest.get("parameters", {})
    drawn = res.manifest.get("bootstrap", {})
    dropped = drawn.get("samples", 0) - drawn.get("valid_samples", 0)
    usable = (f"All {drawn.get('samples')} samples were usable." if dropped == 0 else
              f"{drawn.get('valid_samples')} of {drawn.get('samples')} samples were usable: "
              f"{drawn.get('dropped_few_images')} drew fewer than 3 distinct images and "
              f"{drawn.get('dropped_undefined')} gave an undefined similarity, and were left out.")
    correction = CORRECTIONS[drawn.get("correction", "fdr")]
    cite = " [@benjamini1995controlling]" if drawn.get("correction", "fdr") == "fdr" else ""
    dof = min(len(res.order["subjects"]), res.manifest["n_common_images"]) - 1
    return (
        f"Uncertainty comes from a dual bootstrap over images and subjects [@schutt2023statistical] with "
        f"{parameters.get('samples')} samples (seed {parameters.get('seed')}), computed exactly as "
        "rsatoolbox's `eval_dual_bootstrap`: each sample resamples images and subjects with replacement, "
        "pairs between copies of one image are left out, and the variances of the subject-only, image-only "
        "and joint bootstraps are combined with the two-factor correction. Tests are two-sided t-tests on "
        f"the corrected variances with {dof} degrees of freedom, corrected for multiple comparisons within "
        f"each ROI and network with the {correction}{cite}. Error bars are the matching t intervals (bootstrap mean "
        f"± t quantile × SEM, {dof} degrees of freedom) at the level at which an interval excludes zero "
        "exactly when its layer is marked significant: 95% without correction, and adjusted for the "
        "number of layers otherwise (Bonferroni, or false-coverage-rate intervals under the false discovery "
        "rate [@benjamini2005false]). "
        "The grey band in @fig-inference is the noise ceiling (leave-one-subject-out lower bound, "
        "all-subjects upper bound); triangles on the zero line mark layers significantly above zero and "
        "horizontal lines above the bars connect pairs of layers that differ significantly "
        f"(the dot marks the better one). {usable}"
    )


def absent_paragraph(res: Results) -> str:
    """What the section says when the results folder has no inference tables."""
    return ("The results folder has no inferential tables (`inference.csv`, `noise_ceiling.csv`, "
            f"`pairwise.csv`): the analysis ran with {res.manifest.get('parameters', {}).get('samples')} "
            "bootstrap samples, so no confidence intervals or tests were computed. Run `python -m analysis run` "
            "with `--samples 1000` (the default) to add them.")


def _join(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def sentences(res: Results, tables: InferenceTables) -> str:
    """One sentence per ROI group and network, computed from the three tables."""
    inference, ceiling, pairwise = tables.inference, tables.ceiling, tables.pairwise
    lines = []
    for group, rois in group_rois(res, tables.inference).items():
        for network in res.order["networks"]:
            rows = inference[(inference.network == network) & inference.roi.isin(rois)]
            if rows.empty:
                continue
            means = rows.groupby("layer", sort=False)["r"].mean()
            best = means.idxmax()
            pairs = pairwise[(pairwise.network == network) & pairwise.roi.isin(rois)
                             & ((pairwise.layer_a == best) | (pairwise.layer_b == best))]
            beaten = {}
            for p in pairs.itertuples():
                other, better = (p.layer_b, p.difference > 0) if p.layer_a == best else (p.layer_a, p.difference < 0)
                if bool(p.significant) and better:
                    beaten[other] = beaten.get(other, 0) + 1
            n = len(rois)
            sentence = f"In the {group} ROIs, {best} of {network} is the best layer (mean r = {means[best]:.3f} over {n} ROI{'s' if n > 1 else ''})"
            if beaten:
                parts = [f"{layer} ({k} of {n} ROIs)" if k < n else layer for layer, k in beaten.items()]
                sentence += f", significantly better than {_join(parts)}"
            else:
                sentence += ", but not significantly better than any other layer"
            merged = rows.merge(ceiling[["roi", "lower"]], on="roi")
            reaching = merged[merged.r >= merged.lower]
            if reaching.empty:
                sentence += "; no layer reaches the lower noise ceiling."
            else:
                where = reaching.groupby("roi", sort=False)["layer"].apply(lambda s: _join(list(s)))
                sentence += "; at or above the lower noise ceiling: " + \
                    "; ".join(f"{layers} in {roi}" for roi, layers in where.items()) + "."
            n_zero = int((rows.significant_zero.astype(bool) & (rows.ci_low > 0)).sum())
            sentence += f" {n_zero} of {len(rows)} ROI × layer values are significantly above zero."
            lines.append("- " + sentence)
    return "\n".join(lines)
