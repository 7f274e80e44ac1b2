"""Reading a study: the study file, rsatoolbox RDM files (HDF5), and their alignment to the images
they have in common."""

from __future__ import annotations

from ..lazy import attach

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
__getattr__, __dir__, __all__ = attach(__name__, _SOURCES)
