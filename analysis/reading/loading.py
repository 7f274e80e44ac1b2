"""RDMs aligned to a study's common images: the in-memory model every analysis step reads.

Like rsatoolbox's RDMs, an `RDMSet` carries its descriptors (names, images, measure, source)
with its vectors. `load_aligned` reads a study's files one vector at a time and gathers each
into the canonical image order.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .align import common_images, pair_index, positions
from ..errors import AnalysisError
from .rdmfile import RDMFile, open_rdm_file
from .store import aligned_vectors
from .study import Study

MIN_IMAGES = 3


@dataclass(frozen=True)
class RDMSet:
    """RDM vectors of one file, aligned: `dissimilarities` is n_rdm × n_pairs over `images`."""

    dissimilarities: np.ndarray
    names: tuple[str, ...]
    images: tuple[str, ...]
    measure: str
    source: Path

    def row(self, name: str) -> np.ndarray:
        """The vector of the RDM called `name`."""
        return self.dissimilarities[self.names.index(name)]


@dataclass(frozen=True)
class Alignment:
    """What aligning did to one file."""

    role: str
    name: str
    path: Path
    descriptor: str
    measure: str
    rdm_names: tuple[str, ...]
    images_in_file: int
    images_kept: int

    @property
    def images_dropped(self) -> int:
        return self.images_in_file - self.images_kept


@dataclass(frozen=True)
class AlignedStudy:
    """All of a study's RDMs on one common set of images, in one order."""

    study: Study
    images: tuple[str, ...]
    rois: tuple[str, ...]
    subjects: dict[str, RDMSet]
    networks: dict[str, RDMSet]
    alignment: tuple[Alignment, ...] = field(default=())
    synthetic: bool = False

    @property
    def layers(self) -> dict[str, tuple[str, ...]]:
        return {network: rdms.names for network, rdms in self.networks.items()}

    def joint(self) -> RDMSet:
        """Each ROI's RDM averaged over subjects (after alignment)."""
        sets = list(self.subjects.values())
        total = np.zeros_like(sets[0].dissimilarities)
        for rdms in sets:
            total += rdms.dissimilarities
        return RDMSet(total / len(sets), self.rois, self.images, sets[0].measure, self.study.path)


def open_study_files(study: Study) -> tuple[dict[str, RDMFile], dict[str, RDMFile]]:
    """Open every subject and network file of a study and check their descriptors."""
    keys = study.descriptors
    subjects = {s: open_rdm_file(p, "roi", keys.get("roi"), keys.get("image"))
                for s, p in study.subjects.items()}
    networks = {n: open_rdm_file(p, "layer", keys.get("layer"), keys.get("image"))
                for n, p in study.networks.items()}
    return subjects, networks


def choose_rois(study: Study, subject_files: dict[str, RDMFile]) -> tuple[str, ...]:
    """The ROIs to analyse, in hierarchy order; every one must exist in every subject."""
    present = set().union(*(f.names for f in subject_files.values()))
    for group, rois in study.roi_groups.items():
        for roi in rois:
            if roi not in present:
                raise AnalysisError(study.path, f"ROI {roi} in roi_groups.{group} is in no subject file")
    if study.rois is not None:
        wanted = list(study.rois)
    else:
        first = next(iter(subject_files.values()))
        grouped = [roi for rois in study.roi_groups.values() for roi in rois]
        wanted = grouped + [roi for roi in first.names if roi not in grouped]
    for rdm_file in subject_files.values():
        missing = [roi for roi in wanted if roi not in rdm_file.names]
        if missing:
            raise AnalysisError(rdm_file.path, f"ROI {', '.join(missing)} missing in this subject "
                                               f"(it has {', '.join(rdm_file.names)})")
    return tuple(wanted)


def check_measures(files: list[RDMFile], allow_mixed: bool) -> str:
    """The common dissimilarity measure; different measures are refused unless allowed."""
    reference = files[0]
    for rdm_file in files[1:]:
        if rdm_file.measure != reference.measure:
            message = (f"dissimilarity measure {rdm_file.measure!r} differs from "
                       f"{reference.measure!r} in {reference.path}")
            if not allow_mixed:
                raise AnalysisError(rdm_file.path, message + " (pass --allow-mixed-measures to compare anyway)")
            warnings.warn(f"{rdm_file.path}: {message}", stacklevel=2)
    return reference.measure


def load_aligned(study: Study, allow_mixed_measures: bool = False) -> AlignedStudy:
    """Read a study's RDMs and align them all to the images common to every file."""
    subject_files, network_files = open_study_files(study)
    rois = choose_rois(study, subject_files)
    files = [*subject_files.values(), *network_files.values()]
    check_measures(files, allow_mixed_measures)
    images = common_images([f.images for f in files])
    if len(images) < MIN_IMAGES:
        raise AnalysisError(study.path, f"only {len(images)} image(s) common to all files; "
                                        f"need at least {MIN_IMAGES}")
    subjects = {s: _aligned(f, list(rois), images) for s, f in subject_files.items()}
    networks = {n: _aligned(f, list(f.names), images) for n, f in network_files.items()}
    alignment = tuple(
        [_record("subject", s, f, len(images)) for s, f in subject_files.items()]
        + [_record("network", n, f, len(images)) for n, f in network_files.items()])
    return AlignedStudy(study=study, images=images, rois=rois, subjects=subjects, networks=networks,
                        alignment=alignment, synthetic=any(f.synthetic for f in files))


def _aligned(rdm_file: RDMFile, names: list[str], images: tuple[str, ...]) -> RDMSet:
    index = pair_index(positions(rdm_file.images, images), rdm_file.n_images)
    rows = [rdm_file.names.index(name) for name in names]
    vectors = aligned_vectors(rdm_file, rows, index, len(images) * (len(images) - 1) // 2)  # memory or store
    return RDMSet(vectors, tuple(names), images, rdm_file.measure, rdm_file.path)


def _record(role: str, name: str, rdm_file: RDMFile, n_common: int) -> Alignment:
    return Alignment(role=role, name=name, path=rdm_file.path, descriptor=rdm_file.name_key,
                     measure=rdm_file.measure, rdm_names=rdm_file.names,
                     images_in_file=rdm_file.n_images, images_kept=n_common)
