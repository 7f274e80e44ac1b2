"""Which methods the dual bootstrap runs: checked before any file is read, without loading the
numeric code (a cached rerun imports this and nothing heavy)."""

from __future__ import annotations

from ..errors import AnalysisError
from ..schema import BOOTSTRAP_METHODS, METHODS


def check_method(method: str) -> None:
    """Refuse a method the dual bootstrap cannot run, with one clear line (AnalysisError)."""
    if method not in METHODS:
        raise AnalysisError(
            "method", f"unknown method {method!r}; choose one of {', '.join(METHODS)}"
        )
    if method not in BOOTSTRAP_METHODS:
        raise AnalysisError(
            f"method {method}",
            "the dual bootstrap does not compute this method; use --samples 0 "
            f"for point estimates, or one of {', '.join(BOOTSTRAP_METHODS)}",
        )
