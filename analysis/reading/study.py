"""What a study is: the subject and network RDM files, ROI groups, the comparison method.

A study is a YAML file; paths in it are relative to the file's folder.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import AnalysisError
from ..schema import METHODS

DESCRIPTOR_KEYS = ("image", "roi", "layer")
_KNOWN_KEYS = {"title", "subjects", "networks", "roi_groups", "rois", "method",
               "descriptors", "bootstrap"}


@dataclass(frozen=True)
class Bootstrap:
    """How many bootstrap samples to draw, and from which seed."""

    samples: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class Study:
    """A parsed, validated study file."""

    path: Path
    title: str
    subjects: dict[str, Path]
    networks: dict[str, Path]
    roi_groups: dict[str, list[str]] = field(default_factory=dict)
    rois: list[str] | None = None
    method: str = "corr"
    descriptors: dict[str, str] = field(default_factory=dict)
    bootstrap: Bootstrap = field(default_factory=Bootstrap)
    sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The study as plain JSON-ready data (paths as given, relative to the study file)."""
        folder = self.path.parent
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "title": self.title,
            "subjects": {k: _relative(v, folder) for k, v in self.subjects.items()},
            "networks": {k: _relative(v, folder) for k, v in self.networks.items()},
            "roi_groups": self.roi_groups,
            "rois": self.rois,
            "method": self.method,
            "descriptors": self.descriptors,
            "bootstrap": {"samples": self.bootstrap.samples, "seed": self.bootstrap.seed},
        }


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)


def load_study(path: str | Path) -> Study:
    """Read and validate a study file; every problem becomes one AnalysisError naming the file."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise AnalysisError(path, "study file not found") from None
    except OSError as err:
        raise AnalysisError(path, f"cannot read study file ({err.strerror})") from None
    try:
        raw = yaml.safe_load(raw_bytes)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise AnalysisError(path, f"malformed study file: not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise AnalysisError(path, "malformed study file: expected a mapping with 'subjects' and 'networks'")
    unknown = sorted(set(map(str, raw)) - _KNOWN_KEYS)
    if unknown:
        raise AnalysisError(path, f"malformed study file: unknown key(s) {', '.join(unknown)}; "
                                  f"allowed: {', '.join(sorted(_KNOWN_KEYS))}")
    folder = path.parent
    subjects = _file_mapping(raw, "subjects", path, folder)
    networks = _file_mapping(raw, "networks", path, folder)
    return Study(
        path=path,
        title=_title(raw, path),
        subjects=subjects,
        networks=networks,
        roi_groups=_roi_groups(raw.get("roi_groups"), path),
        rois=_string_list(raw.get("rois"), "rois", path),
        method=_method(raw.get("method", "corr"), path),
        descriptors=_descriptors(raw.get("descriptors"), path),
        bootstrap=_bootstrap(raw.get("bootstrap"), path),
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
    )


def _title(raw: dict, path: Path) -> str:
    title = raw.get("title", path.parent.name)
    if not isinstance(title, str) or not title.strip():
        raise AnalysisError(path, "malformed study file: 'title' must be a non-empty string")
    return title.strip()


def _file_mapping(raw: dict, key: str, path: Path, folder: Path) -> dict[str, Path]:
    value = raw.get(key)
    if not isinstance(value, dict) or not value:
        raise AnalysisError(path, f"malformed study file: '{key}' must map names to RDM files")
    files = {}
    for name, file in value.items():
        if not isinstance(file, str) or not file:
            raise AnalysisError(path, f"malformed study file: {key}.{name} must be a file path")
        files[str(name)] = (folder / file)
    return files


def _string_list(value: Any, key: str, path: Path) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise AnalysisError(path, f"malformed study file: '{key}' must be a non-empty list of names")
    if len(set(value)) != len(value):
        raise AnalysisError(path, f"malformed study file: '{key}' lists a name twice")
    return list(value)


def _roi_groups(value: Any, path: Path) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not value:
        raise AnalysisError(path, "malformed study file: 'roi_groups' must map group names to ROI lists")
    groups = {str(group): _string_list(rois, f"roi_groups.{group}", path) for group, rois in value.items()}
    seen: dict[str, str] = {}
    for group, rois in groups.items():
        for roi in rois:
            if roi in seen:
                raise AnalysisError(path, f"malformed study file: ROI {roi} is in groups "
                                          f"{seen[roi]!r} and {group!r}")
            seen[roi] = group
    return groups


def _method(value: Any, path: Path) -> str:
    if value not in METHODS:
        raise AnalysisError(path, f"unknown method {value!r}; choose one of {', '.join(METHODS)}")
    return value


def _descriptors(value: Any, path: Path) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise AnalysisError(path, "malformed study file: 'descriptors' must map image/roi/layer to names")
    unknown = sorted(set(value) - set(DESCRIPTOR_KEYS))
    if unknown:
        raise AnalysisError(path, f"malformed study file: unknown descriptor key(s) {', '.join(unknown)}; "
                                  f"allowed: {', '.join(DESCRIPTOR_KEYS)}")
    return dict(value)


def _bootstrap(value: Any, path: Path) -> Bootstrap:
    if value is None:
        return Bootstrap()
    if not isinstance(value, dict) or set(value) - {"samples", "seed"}:
        raise AnalysisError(path, "malformed study file: 'bootstrap' takes only 'samples' and 'seed'")
    samples = value.get("samples", Bootstrap.samples)
    seed = value.get("seed", Bootstrap.seed)
    if not _is_int(samples) or samples < 0:
        raise AnalysisError(path, "malformed study file: bootstrap.samples must be a whole number ≥ 0")
    if not _is_int(seed) or seed < 0:
        raise AnalysisError(path, "malformed study file: bootstrap.seed must be a whole number ≥ 0")
    return Bootstrap(samples=samples, seed=seed)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
