"""RDMs aligned to a study's images: the in-memory model every analysis step reads.

Like rsatoolbox's RDMs, an `RDMSet` carries its descriptors (names, images, measure, source)
with its vectors. `load_aligned` opens every file of a study (subjects per atlas, group means,
networks), matches image names as the study says, reads one vector at a time and gathers each
into the canonical order of the images every file holds. What that costs each file is printed
and recorded; losing more than half of a file's images needs the study's explicit consent.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AnalysisError, AnalysisWarning
from .align import common_images, pair_index, positions
from .images import ImageAccount, account, image_keys, loss_line, source_of, stem_casefold
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
    """What aligning to the common images did to one file."""

    role: str
    name: str
    atlas: str
    path: Path
    descriptor: str
    measure: str
    rdm_names: tuple[str, ...]
    images: ImageAccount

    @property
    def images_in_file(self) -> int:
        return self.images.images_in_file

    @property
    def images_kept(self) -> int:
        return self.images.images_kept

    @property
    def images_dropped(self) -> int:
        return self.images.images_dropped


@dataclass(frozen=True)
class StudyFiles:
    """Every opened file of a study with its image keys:
    subjects[subject][atlas], group_means[atlas], networks[network]."""

    subjects: dict[str, dict[str, RDMFile]]
    group_means: dict[str, RDMFile]
    networks: dict[str, RDMFile]
    keys: dict[Path, list[str]]

    def all(self) -> list[tuple[str, str, str, RDMFile]]:
        """(role, name, atlas, file) of every file,
        subjects first, then group means and networks."""
        return (
            [
                ("subject", s, a, f)
                for s, atlases in self.subjects.items()
                for a, f in atlases.items()
            ]
            + [("group_mean", "MEAN", a, f) for a, f in self.group_means.items()]
            + [("network", n, "", f) for n, f in self.networks.items()]
        )


@dataclass(frozen=True)
class AlignedStudy:
    """All of a study's RDMs on one common set of images, in one order.

    subjects[subject][atlas] holds that atlas's ROIs in `rois[atlas]` order; group_means[atlas]
    the group-average file's RDMs in the same order.
    """

    study: Study
    images: tuple[str, ...]
    atlases: tuple[str, ...]
    rois: dict[str, tuple[str, ...]]
    subjects: dict[str, dict[str, RDMSet]]
    networks: dict[str, RDMSet]
    group_means: dict[str, RDMSet] = field(default_factory=dict)
    alignment: tuple[Alignment, ...] = field(default=())
    synthetic: bool = False
    files: StudyFiles | None = None

    @property
    def layers(self) -> dict[str, tuple[str, ...]]:
        return {network: rdms.names for network, rdms in self.networks.items()}

    def written_names(self) -> tuple[str, ...]:
        """Each of `images` (keys) as its name is written in the first file that holds it (subjects
        first, as images.csv lists the files): what image sources are matched against."""
        if self.files is None:
            return self.images
        written: dict[str, str] = {}
        for *_, rdm_file in self.files.all():
            for key, name in zip(self.files.keys[rdm_file.path], rdm_file.images, strict=True):
                written.setdefault(key, name)
        return tuple(written.get(key, key) for key in self.images)

    def image_sources(self) -> tuple[str, ...]:
        """The source of each of `images`, from its name as written in its file (before
        images.match normalises it), so every table counts sources as images.csv does."""
        sources = self.study.images.sources
        return tuple(source_of(name, sources) for name in self.written_names())

    def joint(self, atlas: str) -> RDMSet:
        """Each ROI's RDM of one atlas averaged over subjects (after alignment)."""
        sets = [atlases[atlas] for atlases in self.subjects.values()]
        total = np.zeros_like(sets[0].dissimilarities)
        for rdms in sets:
            total += rdms.dissimilarities
        return RDMSet(
            total / len(sets), self.rois[atlas], self.images, sets[0].measure, self.study.path
        )


def open_study_files(study: Study) -> StudyFiles:
    """Open every file of a study, check its descriptors and compute its image keys."""
    keys = study.descriptors

    def opened(path: Path, role: str) -> RDMFile:
        return open_rdm_file(path, role, keys.get(role), keys.get("image"))

    opened_files = {
        path: opened(path, "layer" if role == "network" else "roi")
        for role, _, _, path in study.files()
    }
    return StudyFiles(
        subjects={
            s: {a: opened_files[p] for a, p in atlases.items()}
            for s, atlases in study.subjects.items()
        },
        group_means={a: opened_files[p] for a, p in study.group_mean.items()},
        networks={n: opened_files[p] for n, p in study.networks.items()},
        keys={
            path: image_keys(f.images, study.images.match, path) for path, f in opened_files.items()
        },
    )


def choose_rois(study: Study, files: StudyFiles) -> dict[str, tuple[str, ...]]:
    """The ROIs of each atlas, in hierarchy order; every one must exist in every subject, and a
    group-mean file must hold exactly its atlas's ROIs."""
    chosen = {}
    for atlas in study.atlases:
        subject_files = {s: atlases[atlas] for s, atlases in files.subjects.items()}
        present = set().union(*(f.names for f in subject_files.values()))
        groups = study.roi_groups.get(atlas, {})
        for group, rois in groups.items():
            for roi in rois:
                if roi not in present:
                    raise AnalysisError(
                        study.path,
                        f"ROI {roi} in roi_groups {group!r} (atlas {atlas}) is in no subject file",
                    )
        if atlas in study.rois:
            wanted = list(study.rois[atlas])
        else:
            first = next(iter(subject_files.values()))
            grouped = [roi for rois in groups.values() for roi in rois]
            wanted = grouped + [roi for roi in first.names if roi not in grouped]
        for rdm_file in subject_files.values():
            missing = [roi for roi in wanted if roi not in rdm_file.names]
            if missing:
                raise AnalysisError(
                    rdm_file.path,
                    f"ROI {', '.join(missing)} missing in this subject "
                    f"(it has {', '.join(rdm_file.names)})",
                )
        if atlas in files.group_means:
            mean_file = files.group_means[atlas]
            expected = set(next(iter(subject_files.values())).names)
            if set(mean_file.names) != expected:
                extra = sorted(set(mean_file.names) - expected)
                missing = sorted(expected - set(mean_file.names))
                raise AnalysisError(
                    mean_file.path,
                    "group-mean ROIs do not match the subjects' "
                    f"atlas {atlas}: "
                    + "; ".join(
                        part
                        for part in (
                            f"not in the subjects: {', '.join(extra)}" if extra else "",
                            f"missing: {', '.join(missing)}" if missing else "",
                        )
                        if part
                    ),
                )
        chosen[atlas] = tuple(wanted)
    return chosen


def check_measures(files: list[RDMFile], allow_mixed: bool) -> str:
    """The common dissimilarity measure; different measures are refused unless allowed."""
    reference = files[0]
    for rdm_file in files[1:]:
        if rdm_file.measure != reference.measure:
            message = (
                f"dissimilarity measure {rdm_file.measure!r} differs from "
                f"{reference.measure!r} in {reference.path}"
            )
            if not allow_mixed:
                raise AnalysisError(
                    rdm_file.path, message + " (pass --allow-mixed-measures to compare anyway)"
                )
            warnings.warn(f"{rdm_file.path}: {message}", AnalysisWarning, stacklevel=2)
    return reference.measure


def shared_images(files: StudyFiles, paths: list[Path], where: Path | str) -> tuple[str, ...]:
    """The image keys every one of the given files holds, sorted; too few is an error."""
    images = common_images([files.keys[p] for p in paths])
    if len(images) < MIN_IMAGES:
        raise AnalysisError(
            where, f"only {len(images)} image(s) common to all files; need at least {MIN_IMAGES}"
        )
    return images


def account_images(
    study: Study, files: StudyFiles, images: tuple[str, ...]
) -> tuple[Alignment, ...]:
    """Per file, what aligning to `images` keeps and drops (`loss_lines` says it in words); refuses
    to drop more than half of a file's images unless the study allows it."""
    kept = set(images)
    near = None
    if study.images.match == "exact":
        near = set(common_images([[stem_casefold(n) for n in f.images] for *_, f in files.all()]))
    records = []
    for role, name, atlas, rdm_file in files.all():
        tally = account(
            rdm_file.images, files.keys[rdm_file.path], kept, study.images.sources, near
        )
        consent = study.images.explicit or study.images.allow_image_loss
        if 2 * tally.images_dropped > tally.images_in_file and not consent:
            raise AnalysisError(
                rdm_file.path,
                loss_line(tally, study.images.match) + "; that is more than "
                "half of this file: set images.match or images.allow_image_loss: true in the "
                "study file to go on",
            )
        records.append(
            Alignment(
                role=role,
                name=name,
                atlas=atlas,
                path=rdm_file.path,
                descriptor=rdm_file.name_key,
                measure=rdm_file.measure,
                rdm_names=rdm_file.names,
                images=tally,
            )
        )
    return tuple(records)


def loss_lines(aligned: AlignedStudy) -> list[str]:
    """One line per file that alignment took images
    from: which file, how many, from which sources."""
    return [
        f"{record.path}: {loss_line(record.images, aligned.study.images.match)}"
        for record in aligned.alignment
        if record.images_dropped
    ]


def load_aligned(study: Study, allow_mixed_measures: bool = False) -> AlignedStudy:
    """Read a study's RDMs and align them all to the images common to every file."""
    files = open_study_files(study)
    rois = choose_rois(study, files)
    every = [f for *_, f in files.all()]
    check_measures(every, allow_mixed_measures)
    images = shared_images(files, [f.path for f in every], study.path)
    alignment = account_images(study, files, images)
    return AlignedStudy(
        study=study,
        images=images,
        atlases=study.atlases,
        rois=rois,
        subjects={
            s: {a: aligned_set(files, f, list(rois[a]), images) for a, f in atlases.items()}
            for s, atlases in files.subjects.items()
        },
        networks={
            n: aligned_set(files, f, list(f.names), images) for n, f in files.networks.items()
        },
        group_means={
            a: aligned_set(files, f, list(rois[a]), images) for a, f in files.group_means.items()
        },
        alignment=alignment,
        synthetic=any(f.synthetic for f in every),
        files=files,
    )


def subject_images(aligned: AlignedStudy, subject: str) -> tuple[str, ...]:
    """The images one subject's files share with every network (for images.align: per-subject)."""
    files = aligned.files
    paths = [f.path for f in files.subjects[subject].values()] + [
        f.path for f in files.networks.values()
    ]
    return shared_images(files, paths, files.subjects[subject][aligned.atlases[0]].path)


def aligned_set(
    files: StudyFiles, rdm_file: RDMFile, names: list[str], images: tuple[str, ...]
) -> RDMSet:
    """The named RDMs of a file, gathered into the order of `images` (keys)."""
    index = pair_index(positions(files.keys[rdm_file.path], images), rdm_file.n_images)
    rows = [rdm_file.names.index(name) for name in names]
    vectors = aligned_vectors(
        rdm_file, rows, index, len(images) * (len(images) - 1) // 2
    )  # memory or store
    return RDMSet(vectors, tuple(names), images, rdm_file.measure, rdm_file.path)
