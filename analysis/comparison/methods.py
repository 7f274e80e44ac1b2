"""Compare RDM vectors as rsatoolbox.rdm.compare does, for many model and data vectors at once.

Each method is a transform applied once per vector (centre, rank, normalise) followed by one
matrix of inner products, so ranks are computed once per RDM, not once per comparison.
Inner products use np.einsum without BLAS, like rsatoolbox: the sums do not depend on the
number of threads, so reruns are byte-identical.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import AnalysisError, check_choice
from ..schema import METHODS
from .whitened import prepare_corr_cov, prepare_cosine_cov


def rank_vectors(vectors: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties share their mean
    rank) of each row, equal to scipy.stats.rankdata."""
    from .ranks import average_ranks  # one unstable SIMD argsort per row, rows on all cores

    return average_ranks(vectors)


def _centred(vectors: np.ndarray) -> np.ndarray:
    return vectors - vectors.mean(axis=1, keepdims=True)


def _unchanged(vectors: np.ndarray) -> np.ndarray:
    return vectors


def _prepare_corr(vectors: np.ndarray) -> np.ndarray:
    return _centred(vectors)


def _prepare_ranks(vectors: np.ndarray) -> np.ndarray:
    return _centred(rank_vectors(vectors))


def _inner_cosine(models: np.ndarray, data: np.ndarray) -> np.ndarray:
    similarity = np.einsum("ij,kj->ik", models, data)
    similarity /= np.sqrt(np.einsum("ij,ij->i", models, models))[:, None]
    similarity /= np.sqrt(np.einsum("ij,ij->i", data, data))[None, :]
    return similarity


def _inner_rho_a(models: np.ndarray, data: np.ndarray) -> np.ndarray:
    n = models.shape[1]
    return np.einsum("ij,kj->ik", models, data) / (n**3 - n) * 12


def _tau_a_matrix(models: np.ndarray, data: np.ndarray) -> np.ndarray:
    from .kendall import tau_a_many

    return tau_a_many(models, data)


_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "corr": _prepare_corr,
    "cosine": _unchanged,
    "spearman": _prepare_ranks,
    "rho-a": _prepare_ranks,
    "tau-a": _unchanged,
    "corr_cov": prepare_corr_cov,
    "cosine_cov": prepare_cosine_cov,
}
_INNER: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "corr": _inner_cosine,
    "cosine": _inner_cosine,
    "spearman": _inner_cosine,
    "rho-a": _inner_rho_a,
    "tau-a": _tau_a_matrix,
    "corr_cov": _inner_cosine,
    "cosine_cov": _inner_cosine,
}


def prepare(vectors: np.ndarray, method: str) -> np.ndarray:
    """Transform RDM vectors once for `method` (centre, rank, whiten), so that compare_prepared is
    cheap.

    Parameters
    ----------
    vectors : (N, P) array, or one (P,) vector
        RDM vectors over the same P pairs.
    method : str
        One of analysis.schema.METHODS.

    Returns
    -------
    (N, P) float64 array
    """
    return _TRANSFORMS[_checked(method)](np.atleast_2d(np.asarray(vectors, dtype=np.float64)))


def compare_prepared(models: np.ndarray, data: np.ndarray, method: str) -> np.ndarray:
    """Similarity of every prepared model row with every prepared data row.

    Parameters
    ----------
    models : (M, P) array
        ``prepare(model_vectors, method)``.
    data : (D, P) array
        ``prepare(data_vectors, method)``.
    method : str
        The method both were prepared for.

    Returns
    -------
    (M, D) float64 array
    """
    return _INNER[_checked(method)](models, data)


def compare(models: np.ndarray, data: np.ndarray, method: str) -> np.ndarray:
    """rsatoolbox.rdm.compare(models, data, method) on plain vectors.

    Parameters
    ----------
    models : (M, P) array, or one (P,) vector
    data : (D, P) array, or one (P,) vector
    method : str
        One of analysis.schema.METHODS.

    Returns
    -------
    (M, D) float64 array
        Similarity of model m with data row d.
    """
    return compare_prepared(prepare(models, method), prepare(data, method), method)


#: Methods undefined for an all-zero vector (the others: for a constant vector).
ZERO_UNDEFINED: tuple[str, ...] = ("cosine", "cosine_cov")


def undefined_rows(vectors: np.ndarray, method: str) -> np.ndarray:
    """Rows for which the comparison is undefined: constant (zero for cosine) vectors.

    Parameters
    ----------
    vectors : (n_rdms, n_pairs) array
        RDM vectors (one row is also accepted).
    method : str
        One of analysis.schema.METHODS.

    Returns
    -------
    (n_rdms,) bool array
        True where the row is all zero (cosine, cosine_cov) or constant (every other method).
    """
    vectors = np.atleast_2d(vectors)
    if _checked(method) in ZERO_UNDEFINED:
        return ~np.any(vectors != 0, axis=1)
    return ~np.any(vectors != vectors[:, :1], axis=1)


def check_defined(
    vectors: np.ndarray, method: str, source: str | Path, names: Sequence[str] | None = None
) -> None:
    """Refuse RDMs for which r is undefined (see undefined_rows), with one AnalysisError that
    names the source, the RDMs (when `names`, one per row, are given) and why."""
    bad = undefined_rows(vectors, method)
    if bad.any():
        raise undefined_error(source, method, None if names is None else np.asarray(names)[bad])


def undefined_error(
    source: str | Path, method: str, names: Sequence[str] | None = None
) -> AnalysisError:
    """The error for RDMs (`names`, or an unnamed one) over which r (`method`) is undefined."""
    what = "an RDM" if names is None else f"RDM {', '.join(names)}"
    kind = "all zero" if method in ZERO_UNDEFINED else "constant"
    return AnalysisError(
        source, f"{what} is {kind} over the common images, so r ({method}) is undefined"
    )


def _checked(method: str) -> str:
    return check_choice(method, METHODS, "method")
