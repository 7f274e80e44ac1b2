"""Small study files of any shape, written with rsatoolbox's own writer, for tests of studies this
project has never seen: any number of subjects, atlases with or without ROI groups, group means,
networks of any number of layers (ordered or not), image names in several spellings.

`write_shape_study(folder, Shape(...))` writes the RDM files (rsatoolbox's writer; UTF-8 names,
which it cannot write, in its layout by h5py) and study.yml, and returns the study path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from tests.helpers import save_rdms, write_study

#: Image sources as the BOLD5000 study file declares them (matched on names as written).
SOURCES = {"COCO": "^COCO_", "ImageNet": r"^n\d", "Scene": "."}


@dataclass(frozen=True)
class Atlas:
    """An atlas: its ROI names and, optionally, groups of them ({group: [roi, ...]})."""

    rois: tuple[str, ...]
    groups: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class Network:
    """A network: its RDM names (layers or models) and whether they are layers in depth order."""

    layers: tuple[str, ...]
    ordered: bool = True


@dataclass(frozen=True)
class Shape:
    """What a generated study holds. `network_spelling` 'varied' writes the networks' image names
    in lower case without extension (so only images.match: stem-casefold matches them)."""

    subjects: tuple[str, ...] = ("s1", "s2")
    atlases: dict[str, Atlas] = field(
        default_factory=lambda: {"A": Atlas(("V1", "V2", "LO"), {"early": ["V1", "V2"]})}
    )
    networks: dict[str, Network] = field(
        default_factory=lambda: {"net": Network(("l1", "l2", "l3"))}
    )
    group_means: bool = False
    n_images: int = 18
    title: str = "A study of any shape"
    method: str = "corr"
    match: str = "exact"
    network_spelling: str = "as-subjects"
    align: str = "common"
    fewer_images: int = 0  # the last subject's files lack this many of the last images
    seed: int = 0


def image_names(n_images: int) -> list[str]:
    """Names from three sources, as BOLD5000 writes them: COCO, ImageNet and scene images."""
    kinds = (
        "COCO_train2014_{:012d}.jpg",
        "n0144{:04d}_1.JPEG",
        "scene{:03d}.jpg",
    )
    return [kinds[i % 3].format(i) for i in range(n_images)]


def _rdms(rng: np.random.Generator, shared: np.ndarray, count: int, noise: float) -> np.ndarray:
    """count RDM vectors: the shared structure at random strength plus independent noise."""
    strength = rng.uniform(0.3, 1.0, (count, 1))
    return strength * shared + rng.normal(0, noise, (count, shared.size)) + 1.0


def save_any_rdms(
    path: Path, vectors: np.ndarray, images: list[str], names: tuple[str, ...], key: str = "roi"
) -> Path:
    """rsatoolbox's own writer when every name is ASCII (it cannot write others); else the same
    HDF5 layout with the names as UTF-8 bytes, as other tools write them."""
    if all(n.isascii() for n in (*images, *names)):
        return save_rdms(path, vectors, images, list(names), key=key)
    with h5py.File(path, "w") as handle:
        handle.attrs["dissimilarity_measure"] = "correlation"
        handle.attrs["rsatoolbox_version"] = "0.3.2"
        handle["dissimilarities"] = np.atleast_2d(vectors)
        handle.create_group("descriptors")
        rdm = handle.create_group("rdm_descriptors")
        rdm[key] = np.array([n.encode("utf-8") for n in names])
        rdm["index"] = np.arange(len(names))
        pattern = handle.create_group("pattern_descriptors")
        pattern["image"] = np.array([n.encode("utf-8") for n in images])
        pattern["index"] = np.arange(len(images))
    return path


def write_shape_study(folder: Path, shape: Shape) -> Path:
    """Write the RDM files and the study file of `shape` into `folder`; returns the study path."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(shape.seed)
    images = image_names(shape.n_images)
    pairs = shape.n_images * (shape.n_images - 1) // 2
    shared = rng.normal(size=pairs)
    one_atlas = len(shape.atlases) == 1
    subjects: dict[str, object] = {}
    for s, subject in enumerate(shape.subjects):
        files = {}
        last = s == len(shape.subjects) - 1 and shape.fewer_images > 0
        kept = shape.n_images - shape.fewer_images if last else shape.n_images
        held = np.triu_indices(shape.n_images, 1)
        inside = (held[0] < kept) & (held[1] < kept)  # pairs among the images this subject saw
        for a, (atlas, spec) in enumerate(shape.atlases.items()):
            name = f"sub{s}_atlas{a}.h5"
            vectors = _rdms(rng, shared, len(spec.rois), 0.8)[:, inside]
            save_any_rdms(folder / name, vectors, images[:kept], spec.rois)
            files[atlas] = name
        subjects[subject] = next(iter(files.values())) if one_atlas else files
    network_images = (
        [n.rsplit(".", 1)[0].lower() for n in images]
        if shape.network_spelling == "varied"
        else images
    )
    networks = {}
    for k, (network, spec) in enumerate(shape.networks.items()):
        name = f"network{k}.h5"
        vectors = _rdms(rng, shared, len(spec.layers), 0.8)
        save_any_rdms(folder / name, vectors, network_images, spec.layers, key="layer")
        networks[network] = name if spec.ordered else {"file": name, "ordered": False}
    fields: dict[str, object] = {"title": shape.title, "subjects": subjects, "networks": networks}
    if shape.group_means:
        means = {}
        for a, (atlas, spec) in enumerate(shape.atlases.items()):
            name = f"mean_atlas{a}.h5"
            vectors = _rdms(rng, shared, len(spec.rois), 0.3)
            save_any_rdms(folder / name, vectors, images, spec.rois)
            means[atlas] = name
        fields["group_mean"] = next(iter(means.values())) if one_atlas else means
    groups = {atlas: spec.groups for atlas, spec in shape.atlases.items() if spec.groups}
    if groups:
        fields["roi_groups"] = next(iter(groups.values())) if one_atlas else groups
    fields["method"] = shape.method
    fields["images"] = {"match": shape.match, "align": shape.align, "sources": SOURCES}
    return write_study(folder / "study.yml", **fields)
