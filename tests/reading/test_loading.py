"""Loading a study (analysis/reading/loading.py): every file's RDMs gathered to the images common
to all files, in one order; ROI order; the subject average; what alignment dropped; refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.errors import AnalysisError, AnalysisWarning
from analysis.reading.loading import load_aligned, loss_lines, subject_images
from analysis.reading.study import load_study
from tests.helpers import save_rdms, write_study

ROIS = ["V1", "LOC", "PPA"]


def _value(image: str, name: str) -> float:
    """A position for each (image, RDM): dissimilarities are distances between positions."""
    return float(int(image[3:]) ** (1 + len(name) / 10) + 3 * len(name))


def _rdms(images: list[str], names: list[str], scale: float = 1.0) -> np.ndarray:
    """Upper-triangle vectors (np.triu_indices order over `images` as listed) of |x_i − x_j|."""
    rows, cols = np.triu_indices(len(images), 1)
    out = []
    for name in names:
        x = np.array([_value(image, name) for image in images]) * scale
        out.append(np.abs(x[rows] - x[cols]))
    return np.array(out)


def _study(folder: Path, subject_images: dict[str, list[str]], network_images: list[str], **more):
    subjects = {}
    for k, (subject, images) in enumerate(subject_images.items()):
        names = more.pop(f"names_{subject}", ROIS)
        save_rdms(folder / f"{subject}.h5", _rdms(images, names, 1 + k), images, names)
        subjects[subject] = f"{subject}.h5"
    save_rdms(
        folder / "net.h5",
        _rdms(network_images, ["conv1", "fc"]),
        network_images,
        ["conv1", "fc"],
        key="layer",
        measure=more.pop("network_measure", "correlation"),
    )
    return write_study(folder / "study.yml", subjects=subjects, networks={"net": "net.h5"}, **more)


def _images(indices) -> list[str]:
    return [f"img{i:02d}" for i in indices]


def test_every_file_is_gathered_to_the_sorted_common_images(tmp_path):
    rng = np.random.default_rng(0)
    s1 = _images(rng.permutation(12))  # all 12, shuffled
    s2 = _images(rng.permutation([i for i in range(12) if i != 3]))  # no img03
    net = _images(rng.permutation([i for i in range(12) if i != 7]))  # no img07
    aligned = load_aligned(load_study(_study(tmp_path, {"S1": s1, "S2": s2}, net)))
    common = _images(i for i in range(12) if i not in (3, 7))
    assert aligned.images == tuple(common)
    for k, subject in enumerate(("S1", "S2")):
        rdms = aligned.subjects[subject]["default"]
        assert rdms.names == tuple(ROIS)
        np.testing.assert_array_equal(rdms.dissimilarities, _rdms(common, ROIS, 1 + k))
    np.testing.assert_array_equal(
        aligned.networks["net"].dissimilarities, _rdms(common, ["conv1", "fc"])
    )
    # the subject average of each ROI, over the same pairs
    np.testing.assert_allclose(
        aligned.joint("default").dissimilarities,
        (_rdms(common, ROIS, 1) + _rdms(common, ROIS, 2)) / 2,
        rtol=1e-15,
    )


def test_what_alignment_dropped_is_counted_and_said_per_file(tmp_path):
    s1, s2 = _images(range(10)), _images(range(1, 10))
    aligned = load_aligned(load_study(_study(tmp_path, {"S1": s1, "S2": s2}, _images(range(10)))))
    dropped = {record.name: record.images_dropped for record in aligned.alignment}
    assert dropped == {"S1": 1, "S2": 0, "net": 1}
    lines = loss_lines(aligned)
    assert len(lines) == 2
    assert lines[0].startswith(f"{tmp_path / 'S1.h5'}: 1 of 10 images are not in every file")


def test_rois_follow_the_groups_then_the_file(tmp_path):
    images = _images(range(8))
    study = _study(
        tmp_path, {"S1": images, "S2": images}, images, roi_groups={"high": ["PPA"], "low": ["V1"]}
    )
    aligned = load_aligned(load_study(study))
    assert aligned.rois["default"] == ("PPA", "V1", "LOC")
    np.testing.assert_array_equal(
        aligned.subjects["S2"]["default"].row("LOC"), _rdms(images, ["LOC"], 2)[0]
    )


def test_a_roi_missing_in_one_subject_is_refused_naming_the_file(tmp_path):
    images = _images(range(8))
    study = _study(tmp_path, {"S1": images, "S2": images}, images, names_S2=["V1", "LOC"])
    with pytest.raises(AnalysisError, match="PPA missing in this subject") as error:
        load_aligned(load_study(study))
    assert error.value.source == str(tmp_path / "S2.h5")


def test_too_few_common_images_are_refused(tmp_path):
    study = _study(
        tmp_path,
        {"S1": _images(range(8)), "S2": _images(range(6, 14))},
        _images(range(14)),
        images={"allow_image_loss": True},
    )
    with pytest.raises(AnalysisError, match="only 2 image"):
        load_aligned(load_study(study))


def test_subject_images_are_those_shared_with_the_networks(tmp_path):
    study = _study(
        tmp_path,
        {"S1": _images(range(10)), "S2": _images(range(2, 10))},
        _images(range(9)),
        images={"align": "per-subject", "allow_image_loss": True},
    )
    aligned = load_aligned(load_study(study))
    assert aligned.images == tuple(_images(range(2, 9)))
    assert subject_images(aligned, "S1") == tuple(_images(range(9)))
    assert subject_images(aligned, "S2") == tuple(_images(range(2, 9)))


def test_mixed_measures_are_refused_unless_allowed_then_warned(tmp_path):
    images = _images(range(8))
    study = load_study(
        _study(tmp_path, {"S1": images, "S2": images}, images, network_measure="euclidean")
    )
    with pytest.raises(AnalysisError, match="--allow-mixed-measures"):
        load_aligned(study)
    with pytest.warns(AnalysisWarning, match="'euclidean' differs from 'correlation'"):
        load_aligned(study, allow_mixed_measures=True)
