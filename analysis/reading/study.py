"""What a study is: the subject, group-mean and network RDM files, ROI groups, how image names
are matched and aligned, the comparison method.

A study is a YAML file; paths in it are relative to the file's folder. A subject maps to one
file (one atlas, named `DEFAULT_ATLAS`) or to {atlas: file}; `roi_groups` and `rois` are lists
for a one-atlas study or {atlas: ...} for several.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import AnalysisError, check_choice
from ..schema import DEFAULT_ATLAS, METHODS

DESCRIPTOR_KEYS = ("image", "roi", "layer")
MATCHES = ("exact", "stem-casefold")
ALIGNMENTS = ("common", "per-subject")
_KNOWN_KEYS = {
    "dataset",
    "title",
    "subjects",
    "group_mean",
    "networks",
    "roi_groups",
    "rois",
    "method",
    "descriptors",
    "bootstrap",
    "images",
}
_IMAGE_KEYS = {"match", "align", "sources", "allow_image_loss"}
#: The keys of a network given as a mapping: `{file: models.h5, ordered: false}`.
NETWORK_KEYS = ("file", "ordered")
#: The keys of a study's `dataset` section: what the data are and where they come from.
DATASET_KEYS = (
    "name",
    "description",
    "doi",
    "url",
    "licence",
    "cite",
    "subjects",
    "rdms",
    "acknowledgements",
)
#: The bibliography the report cites from; a study's `dataset.cite` keys must be in it.
REFERENCES = Path(__file__).resolve().parents[2] / "references.bib"


@dataclass(frozen=True)
class Bootstrap:
    """How many bootstrap samples to draw, and from which seed."""

    samples: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class Images:
    """How image names are matched between files, which images each table uses, their sources.

    match: 'exact', or 'stem-casefold' (ignore folders, extension and letter case);
    align: 'common' (every table on the images every file holds) or 'per-subject' (per_subject
    rows on the images a subject shares with the networks); sources: {source: regex}, the first
    pattern that matches an image name names its source; allow_image_loss: permit dropping more
    than half of a file's images. `explicit` records whether the study set `match` itself.
    """

    match: str = "exact"
    align: str = "common"
    sources: dict[str, str] = field(default_factory=dict)
    allow_image_loss: bool = False
    explicit: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "match": self.match,
            "align": self.align,
            "sources": self.sources,
            "allow_image_loss": self.allow_image_loss,
        }


@dataclass(frozen=True)
class Dataset:
    """What the data are, as the study file declares them; empty fields are unknown.

    name, description: what the data set is; doi, url: where its files come from (a DOI without
    the resolver, e.g. 10.5061/dryad.wpzgmsbtr); licence: the data's licence; cite: keys of
    `references.bib` to cite for the data; subjects: who the subjects are; rdms: how the RDMs
    were made; acknowledgements: whom to thank. `declared` is false when the study has no
    `dataset` section, so the report uses neutral wording.
    """

    name: str = ""
    description: str = ""
    doi: str = ""
    url: str = ""
    licence: str = ""
    cite: tuple[str, ...] = ()
    subjects: str = ""
    rdms: str = ""
    acknowledgements: str = ""
    declared: bool = False

    @property
    def source_url(self) -> str:
        """Where the files come from: the DOI's resolver address, else the URL, else ''."""
        return f"https://doi.org/{self.doi}" if self.doi else self.url

    def as_dict(self) -> dict[str, Any]:
        return {
            key: (list(value) if key == "cite" else value)
            for key, value in ((k, getattr(self, k)) for k in (*DATASET_KEYS, "declared"))
        }


@dataclass(frozen=True)
class Study:
    """A parsed, validated study file.

    subjects: {subject: {atlas: file}} (every subject has every atlas); group_mean: {atlas: file};
    roi_groups: {atlas: {group: [roi, ...]}}; rois: {atlas: [roi, ...]} (absent: all ROIs);
    networks_ordered: {network: bool}, false for a network whose RDMs are not layers in depth
    order (e.g. a set of model RDMs), true by default.
    """

    path: Path
    title: str
    subjects: dict[str, dict[str, Path]]
    networks: dict[str, Path]
    networks_ordered: dict[str, bool] = field(default_factory=dict)
    group_mean: dict[str, Path] = field(default_factory=dict)
    roi_groups: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    rois: dict[str, list[str]] = field(default_factory=dict)
    method: str = "corr"
    descriptors: dict[str, str] = field(default_factory=dict)
    bootstrap: Bootstrap = field(default_factory=Bootstrap)
    images: Images = field(default_factory=Images)
    dataset: Dataset = field(default_factory=Dataset)
    sha256: str = ""

    @property
    def atlases(self) -> tuple[str, ...]:
        """The atlases, in the order the first subject lists them."""
        return tuple(next(iter(self.subjects.values())))

    def files(self) -> list[tuple[str, str, str, Path]]:
        """Every input file as (role, name, atlas, path): subjects, group means, networks."""
        return (
            [
                ("subject", s, a, p)
                for s, atlases in self.subjects.items()
                for a, p in atlases.items()
            ]
            + [("group_mean", "MEAN", a, p) for a, p in self.group_mean.items()]
            + [("network", n, "", p) for n, p in self.networks.items()]
        )

    def as_dict(self) -> dict[str, Any]:
        """The study as plain JSON-ready data (paths as given, relative to the study file)."""
        folder = self.path.parent
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "title": self.title,
            "subjects": {
                s: {a: _relative(p, folder) for a, p in atlases.items()}
                for s, atlases in self.subjects.items()
            },
            "group_mean": {a: _relative(p, folder) for a, p in self.group_mean.items()},
            "networks": {k: _relative(v, folder) for k, v in self.networks.items()},
            "networks_ordered": {k: self.networks_ordered.get(k, True) for k in self.networks},
            "roi_groups": self.roi_groups,
            "rois": self.rois,
            "method": self.method,
            "descriptors": self.descriptors,
            "bootstrap": {"samples": self.bootstrap.samples, "seed": self.bootstrap.seed},
            "images": self.images.as_dict(),
            "dataset": self.dataset.as_dict(),
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
        raise AnalysisError(
            path, "malformed study file: expected a mapping with 'subjects' and 'networks'"
        )
    unknown = sorted(set(map(str, raw)) - _KNOWN_KEYS)
    if unknown:
        raise AnalysisError(
            path,
            f"malformed study file: unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(_KNOWN_KEYS))}",
        )
    folder = path.parent
    subjects = _subjects(raw, path, folder)
    atlases = tuple(next(iter(subjects.values())))
    networks, networks_ordered = _networks(raw, path, folder)
    return Study(
        path=path,
        title=_title(raw, path),
        subjects=subjects,
        networks=networks,
        networks_ordered=networks_ordered,
        group_mean=_group_mean(raw.get("group_mean"), atlases, path, folder),
        roi_groups=_per_atlas(raw.get("roi_groups"), "roi_groups", atlases, path, _roi_groups),
        rois=_per_atlas(raw.get("rois"), "rois", atlases, path, _string_list),
        method=_method(raw.get("method", "corr"), path),
        descriptors=_descriptors(raw.get("descriptors"), path),
        bootstrap=_bootstrap(raw.get("bootstrap"), path),
        images=_images(raw.get("images"), path),
        dataset=_dataset(raw.get("dataset"), path),
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
    )


def _title(raw: dict, path: Path) -> str:
    title = raw.get("title", path.parent.name)
    if not isinstance(title, str) or not title.strip():
        raise AnalysisError(path, "malformed study file: 'title' must be a non-empty string")
    return title.strip()


def _subjects(raw: dict, path: Path, folder: Path) -> dict[str, dict[str, Path]]:
    """subject → {atlas: file}; a plain file is the one atlas DEFAULT_ATLAS. Every subject must
    have the same atlases."""
    value = raw.get("subjects")
    if not isinstance(value, dict) or not value:
        raise AnalysisError(path, "malformed study file: 'subjects' must map names to RDM files")
    subjects = {}
    for name, entry in value.items():
        if isinstance(entry, dict):
            subjects[str(name)] = _file_mapping(
                {f"subjects.{name}": entry}, f"subjects.{name}", path, folder
            )
        else:
            subjects[str(name)] = {
                DEFAULT_ATLAS: _file_path(entry, f"subjects.{name}", path, folder)
            }
    atlases = {s: list(a) for s, a in subjects.items()}
    first, expected = next(iter(atlases.items()))
    for subject, names in atlases.items():
        missing = [a for a in expected if a not in names]
        extra = [a for a in names if a not in expected]
        if missing or extra:
            which = (
                f"has no file for atlas {', '.join(missing)}"
                if missing
                else f"has atlas {', '.join(extra)}, which {first} does not have"
            )
            raise AnalysisError(
                path, f"subject {subject} {which}: every subject needs the same atlases"
            )
    return subjects


def _file_path(file: Any, where: str, path: Path, folder: Path) -> Path:
    if not isinstance(file, str) or not file:
        raise AnalysisError(path, f"malformed study file: {where} must be a file path")
    return folder / file


def _group_mean(value: Any, atlases: tuple[str, ...], path: Path, folder: Path) -> dict[str, Path]:
    if value is None:
        return {}
    if isinstance(value, str) and len(atlases) == 1:
        return {atlases[0]: _file_path(value, "group_mean", path, folder)}
    files = _file_mapping({"group_mean": value}, "group_mean", path, folder)
    unknown = [a for a in files if a not in atlases]
    if unknown:
        raise AnalysisError(
            path,
            f"group_mean names atlas {', '.join(unknown)}, which no subject has "
            f"(atlases: {', '.join(atlases)})",
        )
    return files


def _per_atlas(value: Any, key: str, atlases: tuple[str, ...], path: Path, parse) -> dict:
    """{atlas: parsed} from either {atlas: value} or, for a one-atlas study, the value itself."""
    if value is None:
        return {}
    per_atlas = (
        isinstance(value, dict)
        and value
        and all(isinstance(v, dict if key == "roi_groups" else list) for v in value.values())
        and (
            key != "roi_groups"
            or all(isinstance(g, list) for v in value.values() for g in v.values())
        )
    )
    if not per_atlas:
        if len(atlases) != 1:
            raise AnalysisError(
                path,
                f"malformed study file: with several atlases, '{key}' must map "
                f"each atlas to its {key.replace('_', ' ')}",
            )
        return {atlases[0]: parse(value, key, path)}
    unknown = [a for a in value if a not in atlases]
    if unknown:
        raise AnalysisError(
            path,
            f"{key} names atlas {', '.join(map(str, unknown))}, which no subject has "
            f"(atlases: {', '.join(atlases)})",
        )
    return {str(a): parse(v, f"{key}.{a}", path) for a, v in value.items()}


def _file_mapping(raw: dict, key: str, path: Path, folder: Path) -> dict[str, Path]:
    value = raw.get(key)
    if not isinstance(value, dict) or not value:
        raise AnalysisError(path, f"malformed study file: '{key}' must map names to RDM files")
    return {
        str(name): _file_path(file, f"{key}.{name}", path, folder) for name, file in value.items()
    }


def _networks(raw: dict, path: Path, folder: Path) -> tuple[dict[str, Path], dict[str, bool]]:
    """network → file, and network → ordered: `name: file`, or `name: {file: …, ordered: bool}`
    (ordered: its RDMs are layers in depth order; default true)."""
    value = raw.get("networks")
    if not isinstance(value, dict) or not value:
        raise AnalysisError(path, "malformed study file: 'networks' must map names to RDM files")
    files, ordered = {}, {}
    for name, entry in value.items():
        where = f"networks.{name}"
        if isinstance(entry, dict):
            unknown = sorted(set(map(str, entry)) - set(NETWORK_KEYS))
            if unknown:
                raise AnalysisError(
                    path,
                    f"malformed study file: unknown key(s) {', '.join(unknown)} in {where}; "
                    f"allowed: {', '.join(NETWORK_KEYS)}",
                )
            flag = entry.get("ordered", True)
            if not isinstance(flag, bool):
                raise AnalysisError(
                    path, f"malformed study file: {where}.ordered must be true or false"
                )
            files[str(name)] = _file_path(entry.get("file"), f"{where}.file", path, folder)
            ordered[str(name)] = flag
        else:
            files[str(name)] = _file_path(entry, where, path, folder)
            ordered[str(name)] = True
    return files, ordered


def _string_list(value: Any, key: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise AnalysisError(
            path, f"malformed study file: '{key}' must be a non-empty list of names"
        )
    if len(set(value)) != len(value):
        raise AnalysisError(path, f"malformed study file: '{key}' lists a name twice")
    return list(value)


def _roi_groups(value: Any, key: str, path: Path) -> dict[str, list[str]]:
    if not isinstance(value, dict) or not value:
        raise AnalysisError(
            path, f"malformed study file: '{key}' must map group names to ROI lists"
        )
    groups = {
        str(group): _string_list(rois, f"{key}.{group}", path) for group, rois in value.items()
    }
    seen: dict[str, str] = {}
    for group, rois in groups.items():
        for roi in rois:
            if roi in seen:
                raise AnalysisError(
                    path,
                    f"malformed study file: ROI {roi} is in groups "
                    f"{seen[roi]!r} and {group!r} of {key}",
                )
            seen[roi] = group
    return groups


def _method(value: Any, path: Path) -> str:
    return check_choice(value, METHODS, "method", path)


def _descriptors(value: Any, path: Path) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise AnalysisError(
            path, "malformed study file: 'descriptors' must map image/roi/layer to names"
        )
    unknown = sorted(set(value) - set(DESCRIPTOR_KEYS))
    if unknown:
        raise AnalysisError(
            path,
            f"malformed study file: unknown descriptor key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(DESCRIPTOR_KEYS)}",
        )
    return dict(value)


def _images(value: Any, path: Path) -> Images:
    if value is None:
        return Images()
    if not isinstance(value, dict) or set(map(str, value)) - _IMAGE_KEYS:
        raise AnalysisError(
            path, f"malformed study file: 'images' takes only {', '.join(sorted(_IMAGE_KEYS))}"
        )
    match = value.get("match", "exact")
    check_choice(match, MATCHES, "images.match", path)
    align = value.get("align", "common")
    check_choice(align, ALIGNMENTS, "images.align", path)
    sources = value.get("sources") or {}
    if not isinstance(sources, dict) or not all(isinstance(p, str) for p in sources.values()):
        raise AnalysisError(
            path, "malformed study file: images.sources must map source names to patterns"
        )
    for name, pattern in sources.items():
        try:
            re.compile(pattern)
        except re.error as err:
            raise AnalysisError(
                path, f"images.sources.{name}: not a regular expression ({err})"
            ) from None
    allow = value.get("allow_image_loss", False)
    if not isinstance(allow, bool):
        raise AnalysisError(
            path, "malformed study file: images.allow_image_loss must be true or false"
        )
    return Images(
        match=match,
        align=align,
        sources={str(k): v for k, v in sources.items()},
        allow_image_loss=allow,
        explicit="match" in value,
    )


def _bootstrap(value: Any, path: Path) -> Bootstrap:
    if value is None:
        return Bootstrap()
    if not isinstance(value, dict) or set(value) - {"samples", "seed"}:
        raise AnalysisError(
            path, "malformed study file: 'bootstrap' takes only 'samples' and 'seed'"
        )
    samples = value.get("samples", Bootstrap.samples)
    seed = value.get("seed", Bootstrap.seed)
    if not _is_int(samples) or samples < 0:
        raise AnalysisError(
            path, "malformed study file: bootstrap.samples must be a whole number ≥ 0"
        )
    if not _is_int(seed) or seed < 0:
        raise AnalysisError(path, "malformed study file: bootstrap.seed must be a whole number ≥ 0")
    return Bootstrap(samples=samples, seed=seed)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dataset(value: Any, path: Path, references: Path = REFERENCES) -> Dataset:
    """The `dataset` section: known keys only, text values, and citation keys that exist."""
    if value is None:
        return Dataset()
    if not isinstance(value, dict):
        raise AnalysisError(path, "malformed study file: 'dataset' must map keys to text")
    unknown = sorted(set(map(str, value)) - set(DATASET_KEYS))
    if unknown:
        raise AnalysisError(
            path,
            f"malformed study file: unknown dataset key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(DATASET_KEYS)}",
        )
    fields: dict[str, Any] = {}
    for key, item in value.items():
        if key == "cite":
            keys = [item] if isinstance(item, str) else item
            if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
                raise AnalysisError(
                    path, "malformed study file: dataset.cite must be a key or a list of keys"
                )
            fields["cite"] = tuple(keys)
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            fields[key] = str(item).strip()
        else:
            raise AnalysisError(path, f"malformed study file: dataset.{key} must be text")
    doi = fields.get("doi", "")
    for prefix in ("https://doi.org/", "http://doi.org/", "doi:"):
        doi = doi.removeprefix(prefix)
    fields["doi"] = doi
    missing = [k for k in fields.get("cite", ()) if k not in bibliography_keys(references)]
    if missing:
        raise AnalysisError(
            path,
            f"dataset.cite names {', '.join(missing)}, which {references.name} does not have",
        )
    return Dataset(**fields, declared=True)


def bibliography_keys(references: Path = REFERENCES) -> set[str]:
    """The entry keys of a BibTeX file (empty when it does not exist)."""
    try:
        text = references.read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    return set(re.findall(r"^\s*@\w+\s*\{\s*([^,\s]+)\s*,", text, flags=re.MULTILINE))
