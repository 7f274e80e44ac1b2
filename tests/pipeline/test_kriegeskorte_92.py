"""Real data this project was not built for: Kriegeskorte et al.'s (2008) 92 images, human IT RDMs
of 4 subjects and 8 model RDMs as one unordered set of models (tools/kriegeskorte_92.py). Runs
only where the reference copy exists; the product never reads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rsatoolbox
import yaml

ROOT = Path(__file__).resolve().parents[2]
#: Where the reference copy may be: $RSA_92IMAGES, or ../shared beside a clone or a worktree.
CANDIDATES = [
    Path(os.environ.get("RSA_92IMAGES", "/nonexistent")),
    *(up / "shared" / "reference" / "92images" for up in (ROOT.parent, ROOT.parent.parent)),
]
SOURCE = next((c for c in CANDIDATES if (c / "92_brainRDMs.mat").is_file()), CANDIDATES[0])

pytestmark = pytest.mark.skipif(
    not (SOURCE / "92_brainRDMs.mat").is_file(), reason="92-image reference data not here"
)


def _run(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("k92")
    _run("tools/kriegeskorte_92.py", str(SOURCE), str(folder))
    return folder / "study.yml"


def test_models_against_four_subjects_equal_rsatoolbox(study, tmp_path):
    out = tmp_path / "out"
    _run("-m", "analysis", "run", str(study), "--out", str(out), "--samples", "50")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["order"]["ordered"] == {"Models": False}
    assert manifest["bootstrap"]["kind"] == "dual" and manifest["n_common_images"] == 92
    inference = pd.read_csv(out / "inference.csv")
    assert len(inference) == 8 and len(pd.read_csv(out / "noise_ceiling.csv")) == 1
    subjects = rsatoolbox.rdm.load_rdm(str(study.parent / "hIT_BE.h5"), file_type="hdf5")
    for name in ("KO", "SN", "TI"):
        subjects.append(rsatoolbox.rdm.load_rdm(str(study.parent / f"hIT_{name}.h5"), "hdf5"))
    models = rsatoolbox.rdm.load_rdm(str(study.parent / "models.h5"), file_type="hdf5")
    expected = rsatoolbox.rdm.compare(models, subjects, "corr").mean(axis=1)
    np.testing.assert_allclose(inference["r"], expected, atol=1e-12, rtol=0)
    assert inference.loc[inference["r"].idxmax(), "layer"] == "animacy"


def test_one_subject_of_the_92_images(study, tmp_path):
    fields = yaml.safe_load(study.read_text(encoding="utf-8"))
    fields["subjects"] = {"BE": fields["subjects"]["BE"]}
    one = study.parent / "one.yml"
    one.write_text(yaml.safe_dump(fields, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    _run("-m", "analysis", "run", str(one), "--out", str(out), "--samples", "50")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["bootstrap"]["generalises_over"] == ["images"]
    assert pd.read_csv(out / "noise_ceiling.csv").empty
