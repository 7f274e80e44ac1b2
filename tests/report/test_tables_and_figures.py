"""Tables and figures of the report on deposit-sized mock results, without rendering: tables agree
with their sources, figures stay on the page, tick labels never overlap and legends stay short."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from report import geometry_figures, style, tables
from report.results import load_results
from tests.helpers import report_figure
from tests.report.mock_results import write_mock_results

ROOT = Path(__file__).resolve().parents[2]
FIGURES = [
    "subject_heatmaps",
    "subject_bars",
    "joint_heatmap",
    "group_lines",
    "depth_profiles",
    "roi_scatter",
    "bars_3d",
    "inference_figure",
    "peak_share",
    "network_comparison_figure",
    "second_order_map",
    "rdm_examples_figure",
]


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    return load_results(write_mock_results(tmp_path_factory.mktemp("mock") / "results"))


@pytest.mark.parametrize("name", FIGURES)
def test_figure_fits_page_without_overlapping_ticks_or_long_legends(mock, name):
    fig = report_figure(name)(mock)
    try:
        width, height = fig.get_size_inches()
        assert width <= style.PAGE_WIDTH + 1e-9 and height <= style.PAGE_HEIGHT + 1e-9
        assert style.overlapping_tick_labels(fig) == []
        legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
        assert all(len(legend.get_texts()) <= style.MAX_LEGEND_ENTRIES for legend in legends)
    finally:
        plt.close(fig)


def test_overlap_check_can_fail():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_xticks(range(40), [f"label number {i}" for i in range(40)])
    assert style.overlapping_tick_labels(fig)
    style.fit_tick_labels(fig)
    assert style.overlapping_tick_labels(fig) == []
    plt.close(fig)


def test_classical_mds_recovers_a_planar_configuration():
    points = np.array([[0, 0], [3, 0], [0, 4], [3, 4], [1, 2]], float)
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    coords = geometry_figures.classical_mds(distances)
    assert np.allclose(np.linalg.norm(coords[:, None] - coords[None], axis=-1), distances)


def test_second_order_matrix_is_symmetric_with_unit_diagonal(mock):
    table = mock.table("second_order")
    items, matrix = geometry_figures.second_order_matrix(table[table["atlas"] == "streams"])
    assert len(items) == 10 + 39
    assert np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 1)
    row = table[table["atlas"] == "streams"].iloc[5]
    a = items.index((row["kind_a"], row["network_a"], row["name_a"]))
    b = items.index((row["kind_b"], row["network_b"], row["name_b"]))
    assert matrix[a, b] == pytest.approx(row["r"])


def parse_md(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[2:]]


def test_pairwise_summary_counts_match_the_table(mock):
    rows = parse_md(tables.pairwise_summary_table(mock))
    pairwise = mock.table("pairwise")
    assert len(rows) == 3 * 4
    first = pairwise[(pairwise["atlas"] == "streams") & (pairwise["network"] == "ResNet-50")]
    assert rows[0][:5] == [
        "streams",
        "ResNet-50",
        "10",
        str(len(first)),
        str(int(first["significant"].sum())),
    ]


def test_network_summary_counts_match_the_table(mock):
    rows = parse_md(tables.network_summary_table(mock))
    table = mock.table("network_comparison")
    assert len(rows) == 3 * 6
    assert sum(int(r[2]) + int(r[3]) for r in rows) == int(table["significant"].sum())
    assert sum(int(r[4]) for r in rows) == int((~table["significant"]).sum())


def test_peak_table_has_one_row_per_roi_and_network(mock):
    rows = parse_md(tables.peak_table(mock, "streams"))
    assert len(rows) == 10 * 4
    share = mock.table("peak_layer")
    first = share[
        (share["atlas"] == "streams")
        & (share["roi"] == "LHEarlyVis")
        & (share["network"] == "ResNet-50")
    ]
    assert rows[0][2] == first.loc[first["share"].idxmax(), "layer"]


def test_images_table_by_source(mock):
    rows = parse_md(tables.images_table(mock))
    assert rows[0][:2] == ["subject", "CSI1"], "one row when every atlas kept the same images"
    assert rows[0][-1] == "412 / 784" and rows[0][2] == "169 / 321"
    images = mock.table("images")
    changed = (
        (images["name"] == "CSI2")
        & (images["atlas"] == "parcellation")
        & (images["source"] == "all")
    )
    mock.optional["images"] = images.assign(
        images_kept=np.where(changed, 400, images["images_kept"])
    )
    labels = [row[1] for row in parse_md(tables.images_table(mock))]
    mock.optional["images"] = images
    assert "CSI2 (parcellation)" in labels and "CSI2 (streams)" in labels and "CSI1" in labels


def test_full_tables_are_downloadable_from_the_page(mock):
    block = tables.appendix_tables(mock)
    links = re.findall(
        r'<a download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([^"]+)"', block
    )
    assert {name for name, _ in links} >= {
        "pairwise.csv",
        "inference.csv",
        "joint.csv",
        "network_comparison.csv",
    }
    payload = dict(links)["pairwise.csv"]
    table = pd.read_csv(io.BytesIO(base64.b64decode(payload)))
    assert len(table) == len(mock.table("pairwise"))
    assert np.allclose(table["difference"], mock.table("pairwise")["difference"])
    assert "<details" in block and "```{=html}" in block


def test_latency_table_says_what_evidence_each_row_rests_on():
    rows = parse_md(tables.latency_table())
    assert len(rows) == 6 and all(row[2] for row in rows)


def qmd_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "report").glob("*.qmd"))


def test_every_figure_and_table_is_referenced_in_the_text():
    text = qmd_text()
    source = text + "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "report").glob("*.py"))
    labels = re.findall(r"#\|\s*label:\s*((?:fig|tbl)-[\w-]+)", text)
    assert len(labels) >= 20
    prose = re.sub(r"#\|\s*label:.*", "", source)
    unreferenced = [label for label in labels if f"@{label}" not in prose]
    assert unreferenced == []
