"""Studies of any valid shape, written to disk as a user would write them: rsatoolbox RDM files and
a study file. Used by the property-based report tests (tests/report/test_any_study.py) and the
full renders of extreme shapes (tests/e2e/test_any_study_render.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from tests.helpers import save_rdms


@dataclass(frozen=True)
class AtlasShape:
    """One atlas: its ROI names and, optionally, ROI groups (hierarchy order)."""

    name: str
    rois: tuple[str, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class NetworkShape:
    """One network (or set of models): its layer names; `ordered` False for a set of model RDMs."""

    name: str
    layers: tuple[str, ...]
    ordered: bool = True


@dataclass(frozen=True)
class StudyShape:
    """Everything that makes a study: subjects, atlases, networks, group means and parameters."""

    subjects: tuple[str, ...]
    atlases: tuple[AtlasShape, ...]
    networks: tuple[NetworkShape, ...]
    title: str = "A study"
    n_images: int = 14
    fewer_images: int = 0  # the last subject lacks this many images
    group_means: bool = False
    method: str = "corr"
    samples: int = 0
    align: str = "common"
    dataset: dict = field(default_factory=dict)
    seed: int = 0

    @property
    def single_atlas(self) -> bool:
        return len(self.atlases) == 1 and self.atlases[0].name == "default"


SOURCES = {"COCO": "^COCO_", "ImageNet": r"^n\d{8}_", "Scene": "."}


def image_names(n: int) -> list[str]:
    """Image names from three sources, as the BOLD5000 names look (upper- and lower-case)."""
    makers = (
        lambda k: f"COCO_train2014_{k:012d}.jpg",
        lambda k: f"n{1000000 + k:08d}_{k}.JPEG",
        lambda k: f"scene_{k:03d}.jpg",
    )
    return [makers[k % 3](k) for k in range(n)]


def _rdm(patterns: np.ndarray) -> np.ndarray:
    """Correlation distance between the rows of `patterns`, upper triangle as a vector."""
    centred = patterns - patterns.mean(axis=1, keepdims=True)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    full = 1 - centred @ centred.T
    return full[np.triu_indices(len(patterns), 1)]


def write_study(shape: StudyShape, folder: Path) -> Path:
    """Write the RDM files and the study file of `shape` into `folder`; returns the study file."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(shape.seed)
    images = image_names(shape.n_images)
    latent = rng.standard_normal((shape.n_images, 12))

    def patterns(weight: float, keep: list[int]) -> np.ndarray:
        noise = rng.standard_normal((shape.n_images, 12))
        return (weight * latent + noise)[keep]

    everyone = list(range(shape.n_images))
    subjects: dict[str, object] = {}
    for s, subject in enumerate(shape.subjects):
        keep = (
            everyone[: shape.n_images - shape.fewer_images]
            if s == len(shape.subjects) - 1
            else everyone
        )
        per_atlas = {}
        for a, atlas in enumerate(shape.atlases):
            vectors = np.stack(
                [_rdm(patterns(0.5 + (k % 3) * 0.5, keep)) for k in range(len(atlas.rois))]
            )
            name = f"subject{s}_atlas{a}.h5"
            save_rdms(folder / name, vectors, [images[i] for i in keep], list(atlas.rois))
            per_atlas[atlas.name] = name
        subjects[subject] = per_atlas["default"] if shape.single_atlas else per_atlas
    group_mean = {}
    if shape.group_means:
        for a, atlas in enumerate(shape.atlases):
            vectors = np.stack([_rdm(patterns(1.5, everyone)) for _ in atlas.rois])
            name = f"mean_atlas{a}.h5"
            save_rdms(folder / name, vectors, images, list(atlas.rois))
            group_mean[atlas.name] = name
    networks: dict[str, object] = {}
    for n, network in enumerate(shape.networks):
        vectors = np.stack(
            [_rdm(patterns(0.3 + k * 0.2, everyone)) for k in range(len(network.layers))]
        )
        name = f"network{n}.h5"
        save_rdms(folder / name, vectors, images, list(network.layers), key="layer")
        networks[network.name] = name if network.ordered else {"file": name, "ordered": False}
    study: dict[str, object] = {"title": shape.title}
    if shape.dataset:
        study["dataset"] = dict(shape.dataset)
    study["subjects"] = subjects
    if group_mean:
        study["group_mean"] = group_mean["default"] if shape.single_atlas else group_mean
    study["networks"] = networks
    groups = {
        atlas.name: {g: list(rois) for g, rois in atlas.groups}
        for atlas in shape.atlases
        if atlas.groups
    }
    if groups:
        study["roi_groups"] = groups["default"] if shape.single_atlas else groups
    study["method"] = shape.method
    study["bootstrap"] = {"samples": shape.samples, "seed": 0}
    study["images"] = {
        "align": shape.align,
        "sources": SOURCES,
        "allow_image_loss": True,
    }
    path = folder / "study.yml"
    path.write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
