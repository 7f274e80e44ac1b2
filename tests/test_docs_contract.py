"""The README and docs/CONTRACTS.md describe the output contract; analysis/schema.py defines
it. A table or column added in the schema and not in the docs (or the reverse) fails here."""

from __future__ import annotations

import importlib
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


#: Paths in backticks that contain a folder: `analysis/schema.py`, `report/web/`, ...
PATH = re.compile(r"`([\w.*-]*/[\w./*-]*)`")
#: Dotted names of the project's code anywhere in the text: analysis.reading.store, ...
MODULE = re.compile(r"\b((?:analysis|report|qmdrender)(?:\.\w+)+)")
#: What the run or the render writes (not in the repository): named, not checked.
GENERATED = ("results/", "_output/", ".quarto/", "/")


def _named_paths(text: str) -> list[str]:
    return sorted({p for p in PATH.findall(text) if not p.startswith(GENERATED) and "*" not in p})


def test_contracts_names_only_paths_that_exist():
    text = (ROOT / "docs/CONTRACTS.md").read_text(encoding="utf-8")
    paths = _named_paths(text)
    assert "analysis/schema.py" in paths and "report/web/" in paths  # the pattern finds them
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"docs/CONTRACTS.md names missing paths: {missing}"


def test_contracts_names_only_modules_and_objects_that_exist():
    text = (ROOT / "docs/CONTRACTS.md").read_text(encoding="utf-8")
    names = sorted(set(MODULE.findall(text)))
    assert "analysis.reading.loading" in names  # the pattern finds them
    missing = []
    for name in names:
        parts = name.split(".")
        # the longest importable prefix, then attributes (a function or class of that module)
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute, None)
            break
        if obj is None:
            missing.append(name)
    assert not missing, f"docs/CONTRACTS.md names missing modules or objects: {missing}"


def test_the_path_check_can_fail():
    assert _named_paths("see `analysis/cache.py` and `results/demo`") == ["analysis/cache.py"]
    assert not (ROOT / "analysis/cache.py").exists()
