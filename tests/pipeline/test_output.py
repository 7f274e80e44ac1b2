"""Writing a results folder: contract tables only, columns in contract order, atomically."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.pipeline.output import write_results
from analysis.schema import columns


def test_tables_are_written_in_contract_column_order(tmp_path):
    shuffled = pd.DataFrame({c: [1] for c in reversed(columns("joint"))})
    write_results(tmp_path / "out", {"joint": shuffled}, {"title": "t"})
    assert pd.read_csv(tmp_path / "out" / "joint.csv").columns.tolist() == columns("joint")
    assert json.loads((tmp_path / "out" / "manifest.json").read_text()) == {"title": "t"}


def test_a_table_outside_the_contract_is_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(ValueError, match="not in analysis.schema.TABLES: extra"):
        write_results(tmp_path / "out", {"extra": pd.DataFrame({"a": [1]})}, {})
    assert not (tmp_path / "out").exists()
