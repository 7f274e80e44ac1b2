"""Statistical inference as rsatoolbox's eval_dual_bootstrap: resampling images and subjects,
weighted moments instead of resampled RDMs, noise ceilings, the Result statistics, and the
inference tables."""

from __future__ import annotations

import importlib
from typing import Any

#: Public name → the module that defines it. Loaded on first use (PEP 562), so that importing one
#: light module of this package (e.g. a cached rerun's) does not load the numeric ones.
_SOURCES = {
    "DualBootstrap": "dual_bootstrap",
    "InferenceOutput": "tables",
    "ModelStatistics": "statistics",
    "Resampling": "resampling",
    "adjust": "statistics",
    "draw_resampling": "resampling",
    "dual_bootstrap": "dual_bootstrap",
    "dual_variance": "statistics",
    "inference_arrays": "tables",
    "inference_tables": "tables",
    "model_statistics": "statistics",
}
__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))
