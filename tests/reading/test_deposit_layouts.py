"""RDM files as a real deposit may store them, written with h5py, read by analysis.reading.rdmfile.

Storage variants (compression, chunking, float32, the ways HDF5 holds strings, folders in image
names), and the layouts rsatoolbox 0.0.4, 0.1.5 and 0.3 write. Those three writers (in
rsatoolbox/util/file_io.py at 0.0.4, src/rsatoolbox/io/hdf5.py at 0.1.5 and 0.3) share one
scheme: `dissimilarities` a 2-D dataset, the measure a root attribute, descriptor dicts as groups
whose string lists become fixed-length byte arrays (`astype('S')`), ragged lists groups of
numbered items, strings attributes, None an empty dataset, and `rsatoolbox_version` a root
attribute ('0.0.1' in 0.0.4, the package version from 0.1 on). What differs is the version
string and which descriptors RDMs adds ('index' everywhere since 0.0.4).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from analysis.errors import AnalysisError
from analysis.reading.rdmfile import open_rdm_file
from tests.helpers import save_rdms

N_IMAGES = 40
N_PAIRS = N_IMAGES * (N_IMAGES - 1) // 2
IMAGES = [f"COCO_train2014_{i:012d}.jpg" for i in range(N_IMAGES)]
ROIS = ["LHEarlyVis", "RHEarlyVis", "LHLOC", "RHLOC", "LHPPA"]
VARIABLE = h5py.string_dtype("utf-8")


def _vectors(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 2, (len(ROIS), N_PAIRS))


def _write(
    path,
    vectors,
    images=IMAGES,
    names=ROIS,
    strings="fixed",
    version="0.3.2",
    measure="correlation",
    **dataset_options,
):
    """A file in rsatoolbox's scheme; `strings` says how descriptor lists are stored."""

    def text(values):
        if strings == "fixed":
            return np.array(values, dtype="S")  # rsatoolbox: np.array(list).astype('S')
        if strings == "variable":
            return np.array(values, dtype=object).astype(VARIABLE)
        if strings == "variable-bytes":
            return np.array([v.encode() for v in values], dtype=h5py.special_dtype(vlen=bytes))
        raise ValueError(strings)

    with h5py.File(path, "w") as file:
        file.attrs["rsatoolbox_version"] = version
        file.attrs["dissimilarity_measure"] = measure
        file.create_dataset("dissimilarities", data=vectors, **dataset_options)
        file.create_group("descriptors")
        rdm = file.create_group("rdm_descriptors")
        rdm["roi"] = text(names)
        rdm["index"] = np.arange(len(names))
        patterns = file.create_group("pattern_descriptors")
        patterns["image"] = text(images)
        patterns["index"] = np.arange(len(images))
    return path


def _check(path, vectors, images=IMAGES, dtype=np.float64, **keys):
    rdm_file = open_rdm_file(path, "roi", **keys)
    assert rdm_file.images == tuple(images)
    assert rdm_file.names == tuple(ROIS)
    assert rdm_file.measure == "correlation"
    rows = rdm_file.read([3, 0, 4])
    assert rows.dtype == np.float64
    np.testing.assert_array_equal(rows, vectors[[3, 0, 4]].astype(dtype).astype(np.float64))
    return rdm_file


@pytest.mark.parametrize(
    "options",
    [
        {"compression": "gzip", "compression_opts": 4, "chunks": (1, N_PAIRS)},
        {"compression": "gzip", "compression_opts": 9, "shuffle": True, "chunks": (2, 100)},
        {"compression": "lzf", "chunks": True},
        {"chunks": (len(ROIS), 7)},
        {"compression": "gzip", "fletcher32": True, "chunks": (1, 64)},
    ],
    ids=["gzip-row-chunks", "gzip9-shuffle-small-chunks", "lzf", "chunked", "checksummed"],
)
def test_compressed_and_chunked_dissimilarities(tmp_path, options):
    vectors = _vectors()
    _check(_write(tmp_path / "a.h5", vectors, **options), vectors)


def test_float32_values_are_read_as_their_float64_values(tmp_path):
    vectors = _vectors().astype(np.float32)
    path = _write(tmp_path / "a.h5", vectors, compression="gzip", chunks=(1, N_PAIRS))
    _check(path, vectors, dtype=np.float32)


@pytest.mark.parametrize("strings", ["fixed", "variable", "variable-bytes"])
def test_descriptor_strings_fixed_or_variable_length(tmp_path, strings):
    vectors = _vectors()
    _check(_write(tmp_path / "a.h5", vectors, strings=strings), vectors)


def test_numeric_descriptors_beside_the_names_are_not_taken_for_names(tmp_path):
    vectors = _vectors()
    path = _write(tmp_path / "a.h5", vectors)
    with h5py.File(path, "a") as file:
        file["pattern_descriptors/stimulus_id"] = np.arange(N_IMAGES) * 7 + 1000
        file["pattern_descriptors/session"] = np.repeat(np.arange(4), N_IMAGES // 4).astype(float)
        file["rdm_descriptors/n_voxels"] = np.array([812, 790, 402, 455, 301])
    rdm_file = _check(path, vectors)
    assert (rdm_file.image_key, rdm_file.name_key) == ("image", "roi")


def test_numeric_image_ids_name_images_when_the_study_says_so(tmp_path):
    vectors = _vectors()
    path = _write(tmp_path / "a.h5", vectors)
    with h5py.File(path, "a") as file:
        del file["pattern_descriptors/image"]
        file["pattern_descriptors/stimulus_id"] = np.arange(N_IMAGES) * 7 + 1000
    with pytest.raises(AnalysisError, match="no pattern_descriptors entry names each image"):
        open_rdm_file(path, "roi")
    ids = [str(i * 7 + 1000) for i in range(N_IMAGES)]
    rdm_file = _check(path, vectors, images=ids, image_key="stimulus_id")
    assert rdm_file.image_key == "stimulus_id"


@pytest.mark.parametrize("strings", ["fixed", "variable"])
def test_image_names_with_folders_are_kept_as_written(tmp_path, strings):
    folders = [
        f"{source}/{name}"
        for source, name in zip(["COCO", "ImageNet", "Scene", "COCO"] * 10, IMAGES, strict=True)
    ]
    vectors = _vectors()
    _check(_write(tmp_path / "a.h5", vectors, images=folders, strings=strings), vectors, folders)


def _rsatoolbox_writer(path, vectors, version, measure="correlation"):
    """The scheme of rsatoolbox's write_dict_hdf5 (0.0.4 to 0.3) applied to RDMs.to_dict()."""
    with h5py.File(path, "a") as file:
        file.attrs["rsatoolbox_version"] = version
        file["dissimilarities"] = vectors  # a plain ndarray: group[key] = value
        file.create_group("descriptors")  # {} -> an empty group
        rdm = file.create_group("rdm_descriptors")
        rdm["roi"] = np.array(ROIS).astype("S")  # _write_list: np.array(list), '<U' -> 'S'
        rdm["index"] = np.array(list(range(len(ROIS))))
        patterns = file.create_group("pattern_descriptors")
        patterns["image"] = np.array(IMAGES).astype("S")
        patterns["index"] = np.array(list(range(N_IMAGES)))
        if measure is None:
            file["dissimilarity_measure"] = h5py.Empty("f")  # value is None
        else:
            file.attrs["dissimilarity_measure"] = str(measure)  # a str: group.attrs[key]
    return path


@pytest.mark.parametrize("version", ["0.0.1", "0.1.5", "0.3.0"], ids=["0.0.4", "0.1.5", "0.3"])
def test_layouts_of_rsatoolbox_versions(tmp_path, version):
    vectors = _vectors()
    rdm_file = _check(_rsatoolbox_writer(tmp_path / "a.h5", vectors, version), vectors)
    assert rdm_file.rsatoolbox_version == version


def test_a_file_without_a_measure_reads_with_an_empty_one(tmp_path):
    vectors = _vectors()
    path = _rsatoolbox_writer(tmp_path / "a.h5", vectors, "0.1.5", measure=None)
    rdm_file = open_rdm_file(path, "roi")
    assert rdm_file.measure == ""
    np.testing.assert_array_equal(rdm_file.read([1]), vectors[[1]])


def test_the_installed_rsatoolbox_writes_the_same_layout(tmp_path):
    """The hand-written scheme above and rsatoolbox's own writer give the same objects."""
    vectors = _vectors()
    ours = _rsatoolbox_writer(tmp_path / "ours.h5", vectors, "x")
    theirs = save_rdms(tmp_path / "theirs.h5", vectors, IMAGES, ROIS)

    def layout(path):
        with h5py.File(path, "r") as file:
            items = {}
            file.visititems(
                lambda name, obj: items.__setitem__(
                    name, obj.dtype.kind if isinstance(obj, h5py.Dataset) else "group"
                )
            )
            return items, sorted(file.attrs)

    assert layout(ours) == layout(theirs)
