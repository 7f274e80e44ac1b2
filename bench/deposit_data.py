"""A synthetic study shaped like the whole Pickard et al. deposit, at real size, streamed to disk.

4 networks (5, 5, 10, 19 layers), CSI1-3 on every image and CSI4 on a subset, three atlases
(10, 16, 33 ROIs) per subject, and one MEAN file per atlas. Files are rsatoolbox HDF5 (the
descriptors written by rsatoolbox's own writer), their dissimilarities filled one RDM at a time so
that memory stays at a few RDMs whatever the size.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import yaml
from rsatoolbox.io.hdf5 import write_dict_hdf5

NETWORKS = {"AlexNet": 5, "ResNet50": 5, "efficientnet_b0": 10, "mobilenet_v2": 19}
NETWORK_FILES = {
    "AlexNet": "AlexNet_CORR_RDMs.h5",
    "ResNet50": "ResNet50_CORR_RDMs.h5",
    "efficientnet_b0": "efficientnet_b0_CORR_RDMs.h5",
    "mobilenet_v2": "mobilenet_v2_CORR_RDMs.h5",
}
ATLASES = {"BOLD5000": 10, "vcAtlas": 16, "visfAtlas": 33}
SUBJECTS = ("CSI1", "CSI2", "CSI3", "CSI4")
LEVELS = 5
FEATURES = 24
NOISE = 48


def image_names(n: int, rng: np.random.Generator) -> list[str]:
    coco = [
        f"COCO_train2014_{i:012d}.jpg"
        for i in np.sort(rng.choice(581_000, round(n * 0.41), replace=False))
    ]
    n_imagenet = round(n * 0.39)
    synsets = rng.choice(np.arange(1_440_000, 15_000_000), n_imagenet, replace=False)
    imagenet = [
        f"n{s:08d}_{k}.JPEG"
        for s, k in zip(synsets, rng.integers(1, 30_000, n_imagenet), strict=True)
    ]
    scene = [f"scene{i:05d}.jpg" for i in range(n - len(coco) - n_imagenet)]
    return sorted(coco + imagenet + scene)


def deposit_bytes(n_images: int, n_subset: int, dtype=np.float64) -> int:
    """Bytes the generated files take (dissimilarities only)."""
    item = np.dtype(dtype).itemsize
    full = n_images * (n_images - 1) // 2 * item
    subset = n_subset * (n_subset - 1) // 2 * item
    rois = sum(ATLASES.values())
    return full * (sum(NETWORKS.values()) + rois * 4) + subset * rois


class Writer:
    """One rsatoolbox HDF5 file whose dissimilarities are written row by row."""

    def __init__(
        self, path: Path, images: list[str], key: str, names: list[str], descriptors: dict, dtype
    ):
        n_pairs = len(images) * (len(images) - 1) // 2
        write_dict_hdf5(
            str(path),
            {
                "descriptors": {"synthetic": "true", **descriptors},
                "rdm_descriptors": {key: list(names), "index": list(range(len(names)))},
                "pattern_descriptors": {"image": list(images), "index": list(range(len(images)))},
                "dissimilarity_measure": "correlation",
            },
        )
        self.file = h5py.File(path, "a")
        self.data = self.file.create_dataset(
            "dissimilarities", shape=(len(names), n_pairs), dtype=dtype
        )

    def write(self, row: int, vector: np.ndarray) -> None:
        self.data[row] = vector

    def close(self) -> None:
        self.file.close()


class RDMMaker:
    """Correlation-distance RDM vectors of image patterns, the triangle index computed once."""

    def __init__(self, n: int):
        rows, cols = np.triu_indices(n, 1)
        self.flat = rows * n + cols
        del rows, cols

    def __call__(self, activity: np.ndarray) -> np.ndarray:
        centred = activity - activity.mean(axis=1, keepdims=True)
        centred /= np.linalg.norm(centred, axis=1, keepdims=True)
        gram = centred @ centred.T
        return 1.0 - np.take(gram, self.flat)


def bump(level: float) -> np.ndarray:
    return np.exp(-0.5 * ((np.arange(LEVELS) - level) / 0.9) ** 2)


def view(latents: np.ndarray, level: float) -> np.ndarray:
    return (latents * bump(level)[None, :, None]).reshape(latents.shape[0], -1)


def write_deposit(
    folder: Path,
    n_images: int = 4916,
    n_subset: int = 2952,
    seed: int = 0,
    dtype=np.float64,
    progress: bool = True,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    need = deposit_bytes(n_images, n_subset, dtype)
    free = shutil.disk_usage(folder).free
    if need * 1.05 > free:
        sys.exit(
            f"error: {folder}: the deposit needs {need / 1e9:.1f} GB, only {free / 1e9:.1f} GB free"
        )
    rng = np.random.default_rng(seed)
    images = image_names(n_images, rng)
    subset = np.sort(rng.choice(n_images, n_subset, replace=False))
    latents = rng.standard_normal((n_images, LEVELS, FEATURES))
    make_full, make_subset = RDMMaker(n_images), RDMMaker(n_subset)
    start = time.perf_counter()
    done = 0
    for network, depth in NETWORKS.items():
        layers = [f"layer{k + 1:02d}" for k in range(depth)]
        writer = Writer(
            folder / NETWORK_FILES[network], images, "layer", layers, {"network": network}, dtype
        )
        for k in range(depth):
            writer.write(k, make_full(view(latents, (LEVELS - 1) * k / (depth - 1))))
            done += 1
        writer.close()
    for atlas, n_rois in ATLASES.items():
        rois = [f"{atlas}_roi{k + 1:02d}" for k in range(n_rois)]
        writers = {
            s: Writer(
                folder / f"{s}_{atlas}_CORR_RDMs.h5",
                images if s != "CSI4" else [images[i] for i in subset],
                "roi",
                rois,
                {"subject": s},
                dtype,
            )
            for s in SUBJECTS
        }
        mean = Writer(
            folder / f"MEAN_{atlas}_CORR_RDMs.h5", images, "roi", rois, {"subject": "MEAN"}, dtype
        )
        for r in range(n_rois):
            level = rng.uniform(0, LEVELS - 1)
            shared = 2.0 * rng.standard_normal((n_images, 24))
            total = None
            for s in SUBJECTS:
                own = np.hstack(
                    [
                        rng.uniform(0.9, 1.1) * view(latents, level),
                        shared,
                        2.2 * rng.standard_normal((n_images, NOISE)),
                    ]
                )
                if s == "CSI4":
                    writers[s].write(r, make_subset(own[subset]))
                else:
                    vector = make_full(own)
                    writers[s].write(r, vector)
                    total = vector if total is None else total + vector
                done += 1
            mean.write(r, total / 3)
            if progress:
                print(
                    f"\r{atlas} ROI {r + 1}/{n_rois}, {time.perf_counter() - start:.0f} s",
                    end="",
                    file=sys.stderr,
                )
        for writer in [*writers.values(), mean]:
            writer.close()
    study = {
        "title": "SYNTHETIC deposit-shaped study",
        "subjects": {s: {a: f"{s}_{a}_CORR_RDMs.h5" for a in ATLASES} for s in SUBJECTS},
        "group_mean": {a: f"MEAN_{a}_CORR_RDMs.h5" for a in ATLASES},
        "networks": dict(NETWORK_FILES),
        "method": "corr",
    }
    (folder / "study.yml").write_text(yaml.safe_dump(study, sort_keys=False))
    return folder / "study.yml"


if __name__ == "__main__":
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4916
    sub = int(sys.argv[3]) if len(sys.argv) > 3 else 2952
    print(write_deposit(Path(sys.argv[1]), n, sub))
