"""The inference tables of a study from one dual bootstrap: inference, noise_ceiling, pairwise,
peak_layer and network_comparison (analysis/schema.py; the statistics in statistics.py)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..errors import AnalysisError, AnalysisWarning, check_choice
from ..reading.store import StoredMatrix
from ..schema import CEILING_SAMPLES, CORRECTIONS, columns
from . import crossvalidated as cv
from . import statistics as st
from .dual_bootstrap import (
    MIN_VALID_SAMPLES,
    check_inputs,
    default_dtype,
    dual_bootstrap,
    subject_rows,
)
from .resampling import Resampling, draw_resampling
from .statistics import (
    adjust,
    inference_kind,
    model_statistics,
    network_pairs,
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
    ceiling_samples: str = "distinct",
    groups: list[tuple[str, str, list[int]]] | None = None,
) -> InferenceOutput:
    """The inference tables from plain arrays (all ROIs at once).

    subjects: R × S × pairs array, or rows[r][s] vectors (no copy), each ROI's subject RDMs over
    the common images (np.triu_indices order);
    models: {network: L_n × pairs}; rois: R names; layers: {network: L_n names}.
    groups: (atlas, group, ROI positions) whose mean over ROIs the group tables test, from the
    same samples. The image and subject draws are shared by every ROI and network. ceiling_samples
    (schema.CEILING_SAMPLES): the noise-ceiling statistics (bound SEMs, tests against the lower
    bound) use the valid samples that drew at least two distinct subjects ('distinct') or every
    valid sample ('rsatoolbox'); the other statistics use every valid sample. The bootstrap facts
    are {kind, generalises_over, samples, seed, valid_samples, ceiling_samples,
    ceiling_valid_samples, network_selection, dropped_few_images, dropped_undefined, correction,
    alpha}. With one subject the inference is over images only (kind 'pattern', statistics.py):
    no noise-ceiling rows, r_normalised and p_ceiling NaN.
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
    labels = cv.draw_folds(resampling) if len(networks) > 1 else None
    result = dual_bootstrap(
        rows, model_rows, resampling, method, dtype=dtype, progress=progress, folds=labels
    )
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
    evaluations = st.kind_variants(result.evaluations[result.valid], n_rdm)
    ceiling = st.kind_variants(result.noise_ceiling[result.valid], n_rdm)
    for_ceiling = (
        ceiling_sample_mask(resampling.subject_counts[result.valid], ceiling_samples)
        if kind == "dual"
        else np.ones(n_valid, dtype=bool)  # one subject: no ceiling
    )
    ceiling_ok = bool(for_ceiling.sum() >= MIN_VALID_SAMPLES)
    if not ceiling_ok:
        warnings.warn(
            f"bootstrap: only {int(for_ceiling.sum())} of {n_valid} usable samples drew two or "
            "more distinct subjects; the noise ceiling's SEMs and tests are left empty (NaN); "
            "use more samples",
            AnalysisWarning,
            stacklevel=2,
        )
    spans = st.network_spans([len(layers[network]) for network in networks])
    dof = st.degrees_of_freedom(n_rdm, n_images)
    selected = None
    if len(networks) > 1:
        selected = (
            cv.select_networks(result.extra["fold_means"], spans, resampling.image_counts)
            if "fold_means" in result.extra  # computed in the bootstrap's own pass
            else cv.cross_validated(
                rows,
                model_rows,
                spans,
                resampling,
                method,
                labels,
                dtype=result_dtype(dtype, n_images),
            )
        )
        if selected.valid.sum() < MIN_VALID_SAMPLES:
            warnings.warn(
                f"bootstrap: only {int(selected.valid.sum())} samples drew the "
                f"{3 * cv.K_PATTERN} distinct images the cross-validated network comparison "
                "needs; its statistics are left empty (NaN); use more samples or images",
                AnalysisWarning,
                stacklevel=2,
            )
    inference_rows, ceiling_rows, pair_rows, peak_rows, network_rows = [], [], [], [], []
    for r, roi in enumerate(rois):
        bound_var = None
        for network, span in zip(networks, spans, strict=True):
            names = list(layers[network])
            stats = model_statistics(evaluations[:, r, span], ceiling[:, r], n_rdm, n_images)
            ceiling_stats = (
                model_statistics(
                    evaluations[for_ceiling, r, span], ceiling[for_ceiling, r], n_rdm, n_images
                )
                if ceiling_ok
                else None
            )
            bound_var, bound_mean = (
                (ceiling_stats.bound_var, ceiling_stats.ceiling_mean)
                if ceiling_ok
                else (np.full(2, np.nan), np.full(2, np.nan))
            )
            point = result.point[r, span]
            zero = st.family_tests(stats.means, stats.model_var, dof, correction, alpha)
            if kind == "pattern" or not ceiling_ok:  # no ceiling to normalise by or test against
                p_ceiling = np.full(len(names), np.nan)
                significant_ceiling = np.zeros(len(names), dtype=bool)
                r_normalised = np.full(len(names), np.nan)
            else:
                p_ceiling = ceiling_stats.p_ceiling
                significant_ceiling = adjust(p_ceiling, correction) < alpha
                r_normalised = normalised(point, result.point_ceiling[r, 0])
            sem = np.sqrt(np.maximum(stats.model_var, 0.0))
            p_adj = adjust(stats.p_pairwise, correction)
            peak, resolved = resolved_peak(point, zero["significant"], p_adj < alpha)
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
                    m == peak,
                    m == peak and resolved,
                )
                for m, layer in enumerate(names)
            )
            pair_rows.extend(
                (roi, network, *row)
                for row in pairwise_rows(names, point, stats.p_pairwise, p_adj, alpha)
            )
            shares = peak_shares(evaluations[:, r, span].mean(axis=-1))
            peak_rows.extend(
                (roi, network, layer, share) for layer, share in zip(names, shares, strict=True)
            )
        if selected is not None:
            network_rows.extend(
                network_comparison_rows(
                    roi,
                    networks,
                    selected.evaluations[selected.valid, r],
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
                st.one_sided_p(bound_mean[0], bound_var[0], dof),
            )
        )
    group_rows, group_pair_rows = [], []
    for atlas, group, members in groups or []:
        for network, span in zip(networks, spans, strict=True):
            made = group_inference_rows(
                evaluations[:, members][:, :, span].mean(axis=1),
                ceiling[:, members].mean(axis=1),
                result.point[members][:, span].mean(axis=0),
                list(layers[network]),
                n_rdm,
                n_images,
                correction,
                alpha,
            )
            group_rows.extend(
                (atlas, group, network, *row[:1], method, *row[1:]) for row in made[0]
            )
            group_pair_rows.extend((atlas, group, network, *row) for row in made[1])
    ceiling_rows, inference_rows = lower_bound_tests(
        ceiling_rows, inference_rows, correction, alpha
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
    tables["group_inference"] = pd.DataFrame(group_rows, columns=columns("group_inference"))
    tables["group_pairwise"] = pd.DataFrame(group_pair_rows, columns=columns("group_pairwise"))
    facts = {
        "kind": kind,
        "generalises_over": ["images"] if kind == "pattern" else ["images", "subjects"],
        "samples": resampling.samples,
        "seed": seed,
        "valid_samples": n_valid,
        "ceiling_samples": ceiling_samples,
        "ceiling_valid_samples": int(for_ceiling.sum()),
        "network_selection": {
            "k_pattern": cv.K_PATTERN,
            "n_cv": cv.N_CV,
            "valid_samples": None if selected is None else int(selected.valid.sum()),
        },
        "dropped_few_images": result.dropped_few_images,
        "dropped_undefined": result.dropped_undefined,
        "correction": correction,
        "alpha": alpha,
    }
    return InferenceOutput(tables, facts)


def resolved_peak(
    point: np.ndarray, significant_zero: np.ndarray, pair_significant: np.ndarray
) -> tuple[int, bool]:
    """The peak layer (largest point r) and whether it is resolved: r > 0 and significantly
    different from zero, and significantly different from every other layer of its network (the
    corrected pairwise tests, pairs in pair_list order)."""
    peak = int(np.argmax(point))
    left, right = pair_list(point.size)
    involved = (left == peak) | (right == peak)
    resolved = bool(point[peak] > 0 and significant_zero[peak] and pair_significant[involved].all())
    return peak, resolved


def group_inference_rows(
    evaluations: np.ndarray,
    ceiling: np.ndarray,
    point: np.ndarray,
    names: list[str],
    n_rdm: int | None,
    n_pattern: int,
    correction: str,
    alpha: float,
) -> tuple[list[tuple], list[tuple]]:
    """Rows of group_inference (layer, r, sem, ci_low, ci_high, ci_level, p_zero,
    significant_zero, peak, resolved) and group_pairwise (layer_a, layer_b, difference, p,
    p_adjusted, significant) for one group and network.

    evaluations: N × L × 3, the per-sample evaluations averaged over the group's ROIs (the same
    samples as the ROI tests); ceiling: N × 2 × 3 likewise (only to reuse model_statistics);
    point: L, the mean over the group's ROIs of r. Families: the layers of the network for the
    group (tests against zero), and the layer pairs of the network for the group.
    """
    stats = model_statistics(evaluations, ceiling, n_rdm, n_pattern)
    dof = st.degrees_of_freedom(n_rdm, n_pattern)
    zero = st.family_tests(stats.means, stats.model_var, dof, correction, alpha)
    p_adj = adjust(stats.p_pairwise, correction)
    peak, resolved = resolved_peak(point, zero["significant"], p_adj < alpha)
    sem = np.sqrt(np.maximum(stats.model_var, 0.0))
    rows = [
        (
            layer,
            point[m],
            sem[m],
            zero["ci_low"][m],
            zero["ci_high"][m],
            zero["ci_level"][m],
            zero["p"][m],
            bool(zero["significant"][m]),
            m == peak,
            m == peak and resolved,
        )
        for m, layer in enumerate(names)
    ]
    return rows, pairwise_rows(names, point, stats.p_pairwise, p_adj, alpha)


def pairwise_rows(
    names: list[str], point: np.ndarray, p: np.ndarray, p_adjusted: np.ndarray, alpha: float
) -> list[tuple]:
    """Rows (layer_a, layer_b, difference, p, p_adjusted, significant) for every layer pair of
    one network, in pair_list order: the pairwise tests of an ROI or of a group."""
    left, right = pair_list(len(names))
    return [
        (
            names[i],
            names[j],
            point[i] - point[j],
            p[k],
            p_adjusted[k],
            bool(p_adjusted[k] < alpha),
        )
        for k, (i, j) in enumerate(zip(left, right, strict=True))
    ]


def result_dtype(dtype: type | None, n_images: int) -> type:
    """The dtype of the products: the one asked for, else dual_bootstrap's default."""
    return default_dtype(n_images) if dtype is None else dtype


def ceiling_sample_mask(subject_counts: np.ndarray, ceiling_samples: str) -> np.ndarray:
    """Which samples (rows of N × S subject counts) the noise-ceiling statistics use (bool, N).

    'distinct': those that drew at least two distinct subjects; 'rsatoolbox': all of them.
    """
    if ceiling_samples not in CEILING_SAMPLES:
        raise AnalysisError(
            "bootstrap.ceiling_samples",
            f"unknown value {ceiling_samples!r}; choose one of {', '.join(CEILING_SAMPLES)}",
        )
    if ceiling_samples == "rsatoolbox":
        return np.ones(subject_counts.shape[0], dtype=bool)
    return (np.asarray(subject_counts) > 0).sum(axis=1) >= 2


def lower_bound_tests(
    ceiling_rows: list[tuple], inference_rows: list[tuple], correction: str, alpha: float
) -> tuple[list[tuple], list[tuple]]:
    """Add the corrected test of each ROI's lower bound > 0 (one family: every ROI of the study) to
    the noise_ceiling rows, and blank r_normalised (NaN) in ROIs whose lower bound is not above 0.

    ceiling_rows end with the one-sided p of the lower bound; inference rows are
    (roi, network, layer, method, r, r_normalised, ...).
    """
    p = np.array([row[-1] for row in ceiling_rows], dtype=np.float64)
    finite = np.isfinite(p)  # NaN: too few samples with two subjects for a ceiling SEM
    above = np.zeros(p.shape, dtype=bool)
    above[finite] = adjust(p[finite], correction) < alpha
    keep = {row[0] for row, ok in zip(ceiling_rows, above, strict=True) if ok}
    ceiling_rows = [(*row, bool(ok)) for row, ok in zip(ceiling_rows, above, strict=True)]
    inference_rows = [
        row if row[0] in keep else (*row[:5], np.nan, *row[6:]) for row in inference_rows
    ]
    return ceiling_rows, inference_rows


def network_comparison_rows(
    roi: str,
    networks: list[str],
    evaluations: np.ndarray,
    n_rdm: int | None,
    n_pattern: int,
    correction: str,
    alpha: float,
) -> list[tuple]:
    """network_comparison rows of one ROI (none with fewer than two networks): one family of tests.

    evaluations: N × networks × k × n_cv × 3, the cross-validated evaluations (crossvalidated.py:
    each network's layer chosen on the training images of a fold, evaluated on its test images)
    of the usable samples; n_rdm: the number of subjects, or None for an images-only bootstrap.
    r_a, r_b and `difference` are bootstrap means of these; the test and the interval are built
    around `difference`.
    """
    if len(networks) < 2:
        return []
    if evaluations.shape[0] < MIN_VALID_SAMPLES:  # too few usable samples: no statistics
        left, right = st.network_pairs(len(networks))
        return [
            (roi, networks[a], networks[b], *[np.nan] * 9, False)
            for a, b in zip(left, right, strict=True)
        ]
    means, _, difference, variance = cv.network_statistics(evaluations, n_rdm, n_pattern)
    tests = st.family_tests(
        difference, variance, st.degrees_of_freedom(n_rdm, n_pattern), correction, alpha
    )
    sem = np.sqrt(np.maximum(variance, 0.0))
    left, right = network_pairs(len(networks))
    return [
        (
            roi,
            networks[a],
            networks[b],
            means[a],
            means[b],
            difference[k],
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
    ceiling_samples: str = "distinct",
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
    position = {key: i for i, key in enumerate(keys)}
    groups = [
        (atlas, group, [position[(atlas, roi)] for roi in rois if (atlas, roi) in position])
        for atlas in aligned.atlases
        for group, rois in aligned.study.roi_groups.get(atlas, {}).items()
    ]
    groups = [g for g in groups if g[2]]
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
            ceiling_samples=ceiling_samples,
            groups=groups,
        )
    return InferenceOutput(
        {
            name: table if name.startswith("group_") else with_atlas(table, keys, name)
            for name, table in output.tables.items()
        },
        output.bootstrap,
    )


def with_atlas(table: pd.DataFrame, keys: list[tuple[str, str]], table_name: str) -> pd.DataFrame:
    """Replace the positional ROI labels of `inference_arrays` by atlas and ROI columns."""
    position = table["roi"].astype(int)
    table = table.assign(roi=[keys[i][1] for i in position])
    table.insert(0, "atlas", [keys[i][0] for i in position])
    return table[columns(table_name)]
