"""Content-addressed caching of analysis stages.

A stage's key is the sha256 of everything its tables depend on: every input file's sha256,
the parts of the study and the parameters that the stage uses, the source of the code it
runs (whole subpackages, see stages.STAGE_CODE) and the versions of its dependencies.
Hashing a 1 GB input every time would dominate a cached rebuild, so file hashes are
memoised by (size, mtime, inode); an entry is trusted only when the file had been unchanged
for a while when it was hashed (git's "racily clean" rule), and `verify` rehashes all.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .provenance import sha256_and_finite, versions

PACKAGE_DIR = Path(__file__).resolve().parents[1]
RACY_WINDOW_NS = 2_000_000_000
MAX_HASH_THREADS = 4  # files hashed at once on a first run (more would only seek the disk)


@dataclass
class HashCache:
    """sha256 of files, memoised by stat in a JSON file; `verify` ignores the memo."""

    path: Path
    verify: bool = False

    def __post_init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        if self.path.exists() and not self.verify:
            try:
                self.entries = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.entries = {}
        self.hashed: list[str] = []

    def sha256(self, file: Path) -> str:
        """The file's sha256, from the memo when its stat matches and was not racy."""
        file = Path(file).resolve()
        entry = self._memoised(file)
        if entry is not None:
            return entry["sha256"]
        entry = _hashed(file)
        self.entries[str(file)] = entry
        self.hashed.append(str(file))
        return entry["sha256"]

    def hash_stale(self, files: list[Path], threads: int = MAX_HASH_THREADS) -> None:
        """Hash the files the memo cannot vouch for, `threads` at a time (file reads and sha256
        release the GIL: reading one file overlaps hashing another), largest first; sha256()
        then finds them. A file that cannot be read is left for sha256() to report."""
        stale = sorted(
            {Path(f).resolve() for f in files if self._memoised(Path(f).resolve()) is None},
            key=lambda f: -f.stat().st_size,
        )
        if len(stale) < 2 or threads < 2:
            return
        from concurrent.futures import ThreadPoolExecutor

        def attempt(file: Path) -> dict[str, Any] | None:
            try:
                return _hashed(file)
            except OSError:
                return None

        with ThreadPoolExecutor(max_workers=min(threads, MAX_HASH_THREADS)) as pool:
            entries = dict(zip(stale, pool.map(attempt, stale), strict=True))
        for file in files:  # in the caller's order, as sha256() would have recorded them
            entry = entries.pop(Path(file).resolve(), None)
            if entry is not None:
                self.entries[str(Path(file).resolve())] = entry
                self.hashed.append(str(Path(file).resolve()))

    def finite_files(self, files: list[Path]) -> frozenset[str]:
        """The files (resolved) whose every dissimilarity was found finite when hashed, in this
        run or (memo trusted) before."""
        resolved = [Path(f).resolve() for f in files]
        entries = (
            self.entries.get(str(f)) if str(f) in self.hashed else self._memoised(f)
            for f in resolved
        )
        return frozenset(
            str(f)
            for f, entry in zip(resolved, entries, strict=True)
            if entry is not None and entry.get("finite") is True
        )

    def _memoised(self, file: Path) -> dict[str, Any] | None:
        """The memo's entry for a resolved file if its stat matches and it was not racy."""
        stat = file.stat()
        entry = self.entries.get(str(file))
        if (
            entry is not None
            and entry.get("size") == stat.st_size
            and entry.get("mtime_ns") == stat.st_mtime_ns
            and entry.get("inode") == stat.st_ino
            and entry.get("hashed_at_ns", 0) - stat.st_mtime_ns > RACY_WINDOW_NS
        ):
            return entry
        return None

    def save(self) -> None:
        """Persist the memo (best effort: a read-only cache only costs speed)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".tmp-{os.getpid()}")
            temporary.write_text(
                json.dumps(self.entries, indent=1, sort_keys=True), encoding="utf-8"
            )
            os.replace(temporary, self.path)
        except OSError:
            pass


def _hashed(file: Path) -> dict[str, Any]:
    """A memo entry for a file: its stat, its sha256, when it was hashed and, for an HDF5 file
    whose dissimilarities can be read in place, whether they are all finite (the same read:
    the aligned store then need not read them again to check)."""
    from ..reading.store import FLOAT, contiguous_layout  # h5py: only when a file is hashed

    stat = file.stat()
    hashed_at = time.time_ns()
    layout = contiguous_layout(file)
    region = None if layout is None else (layout[0], layout[1] * layout[2] * FLOAT.itemsize)
    digest, finite = sha256_and_finite(file, region)
    entry = {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "inode": stat.st_ino,
        "sha256": digest,
        "hashed_at_ns": hashed_at,
    }
    return entry if finite is None else {**entry, "finite": finite}


def code_files(parts: tuple[str, ...], root: Path | None = None) -> list[Path]:
    """Every Python source under the given modules and subpackages of the package, sorted."""
    root = PACKAGE_DIR if root is None else root
    files: set[Path] = set()
    for part in parts:
        path = root / part
        files.update(path.rglob("*.py") if path.is_dir() else [path])
    return sorted(files)


def code_fingerprint(parts: tuple[str, ...], root: Path | None = None) -> str:
    """sha256 over the source of the given modules and
    whole subpackages (missing ones count as absent)."""
    root = PACKAGE_DIR if root is None else root
    digest = hashlib.sha256()
    for source in code_files(parts, root):
        digest.update(source.relative_to(root).as_posix().encode() + b"\0")
        digest.update(source.read_bytes() if source.exists() else b"<absent>")
        digest.update(b"\0")
    return digest.hexdigest()


def stage_key(
    stage: str, inputs: dict[str, str], parameters: dict[str, Any], code: tuple[str, ...]
) -> str:
    """The cache key of one stage: a sha256 of everything its tables depend on (`code`: its parts
    of the package, as in stages.STAGE_CODE)."""
    material = {
        "stage": stage,
        "inputs": dict(sorted(inputs.items())),
        "parameters": parameters,
        "code": code_fingerprint(code),
        "versions": versions(),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
