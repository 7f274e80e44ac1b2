"""End to end: study file → results folder, checked against rsatoolbox on the same files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rsatoolbox
import yaml

from analysis.__main__ import main
from analysis.schema import METHODS
from tests.helpers import rows_where, save_rdms, write_study


def _run(study, out, *extra) -> int:
    return main(["run", str(study), "--out", str(out), "--samples", "0", *extra])


def _reference_rdms(path, common):
    """Load a file with rsatoolbox itself and put it on the common images, sorted by name."""
    rdms = rsatoolbox.rdm.load_rdm(str(path))
    rdms = rdms.subset_pattern("image", list(common))
    rdms.reorder(np.argsort(rdms.pattern_descriptors["image"]))
    return rdms


def _set_method(study_path, method):
    study = yaml.safe_load(study_path.read_text())
    study["method"] = method
    study_path.write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True))


@pytest.mark.parametrize("method", METHODS)
def test_per_subject_and_joint_equal_rsatoolbox_eval_fixed(demo, tmp_path, method):
    study_path = demo / "study.yml"
    _set_method(study_path, method)
    assert _run(study_path, tmp_path / "out") == 0
    per_subject = pd.read_csv(tmp_path / "out" / "per_subject.csv")
    joint = pd.read_csv(tmp_path / "out" / "joint.csv")
    study = yaml.safe_load(study_path.read_text())
    files = [demo / f for f in [*study["subjects"].values(), *study["networks"].values()]]
    common = sorted(
        set.intersection(
            *(set(rsatoolbox.rdm.load_rdm(str(f)).pattern_descriptors["image"]) for f in files)
        )
    )
    network = _reference_rdms(demo / study["networks"]["ResNet-50"], common)
    models = [
        rsatoolbox.model.ModelFixed(layer, network.subset("layer", layer))
        for layer in network.rdm_descriptors["layer"]
    ]
    subjects = {s: _reference_rdms(demo / f, common) for s, f in study["subjects"].items()}
    for subject, rdms in subjects.items():
        result = rsatoolbox.inference.eval_fixed(models, rdms, method=method)
        for m, layer in enumerate(network.rdm_descriptors["layer"]):
            for d, roi in enumerate(rdms.rdm_descriptors["roi"]):
                ours = rows_where(per_subject, subject=subject, roi=roi, layer=layer)["r"]
                assert len(ours) == 1
                assert abs(ours.iloc[0] - result.evaluations[0, m, d]) < 1e-9
    averaged = np.mean([r.get_vectors() for r in subjects.values()], axis=0)
    rois = list(subjects["CSI1"].rdm_descriptors["roi"])
    expected = rsatoolbox.rdm.compare(network, rsatoolbox.rdm.RDMs(averaged), method)
    for m, layer in enumerate(network.rdm_descriptors["layer"]):
        for d, roi in enumerate(rois):
            ours = rows_where(joint, roi=roi, layer=layer)["r"].iloc[0]
            assert abs(ours - expected[m, d]) < 1e-9


def test_tables_have_stable_columns_and_full_grid(demo, tmp_path):
    assert _run(demo / "study.yml", tmp_path / "out") == 0
    out = tmp_path / "out"
    per_subject = pd.read_csv(out / "per_subject.csv")
    assert list(per_subject.columns) == [
        "subject",
        "atlas",
        "roi",
        "network",
        "layer",
        "method",
        "n_images",
        "r",
    ]
    assert len(per_subject) == 3 * 10 * 5
    assert list(pd.read_csv(out / "joint.csv").columns) == [
        "atlas",
        "roi",
        "network",
        "layer",
        "method",
        "r",
    ]
    by_group = pd.read_csv(out / "by_group.csv")
    assert list(by_group.columns) == [
        "atlas",
        "group",
        "network",
        "layer",
        "method",
        "mean",
        "sem",
        "n_subjects",
    ]
    assert by_group["group"].unique().tolist() == ["Early visual", "Mid-level", "High-level"]
    assert (by_group["n_subjects"] == 3).all()


def test_by_group_is_mean_and_sem_of_subject_means(demo, tmp_path):
    assert _run(demo / "study.yml", tmp_path / "out") == 0
    per_subject = pd.read_csv(tmp_path / "out" / "per_subject.csv")
    by_group = pd.read_csv(tmp_path / "out" / "by_group.csv")
    mid = ["LHLOC", "RHLOC", "LHOPA", "RHOPA"]
    subject_means = (
        per_subject[per_subject.roi.isin(mid) & (per_subject.layer == "layer3")]
        .groupby("subject")["r"]
        .mean()
        .to_numpy()
    )
    row = by_group.query("group == 'Mid-level' and layer == 'layer3'").iloc[0]
    assert row["mean"] == pytest.approx(subject_means.mean(), abs=1e-12)
    assert row["sem"] == pytest.approx(subject_means.std(ddof=1) / np.sqrt(3), abs=1e-12)


def test_analysis_recovers_the_planted_peaks(demo, tmp_path):
    assert _run(demo / "study.yml", tmp_path / "out") == 0
    truth = json.loads((demo / "truth.json").read_text())["peak_layer"]
    joint = pd.read_csv(tmp_path / "out" / "joint.csv")
    for roi, layer in truth.items():
        rows = joint[joint.roi == roi]
        if layer is None:
            assert rows["r"].abs().max() < 0.05, roi
        else:
            assert rows.loc[rows["r"].idxmax(), "layer"] == layer, roi
            assert rows["r"].max() > 0.1, roi


def test_manifest_records_inputs_alignment_and_versions(demo, tmp_path):
    assert _run(demo / "study.yml", tmp_path / "out") == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["synthetic"] is True
    assert "SYNTHETIC" in manifest["title"]
    assert manifest["order"]["layers"] == {
        "ResNet-50": ["conv1", "layer1", "layer2", "layer3", "layer4"]
    }
    assert manifest["order"]["rois"]["default"][:2] == ["LHEarlyVis", "RHEarlyVis"]
    assert manifest["order"]["atlases"] == ["default"]
    inputs = {i["name"]: i for i in manifest["inputs"]}
    assert set(inputs) == {"CSI1", "CSI2", "CSI3", "ResNet-50"}
    assert inputs["ResNet-50"]["images_in_file"] == 60
    assert inputs["ResNet-50"]["descriptor"] == "layer"
    assert inputs["CSI1"]["descriptor"] == "roi"
    for record in inputs.values():
        assert record["images_kept"] == manifest["n_common_images"]
        assert record["images_dropped"] == record["images_in_file"] - record["images_kept"]
        assert len(record["sha256"]) == 64 and record["size"] > 0
    assert manifest["n_common_images"] < 60
    assert {"python", "numpy", "rsatoolbox", "project"} <= set(manifest["versions"])
    assert manifest["parameters"] == {"method": "corr", "samples": 0, "seed": 0}
    assert manifest["command"].startswith("python -m analysis run")


def _rewrite(path, transform):
    """Rewrite an RDM file after `transform(matrices, images) -> (matrices, images)`."""
    rdms = rsatoolbox.rdm.load_rdm(str(path))
    key = [k for k in rdms.rdm_descriptors if k != "index"][0]
    matrices, images = transform(rdms.get_matrices(), list(rdms.pattern_descriptors["image"]))
    vectors = np.stack([m[np.triu_indices(len(images), 1)] for m in matrices])
    save_rdms(
        path,
        vectors,
        images,
        list(rdms.rdm_descriptors[key]),
        key=key,
        measure=rdms.dissimilarity_measure,
    )


def test_image_order_and_extra_images_change_only_alignment_counts(demo, tmp_path):
    assert _run(demo / "study.yml", tmp_path / "before") == 0
    rng = np.random.default_rng(0)

    def shuffle(matrices, images):
        order = rng.permutation(len(images))
        return matrices[:, order][:, :, order], [images[i] for i in order]

    _rewrite(demo / "CSI2_BOLD5000_CORR_RDMs.h5", shuffle)
    _rewrite(demo / "ResNet50_CORR_RDMs.h5", shuffle)
    common = set(
        rsatoolbox.rdm.load_rdm(str(demo / "CSI1_BOLD5000_CORR_RDMs.h5")).pattern_descriptors[
            "image"
        ]
    )
    network_images = rsatoolbox.rdm.load_rdm(
        str(demo / "ResNet50_CORR_RDMs.h5")
    ).pattern_descriptors["image"]
    outside = [i for i, name in enumerate(network_images) if name not in common]
    assert outside, "the demo drops images from each subject"

    def drop_outside(matrices, images):
        keep = [i for i in range(len(images)) if i != outside[0]]
        return matrices[:, keep][:, :, keep], [images[i] for i in keep]

    _rewrite(demo / "ResNet50_CORR_RDMs.h5", drop_outside)
    assert _run(demo / "study.yml", tmp_path / "after") == 0
    for table in ("per_subject", "joint", "by_group"):
        before = (tmp_path / "before" / f"{table}.csv").read_bytes()
        after = (tmp_path / "after" / f"{table}.csv").read_bytes()
        assert before == after, table
    counts = {
        i["name"]: i["images_in_file"]
        for i in json.loads((tmp_path / "after" / "manifest.json").read_text())["inputs"]
    }
    assert counts["ResNet-50"] == 59


def test_other_names_and_descriptor_keys_load_and_run(tmp_path):
    rng = np.random.default_rng(5)
    images = [f"stimulus_{i:03d}.png" for i in range(30)]
    n_pairs = 30 * 29 // 2
    layers = ["stem", "block_a", "block_b"]
    regions = ["V1", "hV4", "FFA", "PPA"]
    save_rdms(
        tmp_path / "net.h5",
        rng.random((3, n_pairs)),
        images,
        layers,
        key="layer_name",
        extra_rdm_descriptors={"model": ["AlexNet"] * 3},
    )
    for subject in ("s01", "s02"):
        order = rng.permutation(30)
        save_rdms(
            tmp_path / f"{subject}.h5",
            rng.random((4, n_pairs)),
            [images[i] for i in order],
            regions,
            key="region",
            image_key="stimulus",
        )
    study = write_study(
        tmp_path / "study.yml",
        title="Other names",
        subjects={"s01": "s01.h5", "s02": "s02.h5"},
        networks={"AlexNet": "net.h5"},
        roi_groups={"Low": ["V1", "hV4"], "High": ["FFA", "PPA"]},
    )
    assert _run(study, tmp_path / "out") == 0
    per_subject = pd.read_csv(tmp_path / "out" / "per_subject.csv")
    assert per_subject["layer"].unique().tolist() == layers
    assert per_subject["roi"].unique().tolist() == regions
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {i["name"]: i["descriptor"] for i in manifest["inputs"]} == {
        "s01": "region",
        "s02": "region",
        "AlexNet": "layer_name",
    }
    assert manifest["synthetic"] is False
