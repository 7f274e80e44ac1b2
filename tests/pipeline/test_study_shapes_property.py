"""Property-based: studies of any valid shape (1-4 subjects, one with fewer images; 1-3 atlases of
1-3 ROIs with or without groups; group means or not; 1-3 networks of 1-4 layers, ordered or not;
every bootstrap method; no inference or a few samples; both alignments; names with spaces,
unicode and Markdown, LaTeX and HTML specials) are analysed, and every table has the rows the
shape implies."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.pipeline.run import run
from analysis.schema import BOOTSTRAP_METHODS, TABLES, columns
from tests.study_shapes import Atlas, Network, Shape, write_shape_study

ALPHABET = "aZé ü*_#<&$\"'%{}\\é中"
NAME = st.text(ALPHABET, min_size=1, max_size=6).map(str.strip).filter(bool)


def _unique(count_min: int, count_max: int):
    return st.lists(NAME, min_size=count_min, max_size=count_max, unique=True)


@st.composite
def shapes(draw) -> tuple[Shape, int]:
    subjects = tuple(draw(_unique(1, 4)))
    atlases = {}
    for atlas in draw(_unique(1, 3)):
        rois = tuple(draw(_unique(1, 3)))
        groups = None
        if draw(st.booleans()):
            cut = draw(st.integers(1, len(rois)))
            groups = {"g1": list(rois[:cut]), **({"g2": list(rois[cut:])} if rois[cut:] else {})}
        atlases[atlas] = Atlas(rois, groups)
    networks = {
        name: Network(tuple(draw(_unique(1, 4))), draw(st.booleans()))
        for name in draw(_unique(1, 3))
    }
    shape = Shape(
        subjects=subjects,
        atlases=atlases,
        networks=networks,
        group_means=draw(st.booleans()),
        n_images=draw(st.integers(8, 12)),
        title=draw(NAME),
        method=draw(st.sampled_from(BOOTSTRAP_METHODS)),
        match=draw(st.sampled_from(["exact", "stem-casefold"])),
        align=draw(st.sampled_from(["common", "per-subject"])),
        fewer_images=draw(st.sampled_from([0, 2])) if len(subjects) > 1 else 0,
        seed=draw(st.integers(0, 3)),
    )
    return shape, draw(st.sampled_from([0, 6]))


def _table(out: Path, name: str) -> pd.DataFrame:
    frame = pd.read_csv(out / TABLES[name].file, keep_default_na=False, na_values=[""])
    assert list(frame.columns) == columns(name)
    return frame


@pytest.mark.filterwarnings("ignore::analysis.errors.AnalysisWarning")  # planned image loss
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(shapes())
def test_any_valid_study_is_analysed_into_the_tables_its_shape_implies(case) -> None:
    shape, samples = case
    with TemporaryDirectory() as folder:
        study = write_shape_study(Path(folder) / "study", shape)
        out = run(study, Path(folder) / "out", samples=samples, progress=False).out
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        rois = sum(len(a.rois) for a in shape.atlases.values())
        layers = sum(len(n.layers) for n in shape.networks.values())
        subjects = len(shape.subjects)
        assert len(_table(out, "per_subject")) == subjects * rois * layers
        assert len(_table(out, "joint")) == rois * layers
        assert len(_table(out, "group_mean")) == (rois * layers if shape.group_means else 0)
        groups = sum(len(a.groups or {}) for a in shape.atlases.values())
        by_group = _table(out, "by_group")
        assert len(by_group) == groups * layers
        assert manifest["order"]["ordered"] == {k: n.ordered for k, n in shape.networks.items()}
        assert manifest["order"]["networks"] == list(shape.networks)
        assert manifest["n_common_images"] == shape.n_images - shape.fewer_images
        if samples == 0:
            assert manifest["bootstrap"] == {}
            assert not (out / TABLES["inference"].file).exists()
            return
        kind = "pattern" if subjects == 1 else "dual"
        assert manifest["bootstrap"]["kind"] == kind
        inference = _table(out, "inference")
        assert len(inference) == rois * layers
        assert list(inference["layer"].astype(str)) == [
            layer
            for atlas in shape.atlases.values()
            for _ in atlas.rois
            for network in shape.networks.values()
            for layer in network.layers
        ]
        assert len(_table(out, "noise_ceiling")) == (rois if kind == "dual" else 0)
        assert inference["r_normalised"].isna().all() or kind == "dual"
        pairs = sum(len(list(combinations(n.layers, 2))) for n in shape.networks.values())
        assert len(_table(out, "pairwise")) == rois * pairs
        network_pairs = len(list(combinations(shape.networks, 2)))
        assert len(_table(out, "network_comparison")) == rois * network_pairs
        peak = _table(out, "peak_layer")
        totals = peak.groupby(["atlas", "roi", "network"], sort=False)["share"].sum()
        np.testing.assert_allclose(totals, 1.0)
