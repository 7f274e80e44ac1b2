"""The aligned store: the same vectors as in memory, written once, read in ranges, disk checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.demo import write_demo
from analysis.errors import AnalysisError
from analysis.pipeline.cache import HashCache
from analysis.pipeline.manifest import input_id
from analysis.pipeline.run import input_hashes
from analysis.reading import store as rdm_store
from analysis.reading.loading import load_aligned
from analysis.reading.study import load_study


def _stored_study(tmp_path: Path, n_images: int = 40):
    study = load_study(write_demo(tmp_path / "study", n_images=n_images, seed=2))
    inputs = input_hashes(study, HashCache(tmp_path / "hashes.json"))
    digests = {
        str(path.resolve()): inputs[input_id(role, name, atlas)]["sha256"]
        for role, name, atlas, path in study.files()
    }
    return study, rdm_store.AlignedStore(tmp_path / "store", digests)


def test_stored_vectors_equal_the_in_memory_ones_and_are_reused(tmp_path: Path) -> None:
    study, store = _stored_study(tmp_path)
    in_memory = load_aligned(study)
    with rdm_store.storing(store):
        on_disk = load_aligned(study)
    assert rdm_store.aligned_on_disk(on_disk) and not rdm_store.aligned_on_disk(in_memory)
    for subject, atlases in in_memory.subjects.items():
        ((atlas, rdms),) = atlases.items()
        stored = on_disk.subjects[subject][atlas].dissimilarities
        assert isinstance(stored, rdm_store.StoredMatrix)
        assert np.array_equal(np.asarray(stored), rdms.dissimilarities)
        row = stored[1]
        assert np.array_equal(row.read(5, 17), rdms.dissimilarities[1][5:17])
    written = store.written_bytes
    assert written > 0
    again = rdm_store.AlignedStore(store.folder, store.sha256)
    with rdm_store.storing(again):
        load_aligned(study)
    assert again.written_bytes == 0 and again.reused_bytes >= written


def test_files_already_in_canonical_order_are_read_in_place(tmp_path: Path) -> None:
    path = tmp_path / "aligned.h5"
    import rsatoolbox

    images = [f"img{i:02d}" for i in range(12)]
    vectors = np.random.default_rng(0).random((2, 66))
    rsatoolbox.rdm.RDMs(
        vectors, rdm_descriptors={"roi": ["a", "b"]}, pattern_descriptors={"image": images}
    ).save(str(path), file_type="hdf5")
    offsets = rdm_store.contiguous_rows(path)
    assert offsets is not None
    rows = [rdm_store.StoredRow(str(path), offset, 66) for offset in offsets]
    assert np.array_equal(np.stack([np.asarray(r) for r in rows]), vectors)


def test_too_little_disk_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study, store = _stored_study(tmp_path)
    monkeypatch.setattr(
        rdm_store.shutil, "disk_usage", lambda _folder: type("Usage", (), {"free": 1000})()
    )
    with pytest.raises(
        AnalysisError, match=r"aligned RDM store needs .* GB and only 0\.0 GB are free"
    ):
        with rdm_store.storing(store):
            load_aligned(study)
    assert not any(store.folder.glob("*.npy"))


def test_a_truncated_store_file_is_named(tmp_path: Path) -> None:
    vector = np.arange(10.0)
    row = rdm_store.write_vector(tmp_path / "row.npy", vector)
    assert np.array_equal(np.asarray(row), vector)
    with open(row.path, "r+b") as handle:
        handle.truncate(row.offset + 16)
    with pytest.raises(AnalysisError, match="truncated"):
        row.read()


def test_a_study_in_canonical_order_is_not_copied(tmp_path: Path) -> None:
    import rsatoolbox
    import yaml

    rng = np.random.default_rng(1)
    images = [f"img{i:02d}" for i in range(14)]
    files = {
        "S1": ("roi", ["V1", "V2"]),
        "S2": ("roi", ["V1", "V2"]),
        "net": ("layer", ["l1", "l2", "l3"]),
    }
    for name, (key, names) in files.items():
        rsatoolbox.rdm.RDMs(
            rng.random((len(names), 91)),
            rdm_descriptors={key: names},
            pattern_descriptors={"image": images},
        ).save(str(tmp_path / f"{name}.h5"), file_type="hdf5")
    (tmp_path / "study.yml").write_text(
        yaml.safe_dump({"subjects": {"S1": "S1.h5", "S2": "S2.h5"}, "networks": {"net": "net.h5"}})
    )
    study = load_study(tmp_path / "study.yml")
    digests = {str((tmp_path / f"{n}.h5").resolve()): n for n in files}
    store = rdm_store.AlignedStore(tmp_path / "store", digests)
    with rdm_store.storing(store):
        on_disk = load_aligned(study)
    assert store.written_bytes == 0 and not any(store.folder.glob("*.npy"))
    assert len(list(store.folder.glob("*.ref"))) == 7
    assert np.array_equal(
        np.asarray(on_disk.networks["net"].dissimilarities),
        load_aligned(study).networks["net"].dissimilarities,
    )


def test_rows_checked_finite_while_hashed_are_not_read_again(tmp_path: Path, monkeypatch) -> None:
    import rsatoolbox

    images = [f"img{i:02d}" for i in range(12)]
    vectors = np.random.default_rng(1).random((3, 66))
    good, bad = tmp_path / "good.h5", tmp_path / "bad.h5"
    for path, values in ((good, vectors), (bad, np.where(np.arange(66) == 5, np.nan, vectors))):
        rsatoolbox.rdm.RDMs(
            values, rdm_descriptors={"roi": ["a", "b", "c"]}, pattern_descriptors={"image": images}
        ).save(str(path), file_type="hdf5")
    hashes = HashCache(tmp_path / "hashes.json")
    digests = {str(p.resolve()): hashes.sha256(p) for p in (good, bad)}
    finite = hashes.finite_files([good, bad])
    assert finite == {str(good.resolve())}, "the NaN file is not vouched for"
    store = rdm_store.AlignedStore(tmp_path / "store", digests, finite)
    from analysis.reading.rdmfile import RDMFile, open_rdm_file

    def no_read(self, rows):
        raise AssertionError("read again")

    monkeypatch.setattr(RDMFile, "read", no_read)
    stored = store.vectors(open_rdm_file(good, "roi"), [0, 1, 2], None, 66)
    assert np.array_equal(np.asarray(stored), vectors)
    monkeypatch.undo()
    with pytest.raises(AnalysisError, match="NaN or inf"):
        store.vectors(open_rdm_file(bad, "roi"), [0, 1, 2], None, 66)
