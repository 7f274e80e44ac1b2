"""Write a results folder: every table as NAME.csv and the manifest, published atomically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from ..publish import staged_folder
from ..schema import TABLES


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """A tidy table as CSV with round-trip float precision and Unix newlines."""
    table.to_csv(path, index=False, lineterminator="\n")


def write_json(data: Any, path: Path) -> None:
    """JSON in the key order it was built, UTF-8, 2-space indent."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_results(
    out: Path,
    tables: dict[str, pd.DataFrame],
    manifest: dict[str, Any],
    carried: dict[str, Path] | None = None,
) -> None:
    """Write every table as NAME.csv (or copy `carried` ones byte for byte) and the manifest,
    replacing `out` atomically. Tables must be in the contract (analysis.schema.TABLES)."""
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ValueError(f"tables not in analysis.schema.TABLES: {', '.join(unknown)}")
    with staged_folder(out) as stage:
        for name, source in (carried or {}).items():
            shutil.copyfile(source, stage / TABLES[name].file)
        for name, table in tables.items():
            write_csv(table[list(TABLES[name].columns)], stage / TABLES[name].file)
        write_json(manifest, stage / "manifest.json")
