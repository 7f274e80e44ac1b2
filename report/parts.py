"""Which figures and tables a study can support, and the one sentence the report prints where a part
it cannot support would be (no groups, one network, one layer, one ROI, one subject, no
bootstrap)."""

from __future__ import annotations

from .results import Results
from .text import join, md, plural


def _no_groups(res: Results) -> str:
    return (
        "The study file defines no ROI groups (`roi_groups`), so there is no group summary here; "
        "@fig-subject-heatmaps and @fig-joint-heatmap show every ROI."
    )


def _no_inference(res: Results) -> str:
    samples = (res.manifest.get("parameters") or {}).get("samples", 0)
    return (
        f"The analysis ran with {samples} bootstrap samples, so there are no intervals or tests "
        "here (see Methods)."
    )


def _depth_reason(res: Results) -> str | None:
    deep = [n for n in res.ordered_networks if len(res.layers(n)) > 1]
    if deep:
        return None
    unordered = res.unordered_networks()
    if unordered and not res.ordered_networks:
        return (
            f"The RDMs of {join(md(n) for n in unordered)} are a set of models, not layers in "
            "depth order, so there is no relative-depth figure."
        )
    return (
        "Every network of layers in depth order has one layer "
        f"({join(md(n) for n in res.ordered_networks)}), so there is no relative-depth figure."
    )


def _single_layers(res: Results) -> bool:
    return all(len(res.layers(n)) == 1 for n in res.networks)


def reasons(res: Results) -> dict[str, str]:
    """{label: sentence} for every figure or table of index.qmd this study cannot support."""
    out: dict[str, str] = {}
    if not res.grouped_atlases():
        for label in ("fig-subject-bars", "fig-group-lines", "tbl-groups"):
            out[label] = _no_groups(res)
    if res.table("rdm_examples") is None:
        out["fig-rdm-examples"] = (
            "The results folder has no example RDMs (`rdm_examples.csv`), so none are drawn."
        )
    reason = _depth_reason(res)
    if reason:
        out["fig-depth"] = reason
    if res.table("second_order") is None:
        out["fig-second-order"] = (
            "The results folder has no second-order table (`second_order.csv`), so there is no map."
        )
    if not res.has_inference:
        for label in (
            "fig-inference",
            "tbl-peak",
            "fig-peak-share",
            "tbl-noise-ceiling",
            "fig-network-comparison",
            "tbl-network-summary",
            "tbl-pairwise-summary",
        ):
            out[label] = _no_inference(res)
    else:
        if res.table("peak_layer") is None:
            for label in ("tbl-peak", "fig-peak-share"):
                out[label] = "The results folder has no peak-layer table (`peak_layer.csv`)."
        elif _single_layers(res):
            out["fig-peak-share"] = (
                "Every network has one layer (or model), so it is the peak in every bootstrap "
                "sample; there is no spread to show."
            )
        if not res.has_ceiling:
            out["tbl-noise-ceiling"] = (
                "There is no noise ceiling: it needs at least two subjects, and this study has "
                f"{plural(len(res.subjects), 'subject')}."
            )
        if res.table("pairwise") is None:
            out["tbl-pairwise-summary"] = (
                "Every network has one layer (or model), so there are no layers to compare with "
                "each other."
            )
        if len(res.networks) == 1:
            for label in ("fig-network-comparison", "tbl-network-summary"):
                out[label] = (
                    f"This study has one network, {md(res.networks[0])}, so there is nothing to "
                    "compare it with."
                )
        elif res.table("network_comparison") is None:
            for label in ("fig-network-comparison", "tbl-network-summary"):
                out[label] = (
                    "The results have no network comparison table (`network_comparison.csv`), so "
                    "networks are not compared statistically here."
                )
    return out


def shown(res: Results, label: str) -> bool:
    """True when the study supports the figure or table `label`."""
    return label not in reasons(res)


def absent(res: Results, label: str) -> str:
    """The sentence the report prints in place of `label`, or '' when the part is shown."""
    return reasons(res).get(label, "")
