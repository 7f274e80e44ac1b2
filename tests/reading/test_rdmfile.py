"""Reading RDM files: rsatoolbox's layout, older layouts, and descriptor detection."""

from __future__ import annotations

import importlib.metadata

import h5py
import numpy as np
import pytest

from analysis.errors import AnalysisError
from analysis.reading.rdmfile import open_rdm_file
from tests.helpers import save_rdms

IMAGES = [f"img{i:02d}.jpg" for i in range(8)]
ROIS = ["V1", "V2", "LOC"]


def _vectors(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((3, 28))


def test_reads_what_rsatoolbox_writes(tmp_path):
    vectors = _vectors()
    path = save_rdms(tmp_path / "a.h5", vectors, IMAGES, ROIS)
    rdm_file = open_rdm_file(path, "roi")
    assert rdm_file.images == tuple(IMAGES) and rdm_file.names == tuple(ROIS)
    assert rdm_file.name_key == "roi" and rdm_file.image_key == "image"
    assert rdm_file.measure == "correlation"
    assert rdm_file.rsatoolbox_version == importlib.metadata.version("rsatoolbox")
    np.testing.assert_array_equal(rdm_file.read([2, 0]), vectors[[2, 0]])


def _legacy_file(path, vectors, as_attrs: bool):
    """An older-style layout: descriptor lists as attributes or as groups of numbered items,
    byte-string measure, float32 vectors, no version attribute."""
    with h5py.File(path, "w") as file:
        file["dissimilarities"] = vectors.astype(np.float32)
        file.attrs["dissimilarity_measure"] = np.bytes_(b"correlation")
        file.create_group("descriptors")
        rdm_desc = file.create_group("rdm_descriptors")
        patterns = file.create_group("pattern_descriptors")
        patterns["index"] = np.arange(len(IMAGES))
        rdm_desc["index"] = np.arange(len(ROIS))
        if as_attrs:
            rdm_desc.attrs["roi"] = np.array(ROIS, dtype="S")
            patterns.attrs["image"] = np.array(IMAGES, dtype="S")
        else:
            names = rdm_desc.create_group("roi")
            for i, roi in enumerate(ROIS):
                names[str(i)] = roi
            images = patterns.create_group("image")
            for i, image in enumerate(IMAGES):
                images[str(i)] = image
    return path


@pytest.mark.parametrize("as_attrs", [True, False])
def test_reads_older_layouts(tmp_path, as_attrs):
    vectors = _vectors()
    rdm_file = open_rdm_file(_legacy_file(tmp_path / "old.h5", vectors, as_attrs), "roi")
    assert rdm_file.names == tuple(ROIS) and rdm_file.images == tuple(IMAGES)
    assert rdm_file.measure == "correlation"
    np.testing.assert_allclose(rdm_file.read([1])[0], vectors[1].astype(np.float32))


def test_configured_key_wins_and_unknown_key_is_named(tmp_path):
    path = save_rdms(
        tmp_path / "a.h5",
        _vectors(),
        IMAGES,
        ROIS,
        key="roi",
        extra_rdm_descriptors={"hemisphere_roi": ["l" + r for r in ROIS]},
    )
    assert open_rdm_file(path, "roi", name_key="hemisphere_roi").names[0] == "lV1"
    with pytest.raises(AnalysisError, match="no rdm_descriptors/area"):
        open_rdm_file(path, "roi", name_key="area")


def test_non_unique_descriptor_is_not_a_name(tmp_path):
    path = save_rdms(
        tmp_path / "a.h5",
        _vectors(),
        IMAGES,
        ROIS,
        key="roi",
        extra_rdm_descriptors={"subject": ["CSI1"] * 3},
    )
    assert open_rdm_file(path, "roi").name_key == "roi"
