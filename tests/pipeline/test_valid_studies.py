"""Valid studies of shapes this project's demo never has: each runs through `python -m analysis run`
as a user would, and its tables say what the shape allows (one subject: inference over images
only and no noise ceiling; no groups: by_group header only; one layer: no layer pairs; ...)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from analysis.reading.images import source_of
from analysis.schema import TABLES, columns
from tests.study_shapes import SOURCES, Atlas, Network, Shape, image_names, write_shape_study

ROOT = Path(__file__).resolve().parents[2]


def run(study: Path, out: Path, samples: int) -> Path:
    """`python -m analysis run STUDY --out OUT --samples N` from the repository root: succeeds."""
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "run", str(study), "--out", str(out)]
        + ["--samples", str(samples)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return out


def table(out: Path, name: str) -> pd.DataFrame:
    frame = pd.read_csv(out / TABLES[name].file, keep_default_na=False, na_values=[""])
    assert list(frame.columns) == columns(name)
    return frame


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_one_subject_infers_over_images_only(tmp_path):
    study = write_shape_study(tmp_path / "s", Shape(subjects=("only",)))
    out = run(study, tmp_path / "out", samples=20)
    record = manifest(out)
    assert record["bootstrap"]["kind"] == "pattern"
    assert record["bootstrap"]["generalises_over"] == ["images"]
    assert table(out, "noise_ceiling").empty
    inference = table(out, "inference")
    assert len(inference) == 9 and inference["r_normalised"].isna().all()
    assert inference["p_ceiling"].isna().all() and not inference["significant_ceiling"].any()
    assert np.isfinite(inference[["sem", "ci_low", "ci_high", "p_zero"]].to_numpy()).all()
    by_group = table(out, "by_group")
    assert (by_group["n_subjects"] == 1).all() and by_group["sem"].isna().all()
    assert len(table(out, "pairwise")) == 9


def test_two_subjects_are_a_dual_bootstrap_with_a_ceiling(tmp_path):
    out = run(write_shape_study(tmp_path / "s", Shape()), tmp_path / "out", samples=20)
    assert manifest(out)["bootstrap"]["kind"] == "dual"
    assert len(table(out, "noise_ceiling")) == 3


def test_one_atlas_with_one_roi_and_no_groups(tmp_path):
    shape = Shape(atlases={"A": Atlas(("IT",))}, group_means=True)
    out = run(write_shape_study(tmp_path / "s", shape), tmp_path / "out", samples=20)
    assert table(out, "by_group").empty
    assert list(table(out, "inference")["roi"].unique()) == ["IT"]
    assert len(table(out, "group_mean")) == 3
    assert manifest(out)["order"]["groups"] == {"default": []}  # one atlas, plain form
    assert set(table(out, "rdm_examples")["rdm"]) == {"IT", "net: l1", "net: l3"}


def test_one_network_of_one_layer(tmp_path):
    shape = Shape(networks={"net": Network(("only",))})
    out = run(write_shape_study(tmp_path / "s", shape), tmp_path / "out", samples=20)
    assert table(out, "pairwise").empty and table(out, "network_comparison").empty
    peak = table(out, "peak_layer")
    assert len(peak) == 3 and (peak["share"] == 1.0).all()
    assert manifest(out)["order"]["layers"] == {"net": ["only"]}


def test_no_samples_writes_no_inference_tables(tmp_path):
    shape = Shape(subjects=("only",), networks={"net": Network(("only",))})
    out = run(write_shape_study(tmp_path / "s", shape), tmp_path / "out", samples=0)
    assert manifest(out)["bootstrap"] == {}
    assert not (out / TABLES["inference"].file).exists()
    assert len(table(out, "per_subject")) == 3


def test_models_that_are_not_layers_are_recorded_unordered(tmp_path):
    shape = Shape(
        networks={
            "CNN": Network(("conv", "fc")),
            "Models": Network(("animacy", "face", "silhouette"), ordered=False),
        }
    )
    out = run(write_shape_study(tmp_path / "s", shape), tmp_path / "out", samples=20)
    record = manifest(out)
    assert record["order"]["ordered"] == {"CNN": True, "Models": False}
    assert record["study"]["networks_ordered"] == {"CNN": True, "Models": False}
    assert record["study"]["networks"] == {"CNN": "network0.h5", "Models": "network1.h5"}
    assert len(table(out, "network_comparison")) == 3


def test_several_atlases_some_without_groups_and_a_rank_method(tmp_path):
    shape = Shape(
        subjects=("a", "b", "c"),
        atlases={
            "hemi": Atlas(("lV1", "rV1", "lLO"), {"V1": ["lV1", "rV1"], "LO": ["lLO"]}),
            "whole": Atlas(("IT",)),
            "other": Atlas(("x", "y")),
        },
        method="spearman",
        group_means=True,
    )
    out = run(write_shape_study(tmp_path / "s", shape), tmp_path / "out", samples=10)
    by_group = table(out, "by_group")
    assert set(by_group["atlas"]) == {"hemi"}
    assert (
        len(table(out, "noise_ceiling")) == 6
        and (table(out, "inference").method == "spearman").all()
    )


def test_stem_casefold_sources_agree_with_images_csv(tmp_path):
    """Networks spell the names in lower case without extension: sources must still be counted
    on each name as written (COCO_…), in images.csv and in rdm_examples alike."""
    shape = Shape(match="stem-casefold", network_spelling="varied", n_images=30)
    study = write_shape_study(tmp_path / "s", shape)
    out = run(study, tmp_path / "out", samples=0)
    images = table(out, "images")
    subject = images[(images.role == "subject") & (images.name == "s1")]
    kept = dict(zip(subject["source"], subject["images_kept"], strict=True))
    written = image_names(30)
    expected = pd.Series([source_of(n, SOURCES) for n in written]).value_counts().to_dict()
    assert {s: kept[s] for s in expected} == expected and expected["COCO"] == 10
    examples = table(out, "rdm_examples")
    pairs = pd.concat(
        [
            examples[["image_a", "source_a"]].set_axis(["image", "source"], axis=1),
            examples[["image_b", "source_b"]].set_axis(["image", "source"], axis=1),
        ]
    ).drop_duplicates()
    truth = {n.rsplit(".", 1)[0].casefold(): source_of(n, SOURCES) for n in written}
    assert (pairs["source"] == pairs["image"].map(truth)).all()
    assert set(pairs["source"]) == {"COCO", "ImageNet", "Scene"}


@pytest.mark.parametrize(
    "entry, problem",
    [({"file": "network0.h5", "depth": 1}, "unknown key(s) depth in networks.net")],
)
def test_a_bad_network_mapping_stops_with_one_line(tmp_path, entry, problem):
    study = write_shape_study(tmp_path / "s", Shape())
    text = study.read_text(encoding="utf-8").replace(
        "networks:\n  net: network0.h5", f"networks:\n  net: {json.dumps(entry)}"
    )
    study.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "run", str(study), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0] and str(study) in lines[0]
    assert not (tmp_path / "out").exists()


def test_generated_files_are_rsatoolbox_hdf5(tmp_path):
    study = write_shape_study(tmp_path / "s", Shape(subjects=("only",)))
    with h5py.File(study.parent / "sub0_atlas0.h5") as handle:
        assert "dissimilarities" in handle
