"""Point-estimate tables in bounded memory: one ROI at a time against a batch of prepared layers.

Networks are prepared in batches that fit `layer_budget()` bytes. For each batch, every ROI is
one task: it reads that ROI's vector of every subject (from memory or from the aligned store),
compares each with the batch's layers, and compares the subjects' mean (the joint RDM) too. A
process prepares a batch's layers once and keeps them for its next tasks, so tasks run on the
threads of this process or on Dask workers alike, and results are assembled in study order: the
tables are the same bytes either way. The per-vector operations are those of point.py.
"""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..comparison.methods import compare_prepared, prepare, undefined_rows
from ..errors import AnalysisError
from ..executor import Executor, LocalExecutor
from ..reading.loading import AlignedStudy
from ..schema import columns
from .point import _long, by_group

DEFAULT_BUDGET = 4e9  # bytes of prepared layer vectors held at once (RSA_LAYER_MEMORY overrides)
_PREPARED: dict[str, dict[str, np.ndarray]] = {}  # this process's prepared batch, by batch token
_PREPARING = threading.Lock()


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


def checked(row: Any, name: str, source: str, method: str) -> np.ndarray:
    """One RDM vector as a 1 × pairs float64 array; an error naming it when r would be undefined."""
    vector = np.atleast_2d(np.asarray(row, dtype=np.float64))
    if undefined_rows(vector, method)[0]:
        kind = "all zero" if method == "cosine" else "constant"
        raise AnalysisError(source, f"RDM {name} is {kind} over the common images, so r ({method}) is undefined")
    return vector


def prepared_batch(token: str, layers: dict[str, tuple[Sequence, tuple[str, ...], str]],
                   method: str) -> dict[str, np.ndarray]:
    """The batch's layers, prepared for `method` once per process (one batch kept at a time)."""
    with _PREPARING:
        if token not in _PREPARED:
            _PREPARED.clear()
            _PREPARED[token] = {
                network: np.concatenate([prepare(checked(row, name, source, method), method)
                                         for row, name in zip(rows, names)])
                for network, (rows, names, source) in layers.items()}
        return _PREPARED[token]


def release_prepared() -> None:
    """Drop this process's prepared layers."""
    with _PREPARING:
        _PREPARED.clear()


def roi_task(r: int, *, token: str, layers: dict[str, tuple[Sequence, tuple[str, ...], str]],
             subjects: dict[str, tuple[Sequence, str]], rois: tuple[str, ...], method: str,
             joint_source: str) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, np.ndarray]]:
    """ROI r against the batch: {(subject, network): L × 1 similarities} and {network: joint L × 1}."""
    models = prepared_batch(token, layers, method)
    per_subject = {}
    total = None
    for subject, (rows, source) in subjects.items():
        vector = checked(rows[r], rois[r], source, method)
        prepared = prepare(vector, method)
        for network, layer_vectors in models.items():
            per_subject[(subject, network)] = compare_prepared(layer_vectors, prepared, method)
        if total is None:
            total = vector.copy()
        else:
            total += vector
        del vector, prepared
    mean = total / len(subjects)
    prepared = prepare(checked(mean, rois[r], joint_source, method), method)
    joint = {network: compare_prepared(layer_vectors, prepared, method) for network, layer_vectors in models.items()}
    return per_subject, joint


def point_tables(aligned: AlignedStudy, method: str, budget: float | None = None,
                 executor: Executor | None = None,
                 advance: Callable[[float], None] | None = None) -> dict[str, pd.DataFrame]:
    """per_subject, joint and by_group, holding one batch of prepared layers and a few ROI vectors."""
    executor = executor or LocalExecutor()
    if method == "tau-a" and isinstance(executor, LocalExecutor):
        executor = LocalExecutor(threads=1)  # kendall.tau_a_many parallelises itself and is not re-entrant
    batches = network_batches(aligned, layer_budget() if budget is None else budget)
    subjects = {s: (list(rdms.dissimilarities), str(rdms.source)) for s, rdms in aligned.subjects.items()}
    rois = tuple(aligned.rois)
    per_subject: dict[tuple[str, str, int], pd.DataFrame] = {}
    joint: dict[tuple[str, int], pd.DataFrame] = {}
    steps = len(batches) * len(rois)
    try:
        for batch in batches:
            layers = {n: (list(aligned.networks[n].dissimilarities), aligned.networks[n].names,
                          str(aligned.networks[n].source)) for n in batch}
            results = executor.map(roi_task, list(range(len(rois))), token=uuid.uuid4().hex, layers=layers,
                                   subjects=subjects, rois=rois, method=method,
                                   joint_source=str(aligned.study.path))
            for r, (subject_sims, joint_sims) in enumerate(results):
                for (subject, network), similarity in subject_sims.items():
                    per_subject[(subject, network, r)] = _long(similarity, (rois[r],), network,
                                                               aligned.networks[network].names, method)
                for network, similarity in joint_sims.items():
                    joint[(network, r)] = _long(similarity, (rois[r],), network, aligned.networks[network].names,
                                                method)
                if advance is not None:
                    advance(1 / steps)
    finally:
        executor.release(release_prepared)
    networks = list(aligned.networks)
    order = range(len(rois))
    per_subject_table = pd.concat(
        [per_subject[(s, n, r)].assign(subject=s) for s in subjects for n in networks for r in order],
        ignore_index=True)[columns("per_subject")]
    joint_table = pd.concat([joint[(n, r)] for n in networks for r in order], ignore_index=True)[columns("joint")]
    return {"per_subject": per_subject_table, "joint": joint_table,
            "by_group": by_group(per_subject_table, aligned.study.roi_groups)}
