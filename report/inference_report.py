"""The inferential-statistics section: figure, tables and sentences from inference.csv,
noise_ceiling.csv and pairwise.csv. Reads the tables only; never recomputes statistics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import figures
from results import Results, optional_table

CORRECTIONS = {"fdr": "false discovery rate (Benjamini–Hochberg)", "bonferroni": "Bonferroni correction",
               "none": "no correction"}


@dataclass(frozen=True)
class InferenceTables:
    """The three inference tables of a results folder."""

    inference: pd.DataFrame
    ceiling: pd.DataFrame
    pairwise: pd.DataFrame


def load_inference(res: Results) -> InferenceTables | None:
    """The inference tables, or None when the analysis ran without a bootstrap."""
    tables = [optional_table(res, name) for name in ("inference", "noise_ceiling", "pairwise")]
    return None if any(t is None for t in tables) else InferenceTables(*tables)


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
    dof = min(len(res.order["subjects"]), res.manifest["n_common_images"]) - 1
    return (
        f"Uncertainty comes from a dual bootstrap over images and subjects [@schutt2023statistical] with "
        f"{parameters.get('samples')} samples (seed {parameters.get('seed')}), computed exactly as "
        "rsatoolbox's `eval_dual_bootstrap`: each sample resamples images and subjects with replacement, "
        "pairs between copies of one image are left out, and the variances of the subject-only, image-only "
        "and joint bootstraps are combined with the two-factor correction. Error bars are 95% percentile "
        f"intervals; tests are t-tests on the bootstrap variances with {dof} degrees of freedom, "
        f"corrected for multiple comparisons within each ROI with the {correction}. "
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


def _layer_order(res: Results, table: pd.DataFrame) -> list[tuple[str, str]]:
    """(network, layer) pairs in manifest order, restricted to those in `table`."""
    present = set(zip(table["network"], table["layer"]))
    return [c for c in res.columns if c in present]


def _group_rois(res: Results, table: pd.DataFrame) -> dict[str, list[str]]:
    """{group: [roi, ...]} in manifest order, restricted to ROIs with inference rows."""
    rois = set(table["roi"])
    return {g: [r for r in members if r in rois] for g, members in res.manifest["roi_groups"].items()
            if any(r in rois for r in members)}


def _fmt_p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def figure(res: Results, tables: InferenceTables) -> Figure:
    """Per-layer bars with 95% intervals, the noise-ceiling band, significance marks; a row per ROI group."""
    inference, ceiling, pairwise = tables.inference, tables.ceiling, tables.pairwise
    groups = _group_rois(res, tables.inference)
    columns = _layer_order(res, tables.inference)
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
            above = table["significant_zero"].to_numpy(dtype=bool)
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
        axes[row, 0].set_ylabel(figures.measure_label(res.method), fontsize=8)
    fig.tight_layout()
    return fig


def pairwise_table(res: Results, tables: InferenceTables) -> str:
    """Every pairwise layer comparison, in manifest order (network shown only when there are several)."""
    pairwise = tables.pairwise
    several = len(res.order["networks"]) > 1
    rows = []
    for roi in [r for rois in _group_rois(res, tables.pairwise).values() for r in rois]:
        for p in pairwise[pairwise.roi == roi].itertuples():
            pair = f"{p.network}: {p.layer_a} − {p.layer_b}" if several else f"{p.layer_a} − {p.layer_b}"
            rows.append((roi, pair, f"{p.difference:+.3f}", _fmt_p(p.p), _fmt_p(p.p_adjusted),
                         "yes" if bool(p.significant) else "no"))
    return figures.md_table(["ROI", "Layers A − B", "Difference", "p", "p adjusted", "Significant"],
                            rows, align=["l", "l", "r", "r", "r", "l"], widths=[16, 30, 14, 12, 14, 14])


def ceiling_table(tables: InferenceTables) -> str:
    """Noise ceiling bounds ± bootstrap SEM per ROI."""
    rows = [(c.roi, f"{c.lower:.3f} ± {c.lower_sem:.3f}", f"{c.upper:.3f} ± {c.upper_sem:.3f}")
            for c in tables.ceiling.itertuples()]
    return figures.md_table(["ROI", "Lower bound ± SEM", "Upper bound ± SEM"], rows, align=["l", "r", "r"])


def _join(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def sentences(res: Results, tables: InferenceTables) -> str:
    """One sentence per ROI group and network, computed from the three tables."""
    inference, ceiling, pairwise = tables.inference, tables.ceiling, tables.pairwise
    lines = []
    for group, rois in _group_rois(res, tables.inference).items():
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
            n_zero = int(rows.significant_zero.astype(bool).sum())
            sentence += f" {n_zero} of {len(rows)} ROI × layer values are significantly above zero."
            lines.append("- " + sentence)
    return "\n".join(lines)
