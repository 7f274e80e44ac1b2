"""Reading a study: the study file, rsatoolbox RDM files (HDF5), and their alignment to the images
they have in common."""

from __future__ import annotations

import importlib
from typing import Any

#: Public name → the module that defines it. Loaded on first use (PEP 562), so that importing one
#: light module of this package (e.g. a cached rerun's) does not load the numeric ones.
_SOURCES = {
    "AlignedStudy": "loading",
    "Alignment": "loading",
    "Bootstrap": "study",
    "DEFAULT_ATLAS": "study",
    "ImageAccount": "images",
    "Images": "study",
    "RDMFile": "rdmfile",
    "RDMSet": "loading",
    "Study": "study",
    "StudyFiles": "loading",
    "common_images": "align",
    "condensed_index": "align",
    "image_keys": "images",
    "load_aligned": "loading",
    "load_study": "study",
    "open_rdm_file": "rdmfile",
    "pair_index": "align",
    "positions": "align",
    "stem_casefold": "images",
    "subject_images": "loading",
}
__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))
