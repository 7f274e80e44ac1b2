"""Point-estimate tables in bounded memory: one ROI vector at a time against prepared layers.

The tables are those of point.py, value for value and in the same row order (the same
per-vector operations, in the same order): only what is held at once differs. Networks are
prepared in batches that fit `budget_bytes`; every ROI vector is then read once per batch
(from memory or from the aligned store), compared with the batch's layers and added to its
ROI's subject sum for the joint table.
"""
from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..comparison.methods import compare_prepared, prepare, undefined_rows
from ..errors import AnalysisError
from ..reading.loading import AlignedStudy, RDMSet
from ..schema import columns
from .point import _long, by_group

DEFAULT_BUDGET = 4e9  # bytes of prepared layer vectors held at once (RSA_LAYER_MEMORY overrides)


def layer_budget() -> float:
    """Bytes of prepared layers to hold at once: RSA_LAYER_MEMORY if set, else DEFAULT_BUDGET."""
    value = os.environ.get("RSA_LAYER_MEMORY", "")
    return float(value) if value.replace(".", "", 1).isdigit() else DEFAULT_BUDGET


def network_batches(aligned: AlignedStudy, budget: float) -> list[list[str]]:
    """Networks in study order, grouped so that each group's prepared layers fit `budget` (at least one each)."""
    batches: list[list[str]] = [[]]
    held = 0.0
    for network, rdms in aligned.networks.items():
        size = float(np.prod(rdms.dissimilarities.shape)) * 8
        if batches[-1] and held + size > budget:
            batches.append([])
            held = 0.0
        batches[-1].append(network)
        held += size
    return batches


def _defined(vector: np.ndarray, rdms: RDMSet, name: str, method: str) -> np.ndarray:
    if undefined_rows(vector, method)[0]:
        kind = "all zero" if method == "cosine" else "constant"
        raise AnalysisError(rdms.source, f"RDM {name} is {kind} over the common images, so r ({method}) is undefined")
    return vector


def prepared_layers(rdms: RDMSet, method: str) -> np.ndarray:
    """A network's layer vectors, each checked, transformed for `method` (one read at a time)."""
    rows = []
    for i, name in enumerate(rdms.names):
        vector = np.atleast_2d(np.asarray(rdms.dissimilarities[i], dtype=np.float64))
        rows.append(prepare(_defined(vector, rdms, name, method), method)[0])
    return np.stack(rows) if rows else np.empty((0, 0))


def point_tables(aligned: AlignedStudy, method: str, budget: float | None = None,
                 advance: Callable[[float], None] | None = None) -> dict[str, pd.DataFrame]:
    """per_subject, joint and by_group, holding one batch of prepared layers and one ROI vector."""
    batches = network_batches(aligned, layer_budget() if budget is None else budget)
    subjects = list(aligned.subjects)
    per_subject: dict[tuple[str, str, int], pd.DataFrame] = {}
    joint: dict[tuple[str, int], pd.DataFrame] = {}
    steps = len(batches) * len(aligned.rois)
    for batch in batches:
        models = {network: prepared_layers(aligned.networks[network], method) for network in batch}
        for r, roi in enumerate(aligned.rois):
            total = None
            for subject in subjects:
                rdms = aligned.subjects[subject]
                vector = np.atleast_2d(np.asarray(rdms.dissimilarities[r], dtype=np.float64))
                prepared = prepare(_defined(vector, rdms, roi, method), method)
                for network in batch:
                    per_subject[(subject, network, r)] = _long(
                        compare_prepared(models[network], prepared, method), (roi,), network,
                        aligned.networks[network].names, method)
                if total is None:
                    total = vector.copy()
                else:
                    total += vector
                del vector, prepared
            mean = total / len(subjects)
            averaged = RDMSet(mean, (roi,), aligned.images, "", aligned.study.path)
            prepared = prepare(_defined(mean, averaged, roi, method), method)
            for network in batch:
                joint[(network, r)] = _long(compare_prepared(models[network], prepared, method), (roi,),
                                            network, aligned.networks[network].names, method)
            if advance is not None:
                advance(1 / steps)
        del models
    networks = list(aligned.networks)
    rois = range(len(aligned.rois))
    per_subject_table = pd.concat(
        [per_subject[(s, n, r)].assign(subject=s) for s in subjects for n in networks for r in rois],
        ignore_index=True)[columns("per_subject")]
    joint_table = pd.concat([joint[(n, r)] for n in networks for r in rois], ignore_index=True)[columns("joint")]
    return {"per_subject": per_subject_table, "joint": joint_table,
            "by_group": by_group(per_subject_table, aligned.study.roi_groups)}
