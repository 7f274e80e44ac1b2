"""The inference tables of a study from one dual bootstrap: inference, noise_ceiling, pairwise,
peak_layer and network_comparison (analysis/schema.py; the statistics in statistics.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..errors import AnalysisError, check_choice
from ..reading.store import StoredMatrix
from ..schema import CORRECTIONS, columns
from .dual_bootstrap import MIN_VALID_SAMPLES, check_inputs, dual_bootstrap, subject_rows
from .resampling import Resampling, draw_resampling
from .statistics import (
    adjust,
    degrees_of_freedom,
    difference_statistics,
    family_tests,
    inference_kind,
    kind_variants,
    model_statistics,
    network_differences,
    network_pairs,
    network_spans,
    normalised,
    pair_list,
    peak_shares,
)

LOG = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ..reading.loading import AlignedStudy


@dataclass(frozen=True)
class InferenceOutput:
    """The inference tables and the facts of the bootstrap that made them (for the manifest)."""

    tables: dict[str, pd.DataFrame]
    bootstrap: dict[str, Any]


def roi_columns(name: str) -> list[str]:
    """A table's columns without `atlas`: what `inference_arrays` returns (`with_atlas` adds it)."""
    return [c for c in columns(name) if c != "atlas"]


def inference_arrays(
    subjects: np.ndarray,
    models: dict[str, np.ndarray],
    rois: list[str],
    layers: dict[str, list[str]],
    method: str,
    samples: int,
    seed: int,
    correction: str = "fdr",
    alpha: float = 0.05,
    dtype: type | None = None,
    progress: bool = True,
    resampling: Resampling | None = None,
) -> InferenceOutput:
    """The inference tables from plain arrays (all ROIs at once).

    subjects: R × S × pairs array, or rows[r][s] vectors (no copy), each ROI's subject RDMs over
    the common images (np.triu_indices order);
    models: {network: L_n × pairs}; rois: R names; layers: {network: L_n names}.
    The image and subject draws are shared by every ROI and network. The bootstrap facts are
    {kind, generalises_over, samples, seed, valid_samples, dropped_few_images, dropped_undefined,
    correction, alpha}. With one subject the inference is over images only (kind 'pattern',
    statistics.py): no noise-ceiling rows, r_normalised and p_ceiling NaN.
    """
    check_choice(correction, CORRECTIONS, "correction")
    rows = subject_rows(subjects)
    networks = list(models)
    model_rows = [
        row
        for n in networks  # stored layers stay on disk, read a strip at a time
        for row in (models[n] if isinstance(models[n], StoredMatrix) else np.atleast_2d(models[n]))
    ]
    n_images = check_inputs(rows, model_rows, method, samples)
    if resampling is None:
        resampling = draw_resampling(n_images, len(rows[0]), samples, seed)
    result = dual_bootstrap(rows, model_rows, resampling, method, dtype=dtype, progress=progress)
    n_valid = int(result.valid.sum())
    dropped = resampling.samples - n_valid
    if n_valid < MIN_VALID_SAMPLES:
        raise AnalysisError(
            "bootstrap",
            f"only {n_valid} of {resampling.samples} samples are usable "
            f"({result.dropped_few_images} with fewer than 3 distinct images, "
            f"{result.dropped_undefined} with an undefined {method}); "
            "too few images or subjects for a bootstrap",
        )
    if dropped and progress:
        LOG.info(
            f"bootstrap: dropped {dropped} of {resampling.samples} samples "
            f"({result.dropped_few_images} with fewer than 3 distinct "
            f"images, {result.dropped_undefined} with an undefined {method})"
        )
    kind = inference_kind(result.n_subjects)
    n_rdm = None if kind == "pattern" else result.n_subjects
    evaluations = kind_variants(result.evaluations[result.valid], n_rdm)
    ceiling = kind_variants(result.noise_ceiling[result.valid], n_rdm)
    spans = network_spans([len(layers[network]) for network in networks])
    dof = degrees_of_freedom(n_rdm, n_images)
    inference_rows, ceiling_rows, pair_rows, peak_rows, network_rows = [], [], [], [], []
    for r, roi in enumerate(rois):
        bound_var = None
        for network, span in zip(networks, spans, strict=True):
            names = list(layers[network])
            stats = model_statistics(evaluations[:, r, span], ceiling[:, r], n_rdm, n_images)
            bound_var = stats.bound_var
            point = result.point[r, span]
            zero = family_tests(stats.means, stats.model_var, dof, correction, alpha)
            if kind == "pattern":  # one subject: no noise ceiling to normalise by or test against
                p_ceiling = np.full(len(names), np.nan)
                significant_ceiling = np.zeros(len(names), dtype=bool)
                r_normalised = np.full(len(names), np.nan)
            else:
                p_ceiling = stats.p_ceiling
                significant_ceiling = adjust(p_ceiling, correction) < alpha
                r_normalised = normalised(point, result.point_ceiling[r, 0])
            sem = np.sqrt(np.maximum(stats.model_var, 0.0))
            inference_rows.extend(
                (
                    roi,
                    network,
                    layer,
                    method,
                    point[m],
                    r_normalised[m],
                    sem[m],
                    zero["ci_low"][m],
                    zero["ci_high"][m],
                    zero["ci_level"][m],
                    zero["p"][m],
                    p_ceiling[m],
                    bool(zero["significant"][m]),
                    bool(significant_ceiling[m]),
                )
                for m, layer in enumerate(names)
            )
            left, right = pair_list(len(names))
            p_adj = adjust(stats.p_pairwise, correction)
            pair_rows.extend(
                (
                    roi,
                    network,
                    names[i],
                    names[j],
                    point[i] - point[j],
                    stats.p_pairwise[k],
                    p_adj[k],
                    bool(p_adj[k] < alpha),
                )
                for k, (i, j) in enumerate(zip(left, right, strict=True))
            )
            shares = peak_shares(evaluations[:, r, span].mean(axis=-1))
            peak_rows.extend(
                (roi, network, layer, share) for layer, share in zip(names, shares, strict=True)
            )
        network_rows.extend(
            network_comparison_rows(
                roi,
                networks,
                spans,
                evaluations[:, r],
                result.point[r],
                n_rdm,
                n_images,
                correction,
                alpha,
            )
        )
        if kind == "pattern":
            continue
        bound_sem = np.sqrt(np.maximum(bound_var, 0.0))
        ceiling_rows.append(
            (
                roi,
                method,
                result.point_ceiling[r, 0],
                result.point_ceiling[r, 1],
                bound_sem[0],
                bound_sem[1],
            )
        )
    tables = {
        name: pd.DataFrame(rows, columns=roi_columns(name))
        for name, rows in (
            ("inference", inference_rows),
            ("noise_ceiling", ceiling_rows),
            ("pairwise", pair_rows),
            ("peak_layer", peak_rows),
            ("network_comparison", network_rows),
        )
    }
    facts = {
        "kind": kind,
        "generalises_over": ["images"] if kind == "pattern" else ["images", "subjects"],
        "samples": resampling.samples,
        "seed": seed,
        "valid_samples": n_valid,
        "dropped_few_images": result.dropped_few_images,
        "dropped_undefined": result.dropped_undefined,
        "correction": correction,
        "alpha": alpha,
    }
    return InferenceOutput(tables, facts)


def network_comparison_rows(
    roi: str,
    networks: list[str],
    spans: list[slice],
    evaluations: np.ndarray,
    point: np.ndarray,
    n_rdm: int | None,
    n_pattern: int,
    correction: str,
    alpha: float,
) -> list[tuple]:
    """network_comparison rows of one ROI (none with fewer than two networks): one family of tests.

    evaluations: N × M × 3 valid samples of every layer of every network; point: M full-data r;
    n_rdm: the number of subjects, or None for an images-only bootstrap (statistics.py).
    Per sample and variant each network is represented by its best layer in that sample
    (statistics.best_layer_values), so the choice of layer is part of the uncertainty.
    `difference` is the full-data best r of network_a minus that of network_b; the test and the
    interval use the bootstrap mean of the per-sample differences, like every other test here.
    """
    if len(networks) < 2:
        return []
    mean, variance = difference_statistics(
        network_differences(evaluations, spans), n_rdm, n_pattern
    )
    tests = family_tests(mean, variance, degrees_of_freedom(n_rdm, n_pattern), correction, alpha)
    best_point = np.array([point[span].max() for span in spans])
    sem = np.sqrt(np.maximum(variance, 0.0))
    left, right = network_pairs(len(networks))
    return [
        (
            roi,
            networks[a],
            networks[b],
            best_point[a] - best_point[b],
            sem[k],
            tests["ci_low"][k],
            tests["ci_high"][k],
            tests["ci_level"][k],
            tests["p"][k],
            tests["p_adjusted"][k],
            bool(tests["significant"][k]),
        )
        for k, (a, b) in enumerate(zip(left, right, strict=True))
    ]


def inference_tables(
    aligned: AlignedStudy,
    method: str,
    samples: int,
    seed: int,
    correction: str = "fdr",
    alpha: float = 0.05,
    dtype: type | None = None,
    progress: bool = True,
) -> InferenceOutput:
    """The inference tables of a study (analysis/schema.py), in manifest order.

    Subjects' RDMs are stacked ROI-major over every atlas (atlases, then ROIs in aligned.rois
    order; subjects in aligned.subjects order); all ROIs and networks share one set of draws.
    """
    keys = [(atlas, roi) for atlas in aligned.atlases for roi in aligned.rois[atlas]]
    subjects = [
        [atlases[atlas].row(roi) for atlases in aligned.subjects.values()] for atlas, roi in keys
    ]  # views, no copy
    models = {network: rdms.dissimilarities for network, rdms in aligned.networks.items()}
    layers = {network: list(rdms.names) for network, rdms in aligned.networks.items()}
    labels = [f"{i}" for i in range(len(keys))]
    # Single-threaded BLAS everywhere (pair_sums parallelises itself in a fixed order), so the
    # tables are byte-identical whatever the number of threads.
    with threadpool_limits(limits=1, user_api="blas"):
        output = inference_arrays(
            subjects,
            models,
            labels,
            layers,
            method,
            samples,
            seed,
            correction=correction,
            alpha=alpha,
            dtype=dtype,
            progress=progress,
        )
    return InferenceOutput(
        {name: with_atlas(table, keys, name) for name, table in output.tables.items()},
        output.bootstrap,
    )


def with_atlas(table: pd.DataFrame, keys: list[tuple[str, str]], table_name: str) -> pd.DataFrame:
    """Replace the positional ROI labels of `inference_arrays` by atlas and ROI columns."""
    position = table["roi"].astype(int)
    table = table.assign(roi=[keys[i][1] for i in position])
    table.insert(0, "atlas", [keys[i][0] for i in position])
    return table[columns(table_name)]
