"""Inference inside `python -m analysis run`: planted answer, caching, determinism, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.__main__ import main
from analysis.demo import write_demo
from analysis.pipeline.run import run
from analysis.schema import INFERENCE, TABLES, columns, stage_tables

ROOT = Path(__file__).resolve().parents[2]
INFERENCE_TABLES = tuple(TABLES[name].file for name in stage_tables(INFERENCE))


@pytest.fixture(scope="module")
def demo_200(tmp_path_factory) -> Path:
    return write_demo(tmp_path_factory.mktemp("demo200") / "demo", n_images=200, seed=4)


@pytest.fixture(scope="module")
def inferred(demo_200, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("inferred") / "out"
    run(demo_200, out, samples=200, seed=7)
    return out


@pytest.fixture(scope="module")
def default_demo(tmp_path_factory) -> Path:
    """The demo exactly as `make report` builds and analyses it (800 images, 1000 samples)."""
    study = write_demo(tmp_path_factory.mktemp("default") / "demo")
    run(study, study.parent / "results")
    return study


def test_inference_tables_and_manifest(inferred):
    inference = pd.read_csv(inferred / "inference.csv")
    assert set(INFERENCE_TABLES) >= {
        "inference.csv",
        "noise_ceiling.csv",
        "pairwise.csv",
        "peak_layer.csv",
        "network_comparison.csv",
    }
    for file in INFERENCE_TABLES:
        assert list(pd.read_csv(inferred / file).columns) == columns(file.removesuffix(".csv")), (
            file
        )
    assert len(inference) == 50 and len(pd.read_csv(inferred / "pairwise.csv")) == 10 * 10
    assert len(pd.read_csv(inferred / "peak_layer.csv")) == 50
    assert pd.read_csv(inferred / "network_comparison.csv").empty, "one network: nothing to compare"
    joint_mean = (
        pd.read_csv(inferred / "per_subject.csv").groupby(["roi", "layer"], sort=False)["r"].mean()
    )
    merged = inference.set_index(["roi", "layer"])["r"]
    assert (merged - joint_mean.loc[merged.index]).abs().max() < 1e-12, (
        "r is the mean over subjects"
    )
    manifest = json.loads((inferred / "manifest.json").read_text())
    assert manifest["parameters"] == {"method": "corr", "samples": 200, "seed": 7}
    assert manifest["bootstrap"]["samples"] == 200 and manifest["bootstrap"]["seed"] == 7
    assert (
        manifest["bootstrap"]["valid_samples"]
        + manifest["bootstrap"]["dropped_few_images"]
        + manifest["bootstrap"]["dropped_undefined"]
        == 200
    )


def test_planted_answer_is_significant_where_planted(default_demo):
    truth = json.loads((default_demo.parent / "truth.json").read_text())["peak_layer"]
    results = default_demo.parent / "results"
    assert json.loads((results / "manifest.json").read_text())["parameters"]["samples"] == 1000
    inference = pd.read_csv(results / "inference.csv")
    pairwise = pd.read_csv(results / "pairwise.csv")
    shares = pd.read_csv(results / "peak_layer.csv").set_index(["roi", "layer"])["share"]
    assert ((inference.ci_low > 0) | (inference.ci_high < 0)).eq(inference.significant_zero).all()
    for roi, layer in truth.items():
        rows = inference[inference.roi == roi].set_index("layer")
        if layer is None:
            assert not rows["significant_zero"].any(), roi
            assert not pairwise[pairwise.roi == roi]["significant"].any(), roi
            continue
        assert rows["r"].idxmax() == layer, roi
        assert rows.loc[layer, "significant_zero"], roi
        assert rows.loc[layer, "ci_low"] > 0, roi
        assert shares[(roi, layer)] > 0.9, (
            f"{roi}: {layer} should be the best layer in almost every sample"
        )
        against = pairwise[
            (pairwise.roi == roi) & ((pairwise.layer_a == layer) | (pairwise.layer_b == layer))
        ]
        assert against["significant"].all(), f"{roi}: {layer} should differ from every other layer"


def test_changing_samples_recomputes_only_inference(demo_200, inferred, tmp_path):
    out = tmp_path / "out"
    first = run(demo_200, out, samples=60, seed=1)
    assert first.computed == ("point", "inference")
    point_before = (out / "per_subject.csv").read_bytes()
    inference_before = (out / "inference.csv").read_bytes()
    assert run(demo_200, out, samples=60, seed=1).computed == ()
    second = run(demo_200, out, samples=60, seed=2)
    assert second.computed == ("inference",) and second.reused == ("point",)
    assert (out / "per_subject.csv").read_bytes() == point_before
    assert (out / "inference.csv").read_bytes() != inference_before
    assert run(demo_200, out, samples=0).computed == ()
    assert not (out / "inference.csv").exists()


DETERMINISM_SCRIPT = """
import sys
from pathlib import Path
import numpy as np
from analysis.reading.study import load_study
from analysis.reading.loading import load_aligned
from analysis.inference.tables import inference_tables
from analysis.pipeline.output import write_csv
aligned = load_aligned(load_study(sys.argv[1]))
dtype = {"float32": np.float32, "float64": np.float64}[sys.argv[3]]
tables = inference_tables(aligned, "corr", 40, 3, dtype=dtype, progress=False).tables
for name, table in tables.items():
    write_csv(table, Path(sys.argv[2]) / f"{name}.csv")
"""


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inference_is_byte_identical_whatever_the_threads(demo_200, tmp_path, dtype):
    outputs = []
    for threads in ("1", "2", "3"):
        out = tmp_path / threads
        out.mkdir()
        env = {
            **os.environ,
            "RSA_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "OMP_NUM_THREADS": threads,
        }
        subprocess.run(
            [sys.executable, "-c", DETERMINISM_SCRIPT, str(demo_200), str(out), dtype],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        outputs.append({t: (out / t).read_bytes() for t in INFERENCE_TABLES})
    assert outputs[0] == outputs[1] == outputs[2]


def test_bootstrap_with_one_subject_generalises_over_images_only(demo_200, tmp_path):
    """One subject: inference over images only (rsatoolbox's eval_bootstrap_pattern), no ceiling."""
    import json

    import pandas as pd

    study = yaml.safe_load(demo_200.read_text())
    study["subjects"] = {"CSI1": str(demo_200.parent / study["subjects"]["CSI1"])}
    study["networks"] = {k: str(demo_200.parent / v) for k, v in study["networks"].items()}
    path = tmp_path / "one.yml"
    path.write_text(yaml.safe_dump(study))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--samples", "50"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["bootstrap"]["kind"] == "pattern"
    assert manifest["bootstrap"]["generalises_over"] == ["images"]
    assert pd.read_csv(out / "noise_ceiling.csv").empty
    inference = pd.read_csv(out / "inference.csv")
    assert inference["r_normalised"].isna().all() and inference["p_ceiling"].isna().all()
    assert inference["sem"].gt(0).all() and inference["p_zero"].between(0, 1).all()


def test_two_networks_are_compared_by_their_best_layers(demo_200, tmp_path):
    """A second network of pure-noise layers: ResNet-50's
    best layer beats it where a layer is planted."""
    import numpy as np
    import rsatoolbox

    study = yaml.safe_load(demo_200.read_text())
    resnet = rsatoolbox.rdm.load_rdm(str(demo_200.parent / study["networks"]["ResNet-50"]))
    noise = np.random.default_rng(0).random((3, resnet.dissimilarities.shape[1]))
    rsatoolbox.rdm.RDMs(
        noise,
        dissimilarity_measure="correlation",
        rdm_descriptors={"layer": ["n1", "n2", "n3"]},
        pattern_descriptors={"image": list(resnet.pattern_descriptors["image"])},
    ).save(str(tmp_path / "noise.h5"), file_type="hdf5")
    study["subjects"] = {k: str(demo_200.parent / v) for k, v in study["subjects"].items()}
    study["networks"] = {
        "ResNet-50": str(demo_200.parent / study["networks"]["ResNet-50"]),
        "Noise": str(tmp_path / "noise.h5"),
    }
    path = tmp_path / "two.yml"
    path.write_text(yaml.safe_dump(study, allow_unicode=True))
    run(path, tmp_path / "out", samples=200, seed=7)
    compared = pd.read_csv(tmp_path / "out" / "network_comparison.csv")
    assert list(compared.columns) == columns("network_comparison") and len(compared) == 10
    order = json.loads((tmp_path / "out" / "manifest.json").read_text())["order"]["networks"]
    assert compared.network_a.eq(order[0]).all() and compared.network_b.eq(order[1]).all()
    resnet_minus_noise = compared.difference * (1 if order[0] == "ResNet-50" else -1)
    assert ((compared.ci_low > 0) | (compared.ci_high < 0)).eq(compared.significant).all()
    truth = json.loads((demo_200.parent / "truth.json").read_text())["peak_layer"]
    planted = compared.roi.map(truth).notna()
    assert (resnet_minus_noise[planted] > 0).all() and compared.significant[planted].any()
    shares = pd.read_csv(tmp_path / "out" / "peak_layer.csv")
    assert len(shares) == 10 * 8
    np.testing.assert_allclose(shares.groupby(["roi", "network"])["share"].sum(), 1.0)
