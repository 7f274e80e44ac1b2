"""The README and docs/CONTRACTS.md describe the output contract; analysis/schema.py defines
it. A table or column added in the schema and not in the docs (or the reverse) fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.schema import TABLES

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `(\w+)\.csv` \| ([a-z0-9_]+(?:, [a-z0-9_]+)*)", re.M)


@pytest.mark.parametrize("document", ["README.md", "docs/CONTRACTS.md"])
def test_documented_tables_and_columns_are_the_schemas(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    documented = {name: columns.split(", ") for name, columns in ROW.findall(text)}
    assert documented == {name: list(table.columns) for name, table in TABLES.items()}
