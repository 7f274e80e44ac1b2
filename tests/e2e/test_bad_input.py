"""Bad input: one line naming the file and the problem, exit code ≠ 0, no results folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.__main__ import main
from analysis.errors import AnalysisWarning
from analysis.reading.loading import load_aligned
from analysis.reading.study import load_study
from tests.helpers import save_rdms

CSI2 = "CSI2_BOLD5000_CORR_RDMs.h5"
NETWORK = "ResNet50_CORR_RDMs.h5"


def _fails(study: Path, out: Path, capsys, *names: str, extra: tuple[str, ...] = ()) -> str:
    """Run the analysis, expect failure; returns the single error line."""
    code = main(["run", str(study), "--out", str(out), "--samples", "0", *extra])
    lines = capsys.readouterr().err.strip().splitlines()
    err = [
        line for line in lines if not line.startswith("warning: ")
    ]  # image losses are reported first
    assert code == 2
    assert len(err) == 1, lines
    assert err[0].startswith("error: ")
    for name in names:
        assert name in err[0], err[0]
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.partial-*"))
    return err[0]


def _edit_h5(path: Path, edit) -> None:
    with h5py.File(path, "r+") as file:
        edit(file)


def _edit_study(demo: Path, edit) -> Path:
    path = demo / "study.yml"
    study = yaml.safe_load(path.read_text())
    edit(study)
    path.write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True))
    return path


def test_missing_file(demo, tmp_path, capsys):
    (demo / CSI2).unlink()
    _fails(demo / "study.yml", tmp_path / "out", capsys, CSI2, "file not found")


def test_missing_study_file(tmp_path, capsys):
    _fails(tmp_path / "nope.yml", tmp_path / "out", capsys, "nope.yml", "not found")


def test_not_hdf5(demo, tmp_path, capsys):
    (demo / CSI2).write_text("subject,roi\n")
    _fails(demo / "study.yml", tmp_path / "out", capsys, CSI2, "not an HDF5 file")


def test_truncated_hdf5(demo, tmp_path, capsys):
    data = (demo / CSI2).read_bytes()
    (demo / CSI2).write_bytes(data[: len(data) // 2])
    _fails(demo / "study.yml", tmp_path / "out", capsys, CSI2, "truncated")


def test_hdf5_without_dissimilarities(demo, tmp_path, capsys):
    _edit_h5(demo / CSI2, lambda f: f.__delitem__("dissimilarities"))
    _fails(demo / "study.yml", tmp_path / "out", capsys, CSI2, "dissimilarities")


def test_wrong_vector_length(demo, tmp_path, capsys):
    def shorten(file):
        vectors = file["dissimilarities"][()]
        del file["dissimilarities"]
        file["dissimilarities"] = vectors[:, :-3]

    _edit_h5(demo / CSI2, shorten)
    _fails(demo / "study.yml", tmp_path / "out", capsys, CSI2, "wrong vector length")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf(demo, tmp_path, capsys, bad):
    def spoil(file):
        file["dissimilarities"][3, 7] = bad

    _edit_h5(demo / CSI2, spoil)
    _fails(demo / "study.yml", tmp_path / "out", capsys, CSI2, "NaN or inf", "RHLOC")


def test_duplicate_image_names(demo, tmp_path, capsys):
    def duplicate(file):
        images = file["pattern_descriptors/image"][()]
        images[1] = images[0]
        del file["pattern_descriptors/image"]
        file["pattern_descriptors/image"] = images

    _edit_h5(demo / CSI2, duplicate)
    _fails(demo / "study.yml", tmp_path / "out", capsys, CSI2, "duplicate image names")


def test_different_measures_are_refused_unless_allowed(demo, tmp_path, capsys):
    _edit_h5(demo / NETWORK, lambda f: f.attrs.__setitem__("dissimilarity_measure", "euclidean"))
    _fails(
        demo / "study.yml", tmp_path / "out", capsys, NETWORK, "euclidean", "--allow-mixed-measures"
    )
    code = main(
        [
            "run",
            str(demo / "study.yml"),
            "--out",
            str(tmp_path / "out"),
            "--samples",
            "0",
            "--allow-mixed-measures",
        ]
    )
    assert code == 0
    assert (tmp_path / "out" / "per_subject.csv").exists()
    # the command line shows the library's AnalysisWarning as one line naming the file
    warned = [line for line in capsys.readouterr().err.splitlines() if "euclidean" in line]
    assert len(warned) == 1 and warned[0].startswith(f"warning: {demo / NETWORK}: "), warned
    with pytest.warns(AnalysisWarning, match="euclidean"):
        load_aligned(load_study(demo / "study.yml"), allow_mixed_measures=True)


def test_no_common_image(demo, tmp_path, capsys):
    def rename(file):
        images = file["pattern_descriptors/image"][()]
        del file["pattern_descriptors/image"]
        file["pattern_descriptors/image"] = np.array([b"other_" + i for i in images])

    _edit_h5(demo / NETWORK, rename)
    _fails(demo / "study.yml", tmp_path / "out", capsys, "study.yml", "common to all files")


def test_constant_rdm(demo, tmp_path, capsys):
    def flatten(file):
        file["dissimilarities"][2, :] = 0.5

    _edit_h5(demo / CSI2, flatten)
    _fails(demo / "study.yml", tmp_path / "out", capsys, CSI2, "LHLOC", "constant")


def test_roi_group_names_unknown_roi(demo, tmp_path, capsys):
    study = _edit_study(demo, lambda s: s["roi_groups"]["Mid-level"].append("LHFFA"))
    _fails(study, tmp_path / "out", capsys, "study.yml", "LHFFA")


def test_roi_missing_in_one_subject(demo, tmp_path, capsys):
    def drop_roi(file):
        vectors = file["dissimilarities"][()]
        names = file["rdm_descriptors/roi"][()]
        index = file["rdm_descriptors/index"][()]
        for key in ("dissimilarities", "rdm_descriptors/roi", "rdm_descriptors/index"):
            del file[key]
        file["dissimilarities"] = vectors[:-1]
        file["rdm_descriptors/roi"] = names[:-1]
        file["rdm_descriptors/index"] = index[:-1]

    _edit_h5(demo / CSI2, drop_roi)
    _fails(demo / "study.yml", tmp_path / "out", capsys, CSI2, "RHRSC", "missing")


def test_ambiguous_descriptor_lists_candidates(tmp_path, capsys):
    images = [f"im{i}" for i in range(10)]
    vectors = np.random.default_rng(0).random((2, 45))
    save_rdms(
        tmp_path / "s.h5",
        vectors,
        images,
        ["A", "B"],
        key="roi",
        extra_rdm_descriptors={"roi_long": ["area A", "area B"]},
    )
    save_rdms(tmp_path / "n.h5", vectors, images, ["l1", "l2"], key="layer")
    study = tmp_path / "study.yml"
    study.write_text(yaml.safe_dump({"subjects": {"s": "s.h5"}, "networks": {"n": "n.h5"}}))
    line = _fails(study, tmp_path / "out", capsys, "s.h5", "roi, roi_long", "descriptors.roi")
    assert "several" in line


@pytest.mark.parametrize(
    "text, problem",
    [
        ("subjects: [a, b\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("subjects: {s: a.h5}\nnetworks: {n: b.h5}\nmethods: corr\n", "unknown key(s) methods"),
        ("subjects: a.h5\nnetworks: {n: b.h5}\n", "'subjects' must map"),
        ("subjects: {s: a.h5}\nnetworks: {n: b.h5}\nmethod: pearson\n", "unknown method 'pearson'"),
        (
            "subjects: {s: a.h5}\nnetworks: {n: b.h5}\nbootstrap: {samples: -1}\n",
            "bootstrap.samples",
        ),
        (
            "subjects: {s: a.h5}\nnetworks: {n: b.h5}\nroi_groups: {A: [V1], B: [V1]}\n",
            "ROI V1 is in groups",
        ),
    ],
)
def test_malformed_study_file(tmp_path, capsys, text, problem):
    study = tmp_path / "study.yml"
    study.write_text(text)
    _fails(study, tmp_path / "out", capsys, "study.yml", problem)


def test_failure_leaves_previous_results_intact(demo, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(demo / "study.yml"), "--out", str(out), "--samples", "0"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (demo / CSI2).write_text("broken")
    assert main(["run", str(demo / "study.yml"), "--out", str(out), "--samples", "0"]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(tmp_path.glob(".out.partial-*"))


def test_command_line_prints_no_traceback(demo, tmp_path):
    (demo / CSI2).write_text("broken")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "run",
            str(demo / "study.yml"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert CSI2 in done.stderr


def _two_atlas_study(tmp_path: Path, **fields) -> Path:
    """Two subjects with atlases A and B, a network, and whatever else `fields` adds."""
    images = [f"im{i}.jpg" for i in range(12)]
    vectors = np.random.default_rng(1).random((3, 66))
    for subject in ("s1", "s2"):
        for atlas in ("A", "B"):
            save_rdms(
                tmp_path / f"{subject}_{atlas}.h5", vectors[:2], images, [f"{atlas}1", f"{atlas}2"]
            )
    save_rdms(tmp_path / "net.h5", vectors, images, ["l1", "l2", "l3"], key="layer")
    study = {
        "subjects": {s: {a: f"{s}_{a}.h5" for a in ("A", "B")} for s in ("s1", "s2")},
        "networks": {"n": "net.h5"},
        **fields,
    }
    path = tmp_path / "study.yml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def test_atlas_missing_for_one_subject(tmp_path, capsys):
    study = _two_atlas_study(tmp_path)
    raw = yaml.safe_load(study.read_text())
    del raw["subjects"]["s2"]["B"]
    study.write_text(yaml.safe_dump(raw))
    _fails(study, tmp_path / "out", capsys, "study.yml", "subject s2 has no file for atlas B")


def test_roi_groups_name_an_atlas_no_subject_has(tmp_path, capsys):
    study = _two_atlas_study(tmp_path, roi_groups={"C": {"g": ["C1"]}})
    _fails(
        study,
        tmp_path / "out",
        capsys,
        "study.yml",
        "roi_groups names atlas C, which no subject has",
    )


def test_group_mean_whose_rois_do_not_match_its_atlas(tmp_path, capsys):
    study = _two_atlas_study(tmp_path, group_mean={"A": "mean_A.h5"})
    save_rdms(
        tmp_path / "mean_A.h5",
        np.random.default_rng(2).random((2, 66)),
        [f"im{i}.jpg" for i in range(12)],
        ["A1", "B2"],
    )
    _fails(study, tmp_path / "out", capsys, "mean_A.h5", "group-mean ROIs do not match", "B2", "A2")


def test_unknown_image_matching(tmp_path, capsys):
    study = _two_atlas_study(tmp_path, images={"match": "fuzzy"})
    _fails(
        study,
        tmp_path / "out",
        capsys,
        "study.yml",
        "unknown images.match 'fuzzy'",
        "stem-casefold",
    )


def test_names_that_collide_after_normalisation(tmp_path, capsys):
    study = _two_atlas_study(tmp_path, images={"match": "stem-casefold"})
    images = [f"im{i}.jpg" for i in range(11)] + ["IM3.png"]
    save_rdms(
        tmp_path / "net.h5",
        np.random.default_rng(3).random((3, 66)),
        images,
        ["l1", "l2", "l3"],
        key="layer",
    )
    _fails(
        study,
        tmp_path / "out",
        capsys,
        "net.h5",
        "'im3.jpg' and 'IM3.png' become the same image 'im3'",
    )


def test_whitened_method_runs_with_a_bootstrap_and_the_report_says_what_it_assumes(
    demo, tmp_path, capsys
):
    from report.paper import comparison_paragraph
    from report.results import load_results

    study = _edit_study(demo, lambda s: s.update(method="corr_cov"))
    assert main(["run", str(study), "--out", str(tmp_path / "out"), "--samples", "20"]) == 0
    inference = pd.read_csv(tmp_path / "out" / "inference.csv")
    assert set(inference.method) == {"corr_cov"} and inference["sem"].gt(0).all()
    words = comparison_paragraph(load_results(tmp_path / "out"))
    assert (
        "whitened Pearson correlation" in words
        and "independent and equally large for every image" in words
    )
