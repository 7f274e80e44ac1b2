"""The deposit-shaped demo end to end: every atlas, network and subject, group means, per-subject
image sets, and the planted answer recovered."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from analysis.deposit_demo import ATLASES, NETWORKS, SUBJECTS, write_deposit_demo
from analysis.pipeline.run import run


@pytest.fixture(scope="module")
def deposit(tmp_path_factory):
    study = write_deposit_demo(tmp_path_factory.mktemp("deposit") / "study", n_images=240, seed=2)
    out = study.parent / "results"
    run(study, out, samples=0)
    return study, out


def test_every_atlas_network_and_subject_is_in_the_tables(deposit):
    _, out = deposit
    per_subject = pd.read_csv(out / "per_subject.csv")
    expected = sum(len(rois) for rois in ATLASES.values()) * sum(
        len(layers) for _, layers in NETWORKS.values()
    )
    assert len(per_subject) == len(SUBJECTS) * expected
    assert set(per_subject["atlas"]) == set(ATLASES) and set(per_subject["subject"]) == set(
        SUBJECTS
    )
    assert len(pd.read_csv(out / "joint.csv")) == expected
    assert len(pd.read_csv(out / "group_mean.csv")) == expected
    by_group = pd.read_csv(out / "by_group.csv")
    assert (
        set(by_group["atlas"]) == set(ATLASES) and (by_group["n_subjects"] == len(SUBJECTS)).all()
    )


def test_group_means_agree_with_our_subject_average_and_are_not_subjects(deposit):
    _, out = deposit
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["order"]["subjects"] == list(SUBJECTS)
    agreement = manifest["group_mean_agreement"]
    assert set(agreement) == set(ATLASES)
    values = [r for rois in agreement.values() for r in rois.values()]
    assert (
        len(values) == sum(len(r) for r in ATLASES.values())
        and 0.5 < min(values)
        and max(values) < 1
    )
    roles = {(i["role"], i["atlas"]) for i in manifest["inputs"]}
    assert {("group_mean", atlas) for atlas in ATLASES} <= roles


def test_images_table_counts_every_file_and_source(deposit):
    _, out = deposit
    images = pd.read_csv(out / "images.csv", keep_default_na=False)  # networks have no atlas: ""
    totals = images[images["source"] == "all"]
    assert len(totals) == len(SUBJECTS) * len(ATLASES) + len(ATLASES) + len(NETWORKS)
    assert (
        totals["images_kept"] == json.loads((out / "manifest.json").read_text())["n_common_images"]
    ).all()
    by_source = images[images["source"] != "all"].groupby(["role", "name", "atlas"], dropna=False)
    summed = by_source[["images_in_file", "images_kept", "images_dropped"]].sum()
    assert (
        summed.to_numpy()
        == totals.set_index(["role", "name", "atlas"])
        .loc[summed.index][["images_in_file", "images_kept", "images_dropped"]]
        .to_numpy()
    ).all()
    assert set(images["source"]) == {"all", "COCO", "ImageNet", "Scene"}


def test_planted_peaks_are_recovered(deposit):
    study, out = deposit
    truth = json.loads((study.parent / "truth.json").read_text())["peak_layer"]
    joint = pd.read_csv(out / "joint.csv")
    hits = misses = 0
    for (atlas, roi, network), rows in joint.groupby(["atlas", "roi", "network"]):
        layers = NETWORKS[network][1]
        planted = truth[atlas][network][roi]
        if planted is None:
            assert rows["r"].abs().max() < 0.1, (atlas, roi, network)
            continue
        found = layers.index(rows.loc[rows["r"].idxmax(), "layer"])
        assert abs(found - layers.index(planted)) <= max(1, len(layers) // 8), (atlas, roi, network)
        hits += found == layers.index(planted)
        misses += found != layers.index(planted)
    assert hits > 4 * misses


def test_per_subject_alignment_keeps_each_subjects_own_images(deposit, tmp_path):
    study, out = deposit
    raw = yaml.safe_load(study.read_text())
    raw["images"]["align"] = "per-subject"
    study.write_text(yaml.safe_dump(raw, sort_keys=False))
    try:
        run(study, tmp_path / "per-subject", samples=0)
    finally:
        raw["images"]["align"] = "common"
        study.write_text(yaml.safe_dump(raw, sort_keys=False))
    per_subject = pd.read_csv(tmp_path / "per-subject" / "per_subject.csv")
    sizes = per_subject.groupby("subject")["n_images"].first()
    common = json.loads((out / "manifest.json").read_text())["n_common_images"]
    assert sizes["CSI4"] < sizes["CSI1"] and sizes.min() >= common
    # joint and by_group stay on the common images: identical to the common-alignment run
    for table in ("joint", "by_group", "group_mean"):
        assert (tmp_path / "per-subject" / f"{table}.csv").read_bytes() == (
            out / f"{table}.csv"
        ).read_bytes()
    assert not per_subject.equals(pd.read_csv(out / "per_subject.csv"))
