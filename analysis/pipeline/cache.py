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

from .provenance import sha256_file, versions

PACKAGE_DIR = Path(__file__).resolve().parents[1]
RACY_WINDOW_NS = 2_000_000_000


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
        stat = file.stat()
        signature = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}
        entry = self.entries.get(str(file))
        if (
            entry is not None
            and all(entry.get(k) == v for k, v in signature.items())
            and entry.get("hashed_at_ns", 0) - stat.st_mtime_ns > RACY_WINDOW_NS
        ):
            return entry["sha256"]
        hashed_at = time.time_ns()
        digest = sha256_file(file)
        self.entries[str(file)] = {**signature, "sha256": digest, "hashed_at_ns": hashed_at}
        self.hashed.append(str(file))
        return digest

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
