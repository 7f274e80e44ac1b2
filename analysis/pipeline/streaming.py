"""Point-estimate tables in bounded memory.

corr and cosine (`linear_pass`): one read of every vector, in chunks of pairs; each chunk is a
task that reads its range of every RDM (the kernel asked for all of them first), forms the
subjects' means and takes its sums (comparison/gram.py); the sums are added in chunk order, so
the tables are the same bytes on any number of threads or Dask workers. The second-order map
comes from the same sums.

The other methods: one ROI at a time against a batch of prepared layers.

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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..comparison.gram import (
    CHUNK_PAIRS,
    Layout,
    Products,
    chunk_pairs,
    chunk_products,
    combine,
    similarities,
)
from ..comparison.kendall import rank_rows
from ..comparison.methods import compare_prepared, prepare, undefined_error
from ..executor import Executor, LocalExecutor
from ..reading.loading import AlignedStudy
from ..reading.store import StoredRow, read_range_into
from ..schema import LINEAR_METHODS, columns
from .point import by_group, checked, similarity_rows
from .point import second_order as point_second_order

DEFAULT_BUDGET = 4e9  # bytes of prepared layers (or corr/cosine chunk arrays) held at once
FLOAT_BYTES = 8
_PREPARED: dict[str, dict[str, Any]] = {}  # this process's prepared batch, by batch token
_PREPARING = threading.Lock()


def layer_budget() -> float:
    """Bytes of prepared layers (corr and cosine: of the threads' chunk arrays) to hold at once:
    RSA_LAYER_MEMORY if set, else DEFAULT_BUDGET."""
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


@dataclass(frozen=True)
class LinearRows:
    """The rows of one pass over pairs (corr, cosine), in chunk order: the layers (every
    network's, in order), every subject's ROIs (subject, then atlas, then ROI), the subjects'
    mean of each ROI (computed, atlas then ROI) and the group-mean files' ROIs."""

    layers: tuple[Any, ...]
    subjects: tuple[Any, ...]
    groups: tuple[Any, ...]
    n_subjects: int
    layout: Layout

    @property
    def n_joint(self) -> int:
        return len(self.subjects) // self.n_subjects

    @property
    def joint_start(self) -> int:
        return len(self.layers) + len(self.subjects)


def linear_rows(aligned: AlignedStudy) -> LinearRows:
    """The rows of a study's pass and what to compare: every row with the layers, each atlas's
    subject-averaged ROIs with each other (second order), each group-mean ROI with its
    subjects' mean (agreement)."""
    layers = tuple(row for rdms in aligned.networks.values() for row in rdms.dissimilarities)
    subjects = tuple(
        row
        for atlases in aligned.subjects.values()
        for atlas in aligned.atlases
        for row in atlases[atlas].dissimilarities
    )
    groups = tuple(
        row for atlas in aligned.group_means for row in aligned.group_means[atlas].dissimilarities
    )
    joint_start = len(layers) + len(subjects)
    first = {}
    blocks = []
    for atlas in aligned.atlases:
        first[atlas] = joint_start + sum(b - a for a, b in blocks)
        blocks.append((first[atlas], first[atlas] + len(aligned.rois[atlas])))
    group_start = joint_start + sum(b - a for a, b in blocks)
    pairs = [
        (first[atlas] + r, group_start + k) for k, (atlas, r) in enumerate(_group_rois(aligned))
    ]
    return LinearRows(
        layers,
        subjects,
        groups,
        len(aligned.subjects),
        Layout(len(layers), tuple(blocks), tuple(pairs)),
    )


def _group_rois(aligned: AlignedStudy) -> list[tuple[str, int]]:
    """(atlas, ROI position) of every group-mean file's ROI, in file then ROI order."""
    return [(atlas, r) for atlas in aligned.group_means for r in range(len(aligned.rois[atlas]))]


_CHUNK_ARRAYS: dict[int, np.ndarray] = {}  # per thread, its chunk array, kept for its next chunk


def _chunk_array(shape: tuple[int, int]) -> np.ndarray:
    """An array for one chunk of every row, this thread's own, reused from chunk to chunk (every
    value is overwritten): a fresh 0.5 GB array per chunk costs the kernel (page faults,
    zeroing) about as much as the chunk's sums."""
    held = _CHUNK_ARRAYS.get(threading.get_ident())
    if held is not None and held.shape == shape:
        return held
    values = np.empty(shape)
    if shape[1] == CHUNK_PAIRS:  # not the short last chunk
        _CHUNK_ARRAYS[threading.get_ident()] = values
    return values


def release_chunk_arrays() -> None:
    """Drop this process's chunk arrays."""
    _CHUNK_ARRAYS.clear()


def pair_chunk_task(span: tuple[int, int], *, rows: LinearRows, centred: bool) -> Products:
    """One chunk of pairs of every row: read (the subjects' means computed as in
    `roi_task`), then its sums (comparison/gram.py)."""
    start, stop = span
    n_read = len(rows.layers) + len(rows.subjects)
    values = _chunk_array((n_read + rows.n_joint + len(rows.groups), stop - start))
    for row in rows.layers + rows.subjects + rows.groups:  # every range queued, then read
        if isinstance(row, StoredRow):
            row.prefetch(start, stop)
    for position, row in enumerate(rows.layers + rows.subjects):
        read_range_into(row, start, values[position])
    for position, row in enumerate(rows.groups, start=n_read + rows.n_joint):
        read_range_into(row, start, values[position])
    joint = values[n_read : n_read + rows.n_joint]
    subject_rows = [
        values[len(rows.layers) + s * rows.n_joint : len(rows.layers) + (s + 1) * rows.n_joint]
        for s in range(rows.n_subjects)
    ]
    joint[:] = subject_rows[0]
    for subject in subject_rows[1:]:
        joint += subject
    joint /= rows.n_subjects
    return chunk_products(values, rows.layout, centred)


def linear_pass(
    aligned: AlignedStudy,
    method: str,
    executor: Executor,
    advance: Callable[[float], None] | None = None,
) -> tuple[dict[tuple[str, int], dict[str, Any]], dict[str, np.ndarray]]:
    """corr or cosine point estimates in one read of every vector, chunk by chunk of pairs:
    per ROI the results of `roi_task`, and per atlas the second-order similarity matrix
    (subject-averaged ROIs, then every layer)."""
    rows = linear_rows(aligned)
    spans = chunk_pairs(len(aligned.images) * (len(aligned.images) - 1) // 2, CHUNK_PAIRS)
    n_rows = rows.joint_start + rows.n_joint + len(rows.groups)
    if isinstance(executor, LocalExecutor):  # threads' chunk arrays within the memory budget
        fits = int(layer_budget() // (FLOAT_BYTES * CHUNK_PAIRS * n_rows))
        executor = LocalExecutor(threads=max(1, min(executor.threads, fits)))
    parts = []
    try:
        for part in executor.map(pair_chunk_task, spans, rows=rows, centred=method == "corr"):
            parts.append(part)
            if advance is not None:
                advance(1 / len(spans))
    finally:
        executor.release(release_chunk_arrays)
    total = combine(parts, rows.layout)
    _refuse_undefined(aligned, rows, total, method)
    cross, blocks, agreement = similarities(total, rows.layout)
    edges = np.cumsum([0, *(len(rdms.names) for rdms in aligned.networks.values())])
    networks = {n: slice(edges[i], edges[i + 1]) for i, n in enumerate(aligned.networks)}

    def per_network(row: int) -> dict[str, np.ndarray]:
        return {network: cross[row, span][:, None] for network, span in networks.items()}

    rois = [(atlas, r) for atlas in aligned.atlases for r in range(len(aligned.rois[atlas]))]
    results = {
        roi: {
            "joint": per_network(rows.joint_start + k),
            "per_subject": {
                (subject, network): similarity
                for s, subject in enumerate(aligned.subjects)
                for network, similarity in per_network(
                    len(rows.layers) + s * rows.n_joint + k
                ).items()
            },
            "group_mean": {},
            "agreement": None,
        }
        for k, roi in enumerate(rois)
    }
    for k, roi in enumerate(_group_rois(aligned)):
        results[roi]["group_mean"] = per_network(rows.joint_start + rows.n_joint + k)
        results[roi]["agreement"] = float(agreement[k])
    n_layers = len(rows.layers)
    second_order = {}
    for atlas, block, (first, stop) in zip(
        aligned.atlases, blocks, rows.layout.blocks, strict=True
    ):
        size = stop - first
        matrix = np.empty((size + n_layers, size + n_layers))
        matrix[:size, :size] = block
        matrix[:size, size:] = cross[first:stop]
        matrix[size:, :size] = cross[first:stop].T
        matrix[size:, size:] = cross[:n_layers]
        second_order[atlas] = matrix
    return results, second_order


def _refuse_undefined(
    aligned: AlignedStudy, rows: LinearRows, total: Products, method: str
) -> None:
    """The error `roi_task` would raise first for a constant (all-zero for cosine) vector:
    layers first, then per ROI each subject's, the subjects' mean, the group mean's."""
    if total.varies.all():
        return
    row = 0
    for rdms in aligned.networks.values():
        for name in rdms.names:
            if not total.varies[row]:
                raise undefined_error(rdms.source, method, [name])
            row += 1
    n_joint = rows.n_joint
    place = {}
    for atlas in aligned.atlases:
        for r in range(len(aligned.rois[atlas])):
            place[(atlas, r)] = len(place)
    group_place = {roi: k for k, roi in enumerate(_group_rois(aligned))}
    for (atlas, r), k in place.items():
        roi = aligned.rois[atlas][r]
        for s, atlases in enumerate(aligned.subjects.values()):
            if not total.varies[len(rows.layers) + s * n_joint + k]:
                raise undefined_error(atlases[atlas].source, method, [roi])
        if not total.varies[rows.joint_start + k]:
            raise undefined_error(aligned.study.path, method, [roi])
        if (atlas, r) in group_place and not total.varies[
            rows.joint_start + n_joint + group_place[(atlas, r)]
        ]:
            raise undefined_error(aligned.group_means[atlas].source, method, [roi])


def point_tables(
    aligned: AlignedStudy,
    method: str,
    budget: float | None = None,
    executor: Executor | None = None,
    advance: Callable[[float], None] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, float]]]:
    """per_subject (common images), joint, group_mean and by_group,
    and the group-mean files' agreement with the subjects' mean,
    holding one batch of prepared layers and a few ROI vectors; for corr and cosine also
    second_order, all from one read of every vector in chunks of pairs (`linear_pass`)."""
    executor = executor or LocalExecutor()
    if method in LINEAR_METHODS:
        results, second_order = linear_pass(aligned, method, executor, advance)
        tables, agreement = _tables(aligned, method, results)
        tables["second_order"] = point_second_order(aligned, method, similarity=second_order)
        return tables, agreement
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
    return _tables(aligned, method, results)


def _tables(
    aligned: AlignedStudy, method: str, results: dict[tuple[str, int], dict[str, Any]]
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, float]]]:
    """The tables from each ROI's results (as `roi_task` returns them)."""
    layer_names = aligned.layers

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
