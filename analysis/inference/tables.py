"""The inference, noise_ceiling and pairwise tables of a study from one dual bootstrap."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..errors import AnalysisError
from ..reading.store import StoredMatrix
from ..schema import CORRECTIONS, columns
from .dual_bootstrap import MIN_VALID_SAMPLES, check_inputs, dual_bootstrap, subject_rows
from .resampling import Resampling, draw_resampling
from .statistics import adjust, model_statistics, pair_list

if TYPE_CHECKING:
    from ..reading.loading import AlignedStudy


@dataclass(frozen=True)
class InferenceOutput:
    """The three inference tables and the facts of the bootstrap that made them (for the manifest)."""

    tables: dict[str, pd.DataFrame]
    bootstrap: dict[str, Any]


def inference_arrays(subjects: np.ndarray, models: dict[str, np.ndarray], rois: list[str],
                     layers: dict[str, list[str]], method: str, samples: int, seed: int,
                     correction: str = "fdr", alpha: float = 0.05, dtype: type | None = None,
                     progress: bool = True, resampling: Resampling | None = None) -> InferenceOutput:
    """The inference, noise_ceiling and pairwise tables from plain arrays (all ROIs at once).

    subjects: R × S × pairs array, or rows[r][s] vectors (no copy), each ROI's subject RDMs over
    the common images (np.triu_indices order);
    models: {network: L_n × pairs}; rois: R names; layers: {network: L_n names}.
    The image and subject draws are shared by every ROI and network. The bootstrap facts are
    {samples, seed, valid_samples, dropped_few_images, dropped_undefined, correction, alpha}.
    """
    if correction not in CORRECTIONS:
        raise AnalysisError("correction", f"unknown correction {correction!r}; choose one of {', '.join(CORRECTIONS)}")
    rows = subject_rows(subjects)
    networks = list(models)
    model_rows = [row for n in networks  # stored layers stay on disk, read a strip at a time
                  for row in (models[n] if isinstance(models[n], StoredMatrix) else np.atleast_2d(models[n]))]
    n_images = check_inputs(rows, model_rows, method, samples)
    if resampling is None:
        resampling = draw_resampling(n_images, len(rows[0]), samples, seed)
    result = dual_bootstrap(rows, model_rows, resampling, method, dtype=dtype, progress=progress)
    n_valid = int(result.valid.sum())
    dropped = resampling.samples - n_valid
    if n_valid < MIN_VALID_SAMPLES:
        raise AnalysisError("bootstrap", f"only {n_valid} of {resampling.samples} samples are usable "
                                         f"({result.dropped_few_images} with fewer than 3 distinct images, "
                                         f"{result.dropped_undefined} with an undefined {method}); "
                                         "too few images or subjects for a bootstrap")
    if dropped and progress:
        print(f"bootstrap: dropped {dropped} of {resampling.samples} samples ({result.dropped_few_images} with "
              f"fewer than 3 distinct images, {result.dropped_undefined} with an undefined {method})",
              file=sys.stderr)
    evaluations = result.evaluations[result.valid]
    ceiling = result.noise_ceiling[result.valid]
    inference_rows, ceiling_rows, pair_rows = [], [], []
    for r, roi in enumerate(rois):
        offset = 0
        bound_vars = []
        for network in networks:
            names = list(layers[network])
            span = slice(offset, offset + len(names))
            offset += len(names)
            stats = model_statistics(evaluations[:, r, span], ceiling[:, r], result.n_subjects, n_images)
            bound_vars.append(stats.bound_var)
            p_zero_adj = adjust(stats.p_zero, correction)
            p_ceiling_adj = adjust(stats.p_ceiling, correction)
            for m, layer in enumerate(names):
                inference_rows.append((roi, network, layer, method, result.point[r, span][m],
                                       float(np.sqrt(max(stats.model_var[m], 0.0))),
                                       stats.ci[0, m], stats.ci[1, m], stats.p_zero[m], stats.p_ceiling[m],
                                       bool(p_zero_adj[m] < alpha), bool(p_ceiling_adj[m] < alpha)))
            left, right = pair_list(len(names))
            p_adj = adjust(stats.p_pairwise, correction)
            point = result.point[r, span]
            for k, (i, j) in enumerate(zip(left, right)):
                pair_rows.append((roi, network, names[i], names[j], point[i] - point[j],
                                  stats.p_pairwise[k], p_adj[k], bool(p_adj[k] < alpha)))
        bound_sem = np.sqrt(np.maximum(bound_vars[0], 0.0))
        ceiling_rows.append((roi, method, result.point_ceiling[r, 0], result.point_ceiling[r, 1],
                             bound_sem[0], bound_sem[1]))
    tables = {
        "inference": pd.DataFrame(inference_rows, columns=columns("inference")),
        "noise_ceiling": pd.DataFrame(ceiling_rows, columns=columns("noise_ceiling")),
        "pairwise": pd.DataFrame(pair_rows, columns=columns("pairwise")),
    }
    facts = {"samples": resampling.samples, "seed": seed, "valid_samples": n_valid,
             "dropped_few_images": result.dropped_few_images,
             "dropped_undefined": result.dropped_undefined, "correction": correction, "alpha": alpha}
    return InferenceOutput(tables, facts)


def inference_tables(aligned: AlignedStudy, method: str, samples: int, seed: int,
                     correction: str = "fdr", alpha: float = 0.05, dtype: type | None = None,
                     progress: bool = True) -> InferenceOutput:
    """The three inference tables of a study (analysis/schema.py), in manifest order.

    Subjects' RDMs are stacked ROI-major (ROIs in aligned.rois order, subjects in
    aligned.subjects order); all networks share one set of draws.
    """
    subject_sets = list(aligned.subjects.values())
    subjects = [[rdms.row(roi) for rdms in subject_sets] for roi in aligned.rois]  # views, no copy
    models = {network: rdms.dissimilarities for network, rdms in aligned.networks.items()}
    layers = {network: list(rdms.names) for network, rdms in aligned.networks.items()}
    # Single-threaded BLAS everywhere (pair_sums parallelises itself in a fixed order), so the
    # tables are byte-identical whatever the number of threads.
    with threadpool_limits(limits=1, user_api="blas"):
        return inference_arrays(subjects, models, list(aligned.rois), layers, method, samples, seed,
                                correction=correction, alpha=alpha, dtype=dtype, progress=progress)
