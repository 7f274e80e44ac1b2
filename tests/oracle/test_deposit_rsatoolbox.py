"""A deposit-shaped study (atlases, a subject with fewer images, a group-mean file, a network whose
image names differ in case and extension) against rsatoolbox's eval_fixed on the same files."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import rsatoolbox

from analysis.__main__ import main
from tests.helpers import rows_where, save_rdms, write_study

N_IMAGES = 40
ATLASES = {"A": ["V1", "V2", "LO"], "B": ["x1", "x2"]}
LAYERS = ["l1", "l2", "l3"]


def _vectors(rng: np.random.Generator, n_rdm: int, n: int) -> np.ndarray:
    patterns = rng.standard_normal((n_rdm, n, 6))
    rows, cols = np.triu_indices(n, 1)
    return np.stack([np.linalg.norm(p[rows] - p[cols], axis=1) for p in patterns])


def _subset(vectors: np.ndarray, n: int, keep: np.ndarray) -> np.ndarray:
    """The RDM vectors restricted to (and ordered by) the images `keep`."""
    rows, cols = np.triu_indices(len(keep), 1)
    a, b = keep[rows], keep[cols]
    low, high = np.minimum(a, b), np.maximum(a, b)
    return vectors[:, low * (2 * n - low - 1) // 2 + (high - low - 1)]


@pytest.fixture
def deposit(tmp_path):
    """Three subjects × two atlases (S3 saw fewer images, each file orders images its own way),
    a group mean for atlas A, and a network naming 24 of the 40 images (one "source") in upper case
    with another extension."""
    rng = np.random.default_rng(7)
    images = np.array([f"img_{i:03d}.jpg" for i in range(N_IMAGES)])
    brain = {atlas: _vectors(rng, 3 * len(rois), N_IMAGES) for atlas, rois in ATLASES.items()}
    seen = {"S1": np.arange(N_IMAGES), "S2": np.arange(N_IMAGES), "S3": np.arange(N_IMAGES - 12)}
    subjects = {}
    for k, (subject, kept) in enumerate(seen.items()):
        subjects[subject] = {}
        for atlas, rois in ATLASES.items():
            order = rng.permutation(kept)
            vectors = _subset(brain[atlas][k * len(rois) : (k + 1) * len(rois)], N_IMAGES, order)
            name = f"{subject}_{atlas}.h5"
            save_rdms(tmp_path / name, vectors, list(images[order]), rois)
            subjects[subject][atlas] = name
    mean_order = rng.permutation(N_IMAGES)
    save_rdms(
        tmp_path / "MEAN_A.h5",
        _subset(_vectors(rng, 3, N_IMAGES), N_IMAGES, mean_order),
        list(images[mean_order]),
        ATLASES["A"],
    )
    net_order = rng.permutation(N_IMAGES)
    shouted = [
        name.upper().replace(".JPG", ".png") if i < 24 else name
        for i, name in zip(net_order, images[net_order], strict=True)
    ]
    save_rdms(
        tmp_path / "net.h5",
        _subset(_vectors(rng, 3, N_IMAGES), N_IMAGES, net_order),
        shouted,
        LAYERS,
        key="layer",
    )
    return tmp_path, subjects


def _study(folder, subjects, match: str | None):
    fields = dict(
        subjects=subjects,
        group_mean={"A": "MEAN_A.h5"},
        networks={"net": "net.h5"},
        roi_groups={"A": {"early": ["V1", "V2"], "late": ["LO"]}},
    )
    if match:
        fields["images"] = {"match": match, "align": "common"}
    return write_study(folder / "study.yml", **fields)


def _reference(path, keys, to_key):
    """A file loaded by rsatoolbox itself, restricted to the common images in sorted key order."""
    rdms = rsatoolbox.rdm.load_rdm(str(path))
    names = list(rdms.pattern_descriptors["image"])
    by_key = {to_key(n): n for n in names}
    rdms = rdms.subset_pattern("image", [by_key[k] for k in keys])
    order = np.argsort([to_key(n) for n in rdms.pattern_descriptors["image"]])
    rdms.reorder(order)
    return rdms


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0].casefold()


def test_atlases_and_group_mean_equal_rsatoolbox_eval_fixed(deposit, capsys):
    folder, subjects = deposit
    study = _study(folder, subjects, "stem-casefold")
    assert main(["run", str(study), "--out", str(folder / "out"), "--samples", "0"]) == 0
    out = folder / "out"
    per_subject = pd.read_csv(out / "per_subject.csv")
    joint = pd.read_csv(out / "joint.csv")
    group_mean = pd.read_csv(out / "group_mean.csv")
    keys = sorted(_stem(f"img_{i:03d}.jpg") for i in range(N_IMAGES - 12))
    assert (per_subject["n_images"] == len(keys)).all()
    network = _reference(folder / "net.h5", keys, _stem)
    models = [
        rsatoolbox.model.ModelFixed(layer, network.subset("layer", layer)) for layer in LAYERS
    ]
    for atlas, rois in ATLASES.items():
        references = {
            s: _reference(folder / files[atlas], keys, _stem) for s, files in subjects.items()
        }
        for subject, rdms in references.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = rsatoolbox.inference.eval_fixed(models, rdms, method="corr").evaluations[
                    0
                ]
            ours = rows_where(per_subject, subject=subject, atlas=atlas)
            for m, layer in enumerate(LAYERS):
                for d, roi in enumerate(rdms.rdm_descriptors["roi"]):
                    value = rows_where(ours, roi=roi, layer=layer)["r"]
                    assert len(value) == 1 and abs(value.iloc[0] - expected[m, d]) < 1e-9
        averaged = rsatoolbox.rdm.RDMs(
            np.mean([r.get_vectors() for r in references.values()], axis=0)
        )
        expected = rsatoolbox.rdm.compare(network, averaged, "corr")
        for m, layer in enumerate(LAYERS):
            for d, roi in enumerate(rois):
                value = rows_where(joint, atlas=atlas, roi=roi, layer=layer)["r"]
                assert len(value) == 1 and abs(value.iloc[0] - expected[m, d]) < 1e-9
    mean = _reference(folder / "MEAN_A.h5", keys, _stem)
    expected = rsatoolbox.rdm.compare(network, mean, "corr")
    for m, layer in enumerate(LAYERS):
        for d, roi in enumerate(mean.rdm_descriptors["roi"]):
            value = rows_where(group_mean, roi=roi, layer=layer)["r"]
            assert len(value) == 1 and abs(value.iloc[0] - expected[m, d]) < 1e-9
    assert set(group_mean["atlas"]) == {"A"}


def test_exact_matching_drops_the_renamed_network_images_loudly(deposit, capsys):
    folder, subjects = deposit
    study = _study(folder, subjects, None)
    code = main(["run", str(study), "--out", str(folder / "out"), "--samples", "0"])
    err = capsys.readouterr().err
    assert code == 2 and not (folder / "out").exists()
    assert err.count("\n") == 1 and "S1_A.h5: 36 of 40 images" in err and "more than half" in err
    assert "would match under images.match: stem-casefold" in err


def test_exact_matching_with_consent_warns_per_file(deposit, capsys, tmp_path):
    folder, subjects = deposit
    names = [f"img_{i:03d}.jpg" for i in range(N_IMAGES)]
    rng = np.random.default_rng(3)
    save_rdms(
        folder / "net.h5",
        _vectors(rng, 3, N_IMAGES),
        [n.upper() for n in names[:5]] + names[5:],
        LAYERS,
        key="layer",
    )
    study = _study(folder, subjects, "exact")
    assert main(["run", str(study), "--out", str(folder / "out"), "--samples", "0"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert (
        len(lines) == 8
    )  # every file loses images: S1, S2, S3 in both atlases, MEAN_A and the network
    assert any(
        "net.h5: 17 of 40 images" in line and "5 of them would match" in line for line in lines
    )
    assert any(
        "S3_A.h5: 5 of 28 images" in line and "5 of them would match" in line for line in lines
    )
    images = pd.read_csv(folder / "out" / "images.csv")
    row = images.query("name == 'net' and source == 'all'").iloc[0]
    assert (row.images_in_file, row.images_kept, row.images_dropped) == (40, 23, 17)
