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

from ..comparison.kendall import rank_rows
from ..comparison.methods import check_defined, compare_prepared, prepare
from ..executor import Executor, LocalExecutor
from ..reading.loading import AlignedStudy
from ..schema import columns
from .point import by_group, similarity_rows

DEFAULT_BUDGET = 4e9  # bytes of prepared layer vectors held at once (RSA_LAYER_MEMORY overrides)
_PREPARED: dict[str, dict[str, Any]] = {}  # this process's prepared batch, by batch token
_PREPARING = threading.Lock()


def layer_budget() -> float:
    """Bytes of prepared layers to hold at once: RSA_LAYER_MEMORY if set, else DEFAULT_BUDGET."""
    value = os.environ.get("RSA_LAYER_MEMORY", "")
    return float(value) if value.replace(".", "", 1).isdigit() else DEFAULT_BUDGET


def network_batches(aligned: AlignedStudy, budget: float) -> list[list[str]]:
    """Networks in study order, grouped so that each group's
    prepared layers fit `budget` (at least one each)."""
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
    check_defined(vector, method, source, [name])
    return vector


def prepared_batch(
    token: str, layers: dict[str, tuple[Sequence, tuple[str, ...], str]], method: str
) -> dict[str, Any]:
    """The batch's layers, prepared for `method` once per process (one batch kept at a time)."""
    with _PREPARING:
        if token not in _PREPARED:
            _PREPARED.clear()
            _PREPARED[token] = {
                network: np.concatenate(
                    [
                        prepare(checked(row, name, source, method), method)
                        for row, name in zip(rows, names, strict=True)
                    ]
                )
                for network, (rows, names, source) in layers.items()
            }
            if method == "tau-a":  # each layer sorted once per batch, not once per ROI and subject
                _PREPARED[token] = {
                    network: rank_rows(vectors) for network, vectors in _PREPARED[token].items()
                }
        return _PREPARED[token]


def release_prepared() -> None:
    """Drop this process's prepared layers."""
    with _PREPARING:
        _PREPARED.clear()


def roi_task(
    task: tuple[str, int],
    *,
    token: str,
    layers: dict[str, tuple[Sequence, tuple[str, ...], str]],
    subjects: dict[str, dict[str, tuple[Sequence, str]]],
    group_means: dict[str, tuple[Sequence, str]],
    rois: dict[str, tuple[str, ...]],
    method: str,
    joint_source: str,
) -> dict[str, Any]:
    """One ROI of one atlas against the batch: similarities (L × 1 each) per subject and network,
    of the subjects' mean (joint) and of the group-mean file's RDM, and that file's agreement
    (Pearson r) with the subjects' mean."""
    atlas, r = task
    roi = rois[atlas][r]
    models = prepared_batch(token, layers, method)
    per_subject = {}
    total = None
    for subject, atlases in subjects.items():
        rows, source = atlases[atlas]
        vector = checked(rows[r], roi, source, method)
        prepared = prepare(vector, method)
        for network, layer_vectors in models.items():
            per_subject[(subject, network)] = compare_prepared(layer_vectors, prepared, method)
        if total is None:
            total = vector.copy()
        else:
            total += vector
        del vector, prepared
    mean = total / len(subjects)
    prepared = prepare(checked(mean, roi, joint_source, method), method)
    result: dict[str, Any] = {
        "per_subject": per_subject,
        "joint": {
            network: compare_prepared(vectors, prepared, method)
            for network, vectors in models.items()
        },
        "group_mean": None,
        "agreement": None,
    }
    if atlas in group_means:
        rows, source = group_means[atlas]
        group = checked(rows[r], roi, source, method)
        prepared = prepare(group, method)
        result["group_mean"] = {
            network: compare_prepared(vectors, prepared, method)
            for network, vectors in models.items()
        }
        ours, theirs = prepare(mean, "corr"), prepare(group, "corr")
        result["agreement"] = float(
            np.einsum("ij,ij->i", ours, theirs)[0]
            / np.sqrt(
                np.einsum("ij,ij->i", ours, ours)[0] * np.einsum("ij,ij->i", theirs, theirs)[0]
            )
        )
    return result


def point_tables(
    aligned: AlignedStudy,
    method: str,
    budget: float | None = None,
    executor: Executor | None = None,
    advance: Callable[[float], None] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, float]]]:
    """per_subject (common images), joint, group_mean and by_group,
    and the group-mean files' agreement with the subjects' mean,
    holding one batch of prepared layers and a few ROI vectors."""
    executor = executor or LocalExecutor()
    if method == "tau-a" and isinstance(executor, LocalExecutor):
        executor = LocalExecutor(threads=1)  # kendall.tau_a_many already runs on every core
    batches = network_batches(aligned, layer_budget() if budget is None else budget)
    subjects = {
        s: {a: (list(rdms.dissimilarities), str(rdms.source)) for a, rdms in atlases.items()}
        for s, atlases in aligned.subjects.items()
    }
    group_means = {
        a: (list(rdms.dissimilarities), str(rdms.source)) for a, rdms in aligned.group_means.items()
    }
    tasks = [(atlas, r) for atlas in aligned.atlases for r in range(len(aligned.rois[atlas]))]
    layer_names = aligned.layers
    results: dict[tuple[str, int], dict[str, Any]] = {
        task: {"per_subject": {}, "joint": {}, "group_mean": {}} for task in tasks
    }
    try:
        for batch in batches:
            layers = {
                n: (
                    list(aligned.networks[n].dissimilarities),
                    layer_names[n],
                    str(aligned.networks[n].source),
                )
                for n in batch
            }
            done = executor.map(
                roi_task,
                tasks,
                token=uuid.uuid4().hex,
                layers=layers,
                subjects=subjects,
                group_means=group_means,
                rois=aligned.rois,
                method=method,
                joint_source=str(aligned.study.path),
            )
            for task, result in zip(tasks, done, strict=True):
                kept = results[task]
                kept["per_subject"].update(result["per_subject"])
                kept["joint"].update(result["joint"])
                if result["group_mean"] is not None:
                    kept["group_mean"].update(result["group_mean"])
                kept["agreement"] = result["agreement"]
                if advance is not None:
                    advance(1 / (len(batches) * len(tasks)))
    finally:
        executor.release(release_prepared)

    def rows(kind: str, atlas: str, network: str, subject: str | None = None) -> list[pd.DataFrame]:
        frames = []
        for r, roi in enumerate(aligned.rois[atlas]):
            part = results[(atlas, r)][kind]
            similarity = part[(subject, network)] if subject is not None else part[network]
            frames.append(
                similarity_rows(similarity, (roi,), network, layer_names[network], method)
            )
        return frames

    networks = list(aligned.networks)
    per_subject = pd.concat(
        [
            frame.assign(subject=s, atlas=a, n_images=len(aligned.images))
            for s in aligned.subjects
            for a in aligned.subjects[s]
            for n in networks
            for frame in rows("per_subject", a, n, s)
        ],
        ignore_index=True,
    )[columns("per_subject")]
    joint = pd.concat(
        [
            frame.assign(atlas=a)
            for a in aligned.atlases
            for n in networks
            for frame in rows("joint", a, n)
        ],
        ignore_index=True,
    )[columns("joint")]
    group_mean = (
        pd.concat(
            [
                frame.assign(atlas=a)
                for a in aligned.group_means
                for n in networks
                for frame in rows("group_mean", a, n)
            ],
            ignore_index=True,
        )[columns("group_mean")]
        if aligned.group_means
        else pd.DataFrame(columns=columns("group_mean"))
    )
    agreement = {
        a: {roi: results[(a, r)]["agreement"] for r, roi in enumerate(aligned.rois[a])}
        for a in aligned.group_means
    }
    tables = {
        "per_subject": per_subject,
        "joint": joint,
        "group_mean": group_mean,
        "by_group": by_group(per_subject, aligned.study.roi_groups),
    }
    return tables, agreement
