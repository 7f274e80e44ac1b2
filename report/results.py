"""Load a results folder (tables as analysis.schema defines them) for the report cells; never
recompute RSA."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import schema

DEFAULT_RESULTS = "results/demo"
TABLES = {name: schema.columns(name) for name in ("per_subject", "joint", "by_group")}
MANIFEST_KEYS = ["synthetic", "title", "study", "order", "roi_groups", "inputs", "n_common_images", "parameters"]
ORDER_KEYS = ["subjects", "rois", "networks", "layers", "groups"]


class ResultsError(Exception):
    """The results folder is missing, incomplete or inconsistent."""


@dataclass
class Results:
    """The tables and manifest of one results folder, with categorical orders applied."""

    path: Path
    manifest: dict[str, Any]
    per_subject: pd.DataFrame
    joint: pd.DataFrame
    by_group: pd.DataFrame

    @property
    def order(self) -> dict[str, Any]:
        """Subjects, ROIs, networks, layers (per network) and groups in report order."""
        return self.manifest["order"]

    @property
    def columns(self) -> list[tuple[str, str]]:
        """(network, layer) pairs in order: the x axis of every figure."""
        return [(n, layer) for n in self.order["networks"] for layer in self.order["layers"][n]]

    @property
    def method(self) -> str:
        """The RDM comparison method named in the manifest."""
        return str(self.manifest["parameters"]["method"])

    @property
    def synthetic(self) -> bool:
        """True when the study is the synthetic demo."""
        return bool(self.manifest["synthetic"])


def project_root() -> Path:
    """The directory holding ``_quarto.yml`` (Quarto runs cells with cwd ``report/``)."""
    env = os.environ.get("QUARTO_PROJECT_ROOT")
    if env and (Path(env) / "_quarto.yml").is_file():
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / "_quarto.yml").is_file():
                return folder.resolve()
    return Path.cwd().resolve()


def results_dir() -> Path:
    """``RSA_RESULTS`` (default ``results/demo``), relative paths taken from the project root."""
    path = Path(os.environ.get("RSA_RESULTS") or DEFAULT_RESULTS)
    return path if path.is_absolute() else project_root() / path


def _read_csv(folder: Path, name: str, columns: list[str]) -> pd.DataFrame:
    path = folder / f"{name}.csv"
    if not path.is_file():
        raise ResultsError(f"{path}: missing (the results folder is incomplete; run `python -m analysis run`)")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: not a readable CSV table ({exc})") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ResultsError(f"{path}: missing column(s) {', '.join(missing)}")
    if table.empty:
        raise ResultsError(f"{path}: no rows")
    return table


def _check_numbers(path: Path, table: pd.DataFrame, columns: list[str]) -> None:
    for col in columns:
        values = pd.to_numeric(table[col], errors="coerce")
        if values.isna().any() or not all(math.isfinite(v) for v in values):
            raise ResultsError(f"{path}: column '{col}' has missing or non-numeric values")
        table[col] = values


def _apply_order(path: Path, table: pd.DataFrame, order: dict[str, Any]) -> pd.DataFrame:
    """Make ROI, subject, group and network columns ordered categoricals; refuse unknown labels."""
    for col, key in (("subject", "subjects"), ("roi", "rois"), ("group", "groups"), ("network", "networks")):
        if col in table.columns:
            unknown = sorted(set(table[col].astype(str)) - set(map(str, order[key])))
            if unknown:
                raise ResultsError(f"{path}: {col} {', '.join(unknown)} not in manifest.json order")
            table[col] = pd.Categorical(table[col].astype(str), categories=[str(v) for v in order[key]], ordered=True)
    layers = [(str(n), str(layer)) for n in order["networks"] for layer in order["layers"][str(n)]]
    pairs = set(zip(table["network"].astype(str), table["layer"].astype(str)))
    unknown_layers = sorted(f"{n}:{layer}" for n, layer in pairs - set(layers))
    if unknown_layers:
        raise ResultsError(f"{path}: layer(s) {', '.join(unknown_layers)} not in manifest.json order")
    table["layer_index"] = [layers.index((str(n), str(layer))) for n, layer in zip(table["network"], table["layer"])]
    return table


def load_manifest(folder: Path) -> dict[str, Any]:
    """Read and check ``manifest.json``."""
    path = folder / "manifest.json"
    if not folder.is_dir():
        raise ResultsError(f"{folder}: results folder not found (set RSA_RESULTS or run `python -m analysis run`)")
    if not path.is_file():
        raise ResultsError(f"{path}: missing (the results folder is incomplete)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ResultsError(f"{path}: expected a JSON object")
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    order = manifest.get("order") if isinstance(manifest.get("order"), dict) else {}
    missing += [f"order.{k}" for k in ORDER_KEYS if k not in order]
    if missing:
        raise ResultsError(f"{path}: missing key(s) {', '.join(missing)}")
    if "method" not in (manifest.get("parameters") or {}):
        raise ResultsError(f"{path}: missing key parameters.method")
    return flatten_atlases(manifest)


def roi_label(atlas: str, name: str, several: bool) -> str:
    """How the report names an ROI or group: the name, prefixed with its atlas when there are several."""
    return f"{atlas}: {name}" if several else str(name)


def flatten_atlases(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with per-atlas ROIs and groups as one ordered list of labels (see roi_label)."""
    order = manifest["order"]
    if not isinstance(order.get("rois"), dict):
        return manifest
    several = len(order["rois"]) > 1
    manifest = {**manifest, "order": {**order}}
    manifest["order"]["rois"] = [roi_label(a, r, several) for a, rois in order["rois"].items() for r in rois]
    manifest["order"]["groups"] = [roi_label(a, g, several) for a, groups in order["groups"].items() for g in groups]
    manifest["roi_groups"] = {roi_label(a, g, several): [roi_label(a, r, several) for r in rois]
                              for a, groups in manifest["roi_groups"].items() for g, rois in groups.items()}
    manifest["several_atlases"] = several
    return manifest


def with_roi_labels(table: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """ROI and group columns as report labels (atlas-prefixed when the study has several atlases)."""
    if "atlas" not in table.columns:
        return table
    several = manifest.get("several_atlases", False)
    table = table.copy()
    for col in ("roi", "group"):
        if col in table.columns:
            table[col] = [roi_label(a, v, several) for a, v in zip(table["atlas"].astype(str), table[col].astype(str))]
    return table


def load_results(folder: Path | None = None) -> Results:
    """Load and check every table the report needs from ``folder`` (default: ``results_dir()``)."""
    folder = results_dir() if folder is None else Path(folder)
    manifest = load_manifest(folder)
    tables = {}
    for name, columns in TABLES.items():
        table = with_roi_labels(_read_csv(folder, name, columns), manifest)
        numeric = ["r"] if "r" in columns else ["mean", "sem", "n_subjects"]
        _check_numbers(folder / f"{name}.csv", table, numeric)
        tables[name] = _apply_order(folder / f"{name}.csv", table, manifest["order"])
    return Results(path=folder, manifest=manifest, **tables)


def optional_table(res: Results, name: str) -> pd.DataFrame | None:
    """An optional table (``inference``, ``noise_ceiling``, ``pairwise``), or None when absent."""
    path = res.path / f"{name}.csv"
    if not path.is_file():
        return None
    try:
        return with_roi_labels(pd.read_csv(path), res.manifest)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ResultsError(f"{path}: not a readable CSV table ({exc})") from None


@dataclass(frozen=True)
class InferenceTables:
    """The three inference tables of a results folder."""

    inference: pd.DataFrame
    ceiling: pd.DataFrame
    pairwise: pd.DataFrame


def load_inference(res: Results) -> InferenceTables | None:
    """The inference tables, or None when the analysis ran without a bootstrap."""
    tables = [optional_table(res, name) for name in ("inference", "noise_ceiling", "pairwise")]
    return None if any(t is None for t in tables) else InferenceTables(*tables)


def layer_order(res: Results, table: pd.DataFrame) -> list[tuple[str, str]]:
    """(network, layer) pairs in manifest order, restricted to those in `table`."""
    present = set(zip(table["network"], table["layer"]))
    return [c for c in res.columns if c in present]


def group_rois(res: Results, table: pd.DataFrame) -> dict[str, list[str]]:
    """{group: [roi, ...]} in manifest order, restricted to ROIs with inference rows."""
    rois = set(table["roi"])
    return {g: [r for r in members if r in rois] for g, members in res.manifest["roi_groups"].items()
            if any(r in rois for r in members)}
