"""The report's look: colours, matplotlib defaults, and the labels of methods and layers."""

from __future__ import annotations

import matplotlib.pyplot as plt

from analysis.schema import method_label

from .results import Results

#: Okabe & Ito's colour-blind-safe palette (black last).
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000"]
#: Perceptually uniform, colour-blind-safe map for r values.
SEQUENTIAL = "viridis"

plt.rcParams.update({
    "axes.prop_cycle": plt.cycler(color=OKABE_ITO),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "figure.constrained_layout.use": True,
})


def measure_label(method: str) -> str:
    """Axis label naming the RDM comparison measure, e.g. 'Pearson r' (analysis.schema.METHOD_LABELS)."""
    return method_label(method)


def column_labels(res: Results) -> list[str]:
    """x-axis labels: layer names, prefixed with the network when there are several."""
    several = len(res.order["networks"]) > 1
    return [f"{n}: {layer}" if several else str(layer) for n, layer in res.columns]
