"""The logic behind generated sentences, on small hand-made tables: nothing is ranked that the
uncertainty does not separate."""

from __future__ import annotations

import pandas as pd
import pytest

from report import sentences
from report.results import load_results
from tests.report.mock_results import write_mock_results


def pairwise_rows(pairs):
    return pd.DataFrame(pairs, columns=["layer_a", "layer_b", "difference", "significant"])


def test_tied_with_top_keeps_values_within_two_combined_sem():
    top, tied = sentences.tied_with_top(["a", "b", "c"], [0.30, 0.28, 0.10], [0.02, 0.02, 0.02])
    assert top == "a" and tied == ["b"]
    top, tied = sentences.tied_with_top(["a", "b"], [0.30, 0.10], [0.01, 0.01])
    assert top == "a" and tied == []


def test_best_layer_is_separated_only_by_significant_tests():
    pairs = pairwise_rows(
        [("l1", "l2", 0.10, True), ("l1", "l3", 0.01, False), ("l2", "l3", -0.09, True)]
    )
    assert sentences.not_separated_from("l1", pairs) == ["l3"]
    assert sentences.beaten_by("l1", pairs) == ["l2"]
    # A significant difference in the other direction does not count as beating it.
    assert sentences.beaten_by("l2", pairs) == []


def test_rois_zero_within_noise_are_listed_not_ranked():
    inference = pd.DataFrame(
        {
            "roi": ["A", "A", "B", "B", "C", "C"],
            "r": [0.001, -0.002, 0.004, 0.0, 0.2, 0.3],
            "ci_low": [-0.01, -0.02, -0.01, -0.02, 0.1, 0.2],
            "significant_zero": [False, False, False, False, True, True],
        }
    )
    assert sentences.rois_without_signal(inference) == ["A", "B"]


def test_significant_but_negative_is_not_above_zero():
    inference = pd.DataFrame(
        {"roi": ["A"], "r": [-0.2], "ci_low": [-0.3], "significant_zero": [True]}
    )
    assert sentences.rois_without_signal(inference) == ["A"]


def test_peak_summary_reports_share_and_resolution():
    peak = pd.DataFrame({"layer": ["l1", "l2", "l3"], "share": [0.2, 0.45, 0.35]})
    assert sentences.peak_summary(peak) == ("l2", 0.45, False)
    assert sentences.peak_summary(peak.assign(share=[0.1, 0.8, 0.1]))[2]


def test_network_counts_split_by_direction():
    table = pd.DataFrame(
        {"difference": [0.1, -0.2, 0.05, -0.01], "significant": [True, True, False, False]}
    )
    assert sentences.network_counts(table) == (1, 1, 2)


def test_t_critical_matches_three_subjects():
    assert sentences.t_critical(2) == pytest.approx(4.303, abs=1e-3)


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    return load_results(write_mock_results(tmp_path_factory.mktemp("mock") / "results"))


def test_sentences_from_mock_results_say_what_cannot_be_decided(mock):
    findings = sentences.key_findings(mock)
    assert "lowest" not in findings
    assert "little power" in findings
    ceiling = sentences.ceiling_sentence(mock)
    assert f"{sentences.t_critical(3):.1f} standard errors" in ceiling
    abstract = sentences.abstract(mock)
    assert "59 regions" in abstract and "39 layers" in abstract and "synthetic" in abstract


def test_silent_rois_sentence_names_every_silent_roi(mock):
    inference = mock.table("inference").copy()
    inference.loc[inference["roi"] == "LHRSC", "significant_zero"] = False
    mock.optional["inference"] = inference
    text = sentences.silent_rois(mock)
    assert "LHRSC" in text and "not ranked" in text


def test_roi_peak_sentences_carry_share_and_interval(mock):
    lines = sentences.roi_peak_sentences(mock, "streams")
    assert len(lines) == 10
    assert all("% of samples" in line and "[" in line for line in lines)


def test_depth_sentence_pools_resolved_peaks_and_counts_the_rest(mock):
    inference = mock.table("inference").copy()
    rows = (inference["atlas"] == "streams") & inference["roi"].isin(["LHEarlyVis", "RHEarlyVis"])
    first_layer = inference["network"].map({n: mock.layers(n)[0] for n in mock.networks})
    first = rows & (inference["layer"] == first_layer)
    inference.loc[rows, ["peak", "resolved"]] = False
    inference.loc[first, "peak"] = True
    inference.loc[first & (inference["layer"] == "conv1"), "resolved"] = True
    mock.optional["inference"] = inference
    text = sentences.depth_sentence(mock)[0]
    # conv1 is the first layer of ResNet-50 and AlexNet
    # (depth 0); the other networks' peaks are unresolved.
    assert "Early visual: 0.00 (4 resolved peaks; 4 unresolved)" in text


def test_ties_are_said_as_they_are(mock):
    """Every file losing the same number of images, layers sharing the largest bootstrap share,
    and ROI × layer cells sharing the best r are all named, never the first one alone."""
    from report import paper, tables
    from report.text import join

    manifest = mock.manifest
    saved = [dict(i) for i in manifest["inputs"]]
    try:
        for item in manifest["inputs"]:
            item.update(images_in_file=200, images_kept=40, images_dropped=160)
        text = paper.alignment_paragraph(mock)
        assert "largest loss, 160 images, is shared by all" in text
        assert "largest loss is in" not in text
    finally:
        manifest["inputs"] = saved
    peak = pd.DataFrame({"layer": ["l1", "l2", "l3"], "share": [0.4, 0.4, 0.2]})
    assert sentences.peak_layers(peak) == (["l1", "l2"], 0.4)
    assert sentences.peak_summary(peak) == ("l1 and l2", 0.4, False)
    joint = mock.joint.copy()
    rows = (joint["atlas"] == "streams") & (joint["roi"] == "LHEarlyVis")
    first = rows & (joint["network"] == "ResNet-50")
    joint.loc[first, "r"] = 0.5
    mock.joint = joint
    table = tables.best_layer_table(mock)
    line = next(x for x in table.splitlines() if "LHEarlyVis" in x)
    assert f"{join(joint.loc[first, 'layer'])} (0.500)" in line


def test_consistency_with_one_subject_says_there_is_nothing_to_compare(mock, monkeypatch):
    assert sentences.subjects_to_compare(mock)
    assert "subject-averaged RDM is also the peak" in sentences.consistency_sentences(mock)[0]
    one = mock.table("peak_consistency").assign(n_subjects=1, n_sharing=1)
    monkeypatch.setattr(mock, "table", lambda name: one if name == "peak_consistency" else None)
    assert not sentences.subjects_to_compare(mock)
    assert sentences.consistency_sentences(mock) == [
        "With one subject the subject-averaged RDM is that subject's own RDM, so there is no "
        "agreement between subjects to count (`peak_consistency.csv`)."
    ]
