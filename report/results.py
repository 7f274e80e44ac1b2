"""Load a results folder (docs/CONTRACTS.md) for the report cells; never recompute RSA."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.schema import DEFAULT_ATLAS, TABLES, columns

DEFAULT_RESULTS = "results/demo"
#: Columns of analysis.schema the report reads when present but does not require: results
#: folders written before they existed lack them (a missing atlas means the one DEFAULT_ATLAS).
NOT_REQUIRED = frozenset({"atlas", "method", "n_images", "r_normalised", "ci_level"})
#: Tables the report cannot do without; every other table of the contract is optional (the
#: inference ones only exist when the bootstrap ran).
REQUIRED_TABLES = ("per_subject", "joint", "by_group")


def required_columns(name: str) -> list[str]:
    """The columns of table `name` (analysis.schema) that the report requires."""
    return [c for c in columns(name) if c not in NOT_REQUIRED]


#: Required tables that may hold no rows: by_group.csv when the study defines no ROI groups.
MAY_BE_EMPTY = frozenset({"by_group"})


NUMERIC = {
    "r",
    "mean",
    "sem",
    "n_subjects",
    "share",
    "difference",
    "ci_low",
    "ci_high",
    "lower",
    "upper",
    "images_in_file",
    "images_kept",
    "images_dropped",
    "dissimilarity",
    "p",
    "p_adjusted",
    "p_zero",
    "p_ceiling",
    "lower_sem",
    "upper_sem",
}
MANIFEST_KEYS = [
    "synthetic",
    "title",
    "study",
    "order",
    "roi_groups",
    "inputs",
    "n_common_images",
    "parameters",
]
ORDER_KEYS = ["subjects", "rois", "networks", "layers", "groups"]


#: Columns that hold names (read as text: a ROI called '00' or 'nan' stays that name).
LABELS = (
    "atlas",
    "roi",
    "subject",
    "group",
    "network",
    "layer",
    "layer_a",
    "layer_b",
    "name_a",
    "name_b",
    "network_a",
    "network_b",
    "kind_a",
    "kind_b",
    "rdm",
    "image_a",
    "image_b",
    "source_a",
    "source_b",
    "name",
    "source",
    "role",
)


class ResultsError(Exception):
    """The results folder is missing, incomplete or inconsistent."""


@dataclass
class Results:
    """The tables and manifest of one results folder, with the manifest's orders applied."""

    path: Path
    manifest: dict[str, Any]
    per_subject: pd.DataFrame
    joint: pd.DataFrame
    by_group: pd.DataFrame
    optional: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def order(self) -> dict[str, Any]:
        """The manifest's `order` block."""
        return self.manifest["order"]

    @property
    def method(self) -> str:
        """The RDM comparison method named in the manifest."""
        return str(self.manifest["parameters"]["method"])

    @property
    def synthetic(self) -> bool:
        """True when the study is the synthetic demo."""
        return bool(self.manifest["synthetic"])

    @property
    def subjects(self) -> list[str]:
        """Subjects in report order."""
        return [str(s) for s in self.order["subjects"]]

    @property
    def atlases(self) -> list[str]:
        """Atlases in report order (one atlas named 'default' for single-file subjects)."""
        return [str(a) for a in self.order.get("atlases") or sorted(set(self.joint["atlas"]))]

    @property
    def default_atlas_only(self) -> bool:
        """Whether the study named no atlas (one RDM file per subject): atlases go unmentioned."""
        return self.atlases == [DEFAULT_ATLAS]

    @property
    def networks(self) -> list[str]:
        """Networks in report order."""
        return [str(n) for n in self.order["networks"]]

    def layers(self, network: str) -> list[str]:
        """The layers of one network, input to output."""
        return [str(layer) for layer in self.order["layers"][network]]

    @property
    def columns(self) -> list[tuple[str, str]]:
        """(network, layer) pairs in order: the columns of every ROI × layer grid."""
        return [(n, layer) for n in self.networks for layer in self.layers(n)]

    def rois(self, atlas: str) -> list[str]:
        """The ROIs of one atlas in report order."""
        rois = self.order["rois"]
        return [str(r) for r in (rois.get(atlas, []) if isinstance(rois, dict) else rois)]

    def groups(self, atlas: str) -> dict[str, list[str]]:
        """{group: [roi, ...]} of one atlas in hierarchy order, as the study file defines them."""
        groups = self.manifest.get("roi_groups") or {}
        if groups and all(isinstance(v, dict) for v in groups.values()):
            groups = groups.get(atlas, {})
        return {str(g): [str(r) for r in rois] for g, rois in groups.items()}

    def group_of(self, atlas: str) -> dict[str, str]:
        """{roi: group} for one atlas; ROIs outside every group map to 'ungrouped'."""
        mapping = {roi: group for group, rois in self.groups(atlas).items() for roi in rois}
        return {roi: mapping.get(roi, "ungrouped") for roi in self.rois(atlas)}

    def depth(self, network: str, layer: str) -> float:
        """Relative depth of a layer in its network: 0 for the first, 1 for the last."""
        layers = self.layers(network)
        return layers.index(layer) / (len(layers) - 1) if len(layers) > 1 else 0.0

    def grouped_atlases(self) -> list[str]:
        """Atlases for which the study file defines ROI groups."""
        return [a for a in self.atlases if self.groups(a)]

    @property
    def dataset(self) -> dict[str, Any]:
        """The study's `dataset` section (what the data are); empty values are unknown."""
        found = (self.manifest.get("study") or {}).get("dataset") or {}
        return found if isinstance(found, dict) else {}

    @property
    def declared(self) -> bool:
        """True when the study file says what the data are (a `dataset` section)."""
        data = self.dataset
        return bool(data.get("declared", any(data.get(k) for k in ("name", "doi", "url"))))

    def ordered(self, network: str) -> bool:
        """False when the study says the network's RDMs are a set of models, not layers in depth
        order (`ordered: false`); True otherwise."""
        return network not in self.unordered_networks()

    def unordered_networks(self) -> list[str]:
        """Networks whose RDMs the study marks as not in depth order (`ordered: false`):
        manifest `order.ordered` / `study.networks_ordered` ({network: bool}), or a network given
        as {file, ordered: false} in the study."""
        study = self.manifest.get("study") or {}
        found = set()
        for flags in (self.order.get("ordered"), study.get("networks_ordered")):
            if isinstance(flags, dict):
                found |= {str(n) for n, flag in flags.items() if flag is False}
        for name, value in (study.get("networks") or {}).items():
            if isinstance(value, dict) and value.get("ordered") is False:
                found.add(str(name))
        return [n for n in self.networks if n in found]

    @property
    def ordered_networks(self) -> list[str]:
        """Networks whose RDMs are layers in depth order."""
        return [n for n in self.networks if self.ordered(n)]

    @property
    def bootstrap_kind(self) -> str:
        """'dual' (images and subjects resampled) or 'pattern' (one subject: images only), from
        manifest `bootstrap.kind`; '' without inference."""
        boot = self.manifest.get("bootstrap") or {}
        if not boot:
            return ""
        kind = str(boot.get("kind") or "")
        return kind if kind else ("pattern" if len(self.subjects) == 1 else "dual")

    @property
    def over_images_only(self) -> bool:
        """True when the inference generalises over images only (one subject), not over people."""
        return self.bootstrap_kind == "pattern" or (self.has_inference and len(self.subjects) == 1)

    @property
    def has_ceiling(self) -> bool:
        """True when the results hold a noise ceiling (inference with at least two subjects)."""
        return self.table("noise_ceiling") is not None

    def table(self, name: str) -> pd.DataFrame | None:
        """An optional table (not in REQUIRED_TABLES), or None when the results folder has none."""
        return self.optional.get(name)

    @property
    def has_inference(self) -> bool:
        """True when the bootstrap ran (an inference table is present; the noise ceiling needs two
        subjects, the pairwise tests two layers)."""
        return self.table("inference") is not None


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


def _read_csv(path: Path, columns: list[str], allow_empty: bool = False) -> pd.DataFrame:
    try:
        table = pd.read_csv(
            path, keep_default_na=False, na_values=[""], dtype=dict.fromkeys(LABELS, str)
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: not a readable CSV table ({exc})") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ResultsError(f"{path}: missing column(s) {', '.join(missing)}")
    if table.empty and not allow_empty:
        raise ResultsError(f"{path}: no rows")
    if "atlas" not in table.columns and path.stem != "images":
        table.insert(0, "atlas", DEFAULT_ATLAS)
    for col in set(table.columns) & NUMERIC:
        values = pd.to_numeric(table[col], errors="coerce")
        if (
            col in ("r", "mean")
            and (values.isna() | ~values.map(lambda v: math.isfinite(v) if v == v else False)).any()
        ):
            raise ResultsError(f"{path}: column '{col}' has missing or non-numeric values")
        table[col] = values
    for col in ("significant", "significant_zero", "significant_ceiling"):
        if col in table.columns:
            table[col] = table[col].astype(str).str.lower().isin(["true", "1"])
    for col in LABELS:
        if col in table.columns:
            table[col] = table[col].fillna("").astype(str)
    return table


def _check_labels(path: Path, table: pd.DataFrame, res: Results) -> None:
    """Refuse labels the manifest does not know (a stale or foreign table)."""
    known_layers = set(res.columns)
    for col, allowed in (
        ("subject", set(res.subjects)),
        ("network", set(res.networks)),
        ("atlas", set(res.atlases)),
    ):
        if col in table.columns:
            unknown = sorted(set(table[col]) - allowed - {""})
            if unknown:
                raise ResultsError(f"{path}: {col} {', '.join(unknown)} not in manifest.json order")
    if "roi" in table.columns:
        for atlas, rows in table.groupby("atlas", sort=False):
            unknown = sorted(set(rows["roi"]) - set(res.rois(str(atlas))))
            if unknown:
                raise ResultsError(f"{path}: roi {', '.join(unknown)} not in manifest.json order")
    if {"network", "layer"} <= set(table.columns):
        unknown = sorted(
            f"{n}:{layer}"
            for n, layer in set(zip(table["network"], table["layer"], strict=True)) - known_layers
        )
        if unknown:
            raise ResultsError(f"{path}: layer(s) {', '.join(unknown)} not in manifest.json order")


def _normalise_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """Accept the single-atlas manifest as well: ROIs and groups become {'default': ...}."""
    order = manifest["order"]
    if not order.get("atlases"):
        order["atlases"] = [DEFAULT_ATLAS]
    if isinstance(order["rois"], list):
        order["rois"] = {order["atlases"][0]: order["rois"]}
    if isinstance(order["groups"], list):
        order["groups"] = {order["atlases"][0]: order["groups"]}
    groups = manifest.get("roi_groups") or {}
    if groups and not all(isinstance(v, dict) for v in groups.values()):
        manifest["roi_groups"] = {order["atlases"][0]: groups}
    return manifest


def load_manifest(folder: Path) -> dict[str, Any]:
    """Read and check ``manifest.json``."""
    path = folder / "manifest.json"
    if not folder.is_dir():
        raise ResultsError(
            f"{folder}: results folder not found (set RSA_RESULTS or run `python -m analysis run`)"
        )
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
    return _normalise_manifest(manifest)


def load_results(folder: Path | None = None) -> Results:
    """Load and check every table the report needs from ``folder`` (default: ``results_dir()``)."""
    folder = results_dir() if folder is None else Path(folder)
    manifest = load_manifest(folder)
    tables = {}
    for name in REQUIRED_TABLES:
        path = folder / f"{name}.csv"
        if not path.is_file():
            raise ResultsError(
                f"{path}: missing (the results folder is incomplete; run `python -m analysis run`)"
            )
        tables[name] = _read_csv(path, required_columns(name), allow_empty=name in MAY_BE_EMPTY)
    optional = {
        name: table
        for name in TABLES
        if name not in REQUIRED_TABLES and (folder / f"{name}.csv").is_file()
        for table in [_read_csv(folder / f"{name}.csv", required_columns(name), allow_empty=True)]
        if not table.empty
    }
    res = Results(path=folder, manifest=manifest, optional=optional, **tables)
    for name, table in {**tables, **optional}.items():
        _check_labels(folder / f"{name}.csv", table, res)
    return res
