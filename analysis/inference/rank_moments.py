"""Weighted-rank moments of a pattern bootstrap, for spearman, rho-a and tau-a.

For the rank methods the ranks themselves change with the weights (ties of copies share a
mid-rank), so there is no quadratic form: `rank_moments` computes weighted ranks per sample from
the sort order of each RDM (sorted once, see ranks.py). That is O(pairs) per sample and RDM,
memory-bound rather than BLAS-bound: much slower than corr at full size, but exact.
Kendall's tau-a of a resampling needs a weighted pair count (O(pairs²) per sample here): it is
exact but only practical for small RDMs; `tau_a_cost` states the cost before running.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..comparison import kendall
from ..comparison.ranks import sort_orders, weighted_ranks
from ..errors import AnalysisError
from .moments import Moments

TAU_A_MAX_OPERATIONS = 2e11  # beyond this a tau-a bootstrap takes hours; refuse with the estimate


@dataclass(frozen=True)
class RankedRDMs:
    """Sort orders of every RDM, computed once: models (L) and subjects (R × S)."""

    model_order: np.ndarray
    model_sorted: np.ndarray
    subject_order: np.ndarray
    subject_sorted: np.ndarray
    models: np.ndarray
    subjects: np.ndarray


def rank_once(subjects: np.ndarray, models: np.ndarray) -> RankedRDMs:
    """Sort every RDM vector once; every sample reuses these orders."""
    n_rois, n_subjects, pairs = subjects.shape
    model_order, model_sorted = sort_orders(models)
    subject_order, subject_sorted = sort_orders(subjects.reshape(-1, pairs))
    return RankedRDMs(
        model_order,
        model_sorted,
        subject_order.reshape(n_rois, n_subjects, pairs),
        subject_sorted.reshape(n_rois, n_subjects, pairs),
        np.asarray(models, float),
        np.asarray(subjects, float),
    )


def rank_moments(ranked: RankedRDMs, weights: np.ndarray) -> tuple[Moments, np.ndarray]:
    """Moments of the weighted ranks (for spearman and rho-a) and the subjects' weighted ranks.

    weights: B × pairs. Returns the moments and the subject ranks (B, R, S, pairs), which the
    noise ceiling pools.
    """
    n_rois, n_subjects, pairs = ranked.subject_order.shape
    samples = weights.shape[0]
    model_ranks = np.stack(
        [
            weighted_ranks(o, v, weights)
            for o, v in zip(ranked.model_order, ranked.model_sorted, strict=True)
        ],
        axis=1,
    )
    subject_ranks = np.empty((samples, n_rois, n_subjects, pairs))
    for r in range(n_rois):
        for s in range(n_subjects):
            subject_ranks[:, r, s] = weighted_ranks(
                ranked.subject_order[r, s], ranked.subject_sorted[r, s], weights
            )
    weighted_models = model_ranks * weights[:, None, :]
    weighted_subjects = subject_ranks * weights[:, None, None, :]
    moments = Moments(
        total=weights.sum(axis=1),
        model_sum=weighted_models.sum(axis=2),
        model_square=np.einsum("blp,blp->bl", weighted_models, model_ranks),
        subject_sum=weighted_subjects.sum(axis=3),
        subject_gram=np.einsum("brsp,brtp->brst", weighted_subjects, subject_ranks),
        cross=np.einsum("brsp,blp->brsl", weighted_subjects, model_ranks),
    )
    return moments, subject_ranks


def tau_a_cost(n_pairs: int, samples: int, n_rois: int, n_subjects: int, n_models: int) -> float:
    """Multiply-adds of a tau-a dual bootstrap: pairs²
    per (sample, comparison), 2 weighted variants."""
    comparisons = n_rois * n_subjects * (n_models + 2 * (n_subjects + 1))
    return 2.0 * samples * comparisons * float(n_pairs) ** 2


def check_tau_a_feasible(
    n_pairs: int, samples: int, n_rois: int, n_subjects: int, n_models: int
) -> None:
    """Refuse a tau-a bootstrap that would take hours, with the estimate, instead of hanging."""
    cost = tau_a_cost(n_pairs, samples, n_rois, n_subjects, n_models)
    if cost > TAU_A_MAX_OPERATIONS:
        hours = cost / 1e9 / 3600
        raise AnalysisError(
            "method tau-a",
            (
                f"a tau-a bootstrap over {n_pairs} image pairs needs about {cost:.1e} operations "
                f"(~{hours:.0f} h at 1e9/s): weighted Kendall counts cost pairs² per sample. "
                "Use --samples 0 for tau-a point estimates, or corr for the bootstrap"
            ),
        )


RANK_CPU_SECONDS_PER_PAIR = (
    7.3e-8  # spearman, 4.45e6 pairs × 10 ROIs, 1000 samples on 2 cores: 3242 CPU s (27.4 min)
)


def rank_bootstrap_warning(
    n_pairs: int, samples: int, n_rois: int, method: str, threads: int = 1
) -> str | None:
    """A warning with the expected duration when a
    rank-method bootstrap will take long (over 10 min)."""
    seconds = RANK_CPU_SECONDS_PER_PAIR * n_pairs * n_rois * samples / max(1, threads)
    if seconds < 600:
        return None
    return (
        f"a {method} bootstrap of {samples} samples over {n_pairs} image pairs "
        f"and {n_rois} ROIs takes about {seconds / 60:.0f} min on {threads} "
        "core(s) (weighted ranks and re-ranked pooled RDMs per sample); corr "
        "takes a fraction of that. Use fewer --samples to try it first"
    )


def tau_a_similarity(ranked: RankedRDMs, weights: np.ndarray) -> np.ndarray:
    """Weighted tau-a of every subject with every layer: (B, R, S, L). Exact, O(B·pairs²) each."""
    n_rois, n_subjects, _ = ranked.subjects.shape
    n_models = ranked.models.shape[0]
    result = np.empty((weights.shape[0], n_rois, n_subjects, n_models))
    for r in range(n_rois):
        for s in range(n_subjects):
            for m in range(n_models):
                result[:, r, s, m] = kendall.weighted_tau_a(
                    ranked.models[m], ranked.subjects[r, s], weights
                )
    return result
