"""Shared fixtures: small demo studies and hand-made rsatoolbox RDM files."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rsatoolbox
import yaml

from analysis.demo import write_demo

SMALL_DEMO_IMAGES = 60


def save_rdms(path: Path, vectors: np.ndarray, images: list[str], names: list[str], key: str = "roi",
              measure: str = "correlation", image_key: str = "image",
              extra_rdm_descriptors: dict | None = None) -> Path:
    """Write RDM vectors with rsatoolbox's own writer, as the real files were written."""
    rdms = rsatoolbox.rdm.RDMs(
        dissimilarities=np.atleast_2d(vectors), dissimilarity_measure=measure,
        rdm_descriptors={key: list(names), **(extra_rdm_descriptors or {})},
        pattern_descriptors={image_key: list(images)})
    rdms.save(str(path), file_type="hdf5", overwrite=True)
    return path


def write_study(path: Path, **fields) -> Path:
    """A study file with the given top-level fields."""
    path.write_text(yaml.safe_dump(fields, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory) -> Path:
    """A small demo study, written once per test session (read-only: copy before changing)."""
    folder = tmp_path_factory.mktemp("demo") / "study"
    return write_demo(folder, n_images=SMALL_DEMO_IMAGES, seed=1).parent


@pytest.fixture
def demo(demo_master, tmp_path) -> Path:
    """A private copy of the small demo study that a test may change."""
    return Path(shutil.copytree(demo_master, tmp_path / "demo"))
