"""Running an analysis: the stages, their content-keyed cache, provenance, the results folder."""

from __future__ import annotations

import importlib
from typing import Any

#: Public name → the module that defines it. Loaded on first use (PEP 562), so that importing one
#: light module of this package (e.g. a cached rerun's) does not load the numeric ones.
_SOURCES = {
    "Outcome": "run",
    "StageOutput": "stages",
    "run": "run",
}
__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))
