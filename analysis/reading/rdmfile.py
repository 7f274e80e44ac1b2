"""Read one rsatoolbox RDM file (HDF5) lazily: descriptors first, one RDM vector at a time.

rsatoolbox's own reader loads every RDM of a file at once (about 1 GB for a BOLD5000 subject);
reading rows with h5py keeps memory at one vector per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import AnalysisError


@dataclass(frozen=True)
class RDMFile:
    """The descriptors of one RDM file, and the means to read its vectors."""

    path: Path
    images: tuple[str, ...]
    names: tuple[str, ...]
    image_key: str
    name_key: str
    measure: str
    synthetic: bool
    rsatoolbox_version: str

    @property
    def n_images(self) -> int:
        return len(self.images)

    def read(self, rows: list[int]) -> np.ndarray:
        """The dissimilarity vectors of the given rows, in file image order, checked finite."""
        try:
            with h5py.File(self.path, "r") as file:
                dataset = file["dissimilarities"]
                vectors = np.stack([_row(dataset, row) for row in rows])
        except (OSError, KeyError) as err:
            raise AnalysisError(self.path, f"cannot read dissimilarities ({err})") from None
        finite = np.isfinite(vectors).all(axis=1)
        if not finite.all():
            bad = [self.names[rows[i]] for i in np.flatnonzero(~finite)]
            raise AnalysisError(self.path, f"NaN or inf in the dissimilarities of {', '.join(bad)}")
        return vectors


def _row(dataset: h5py.Dataset, row: int) -> np.ndarray:
    if dataset.ndim == 1:
        return np.asarray(dataset[:], dtype=np.float64)
    return np.asarray(dataset[row], dtype=np.float64)


def open_rdm_file(
    path: str | Path, name_role: str, name_key: str | None = None, image_key: str | None = None
) -> RDMFile:
    """Open an RDM file and check its layout; `name_role` ('roi' or 'layer') is used in messages.

    The RDM name key (ROI or layer) is detected as the one rdm descriptor besides `index` whose
    string values name each RDM uniquely, unless `name_key` is given.
    """
    path = Path(path)
    if not path.exists():
        raise AnalysisError(path, "file not found")
    try:
        with h5py.File(path, "r") as file:
            return _describe(file, path, name_role, name_key, image_key)
    except OSError:
        raise AnalysisError(path, "not an HDF5 file, or truncated") from None


def _describe(
    file: h5py.File, path: Path, name_role: str, name_key: str | None, image_key: str | None
) -> RDMFile:
    if "dissimilarities" not in file or not isinstance(file["dissimilarities"], h5py.Dataset):
        raise AnalysisError(path, "no 'dissimilarities' dataset: not an rsatoolbox RDM file")
    dataset = file["dissimilarities"]
    if dataset.ndim not in (1, 2) or not np.issubdtype(dataset.dtype, np.number):
        raise AnalysisError(
            path,
            f"'dissimilarities' must be a 2-D numeric array, found shape "
            f"{dataset.shape} of {dataset.dtype}",
        )
    n_rdm = 1 if dataset.ndim == 1 else dataset.shape[0]
    n_pairs = dataset.shape[-1]
    patterns = _read_descriptors(file.get("pattern_descriptors"))
    rdm_descriptors = _read_descriptors(file.get("rdm_descriptors"))
    image_key = _pick_key(patterns, None, image_key, path, "image", "pattern_descriptors")
    images = _as_names(patterns[image_key])
    if repeated := _duplicates(images):
        raise AnalysisError(
            path,
            f"duplicate image names in pattern_descriptors/{image_key}: {', '.join(repeated[:5])}",
        )
    expected = len(images) * (len(images) - 1) // 2
    if n_pairs != expected:
        raise AnalysisError(
            path,
            f"wrong vector length: {n_pairs} dissimilarities per RDM, but "
            f"{len(images)} images need {expected}",
        )
    name_key = _pick_key(rdm_descriptors, n_rdm, name_key, path, name_role, "rdm_descriptors")
    names = _as_names(rdm_descriptors[name_key])
    if len(names) != n_rdm:
        raise AnalysisError(
            path, f"rdm_descriptors/{name_key} has {len(names)} names for {n_rdm} RDMs"
        )
    if repeated := _duplicates(names):
        raise AnalysisError(
            path,
            f"duplicate {name_role} names in rdm_descriptors/{name_key}: {', '.join(repeated[:5])}",
        )
    descriptors = _read_descriptors(file.get("descriptors"))
    return RDMFile(
        path=path,
        images=tuple(images),
        names=tuple(names),
        image_key=image_key,
        name_key=name_key,
        measure=_text(file.attrs.get("dissimilarity_measure", file.get("dissimilarity_measure"))),
        synthetic=_text(descriptors.get("synthetic", "")).lower() in ("true", "1", "yes"),
        rsatoolbox_version=_text(file.attrs.get("rsatoolbox_version", "")),
    )


def _pick_key(
    descriptors: dict[str, Any],
    n_expected: int | None,
    key: str | None,
    path: Path,
    role: str,
    group: str,
) -> str:
    """The descriptor that names each entry uniquely, as configured or detected."""
    if key is not None:
        if key not in descriptors:
            raise AnalysisError(
                path,
                f"no {group}/{key} (the study's descriptors.{role}); "
                f"found: {', '.join(sorted(descriptors)) or 'none'}",
            )
        return key
    named = [
        k
        for k, v in descriptors.items()
        if k != "index" and _is_names(v) and (n_expected is None or len(v) == n_expected)
    ]
    unique = [k for k in named if len(set(descriptors[k])) == len(descriptors[k])]
    if len(unique) == 1:
        return unique[0]
    if len(unique) > 1:
        raise AnalysisError(
            path,
            f"several {group} entries could name the {role}s "
            f"({', '.join(sorted(unique))}); set descriptors.{role} in the study file",
        )
    if (
        len(named) == 1
    ):  # the only naming entry repeats a name: reported as duplicates by the caller
        return named[0]
    raise AnalysisError(
        path,
        f"no {group} entry names each {role} uniquely "
        f"(found: {', '.join(sorted(descriptors)) or 'none'}); "
        f"set descriptors.{role} in the study file",
    )


def _as_names(values: Any) -> Any:
    """Numeric identifiers (a descriptor the study names explicitly) as text: 1000 -> '1000'."""
    if not isinstance(values, list) or all(isinstance(v, str) for v in values):
        return values
    return [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in values]


def _is_names(values: Any) -> bool:
    return isinstance(values, list) and len(values) > 0 and all(isinstance(v, str) for v in values)


def _duplicates(names: list[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({name for name in names if name in seen or seen.add(name)})


def _read_descriptors(group: Any) -> dict[str, Any]:
    """A descriptor group as {key: list of str, or a
    scalar}, from datasets, list-groups or attrs."""
    if not isinstance(group, h5py.Group):
        return {}
    result: dict[str, Any] = {}
    for key, item in group.items():
        if isinstance(item, h5py.Group):  # rsatoolbox writes ragged lists as groups '0', '1', ...
            ordered = sorted(item.keys(), key=lambda k: int(k) if k.isdigit() else k)
            result[key] = [_text(item[k][()]) for k in ordered]
        elif item.shape is None:
            result[key] = None
        elif item.ndim == 0:
            result[key] = _text(item[()])
        else:
            result[key] = [_text(v) for v in item[()]]
    for key, value in group.attrs.items():
        if isinstance(value, np.ndarray) and value.ndim == 1:
            result[key] = [_text(v) for v in value]
        else:
            result[key] = _text(value)
    return result


def _text(value: Any) -> Any:
    """Decode HDF5 byte strings; leave numbers as Python scalars."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, h5py.Dataset):
        return _text(value[()]) if value.shape is not None else ""
    if isinstance(value, np.generic):
        return value.item()
    return "" if value is None else value
