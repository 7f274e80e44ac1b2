"""Provenance: checksums of inputs, versions, the project's git state, the command line."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .. import __version__

DEPENDENCIES = ("numpy", "scipy", "h5py", "pandas", "pyyaml", "rsatoolbox", "tqdm")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """The sha256 of a file's bytes, read in 4 MiB chunks."""
    return sha256_and_finite(path, None, chunk)[0]


def sha256_and_finite(
    path: Path, region: tuple[int, int] | None, chunk: int = 1 << 22
) -> tuple[str, bool | None]:
    """The sha256 of a file's bytes and, in the same read, whether the little-endian float64
    values in `region` (byte offset, bytes) are all finite (None when no region is given)."""
    import numpy as np  # only when a file is hashed: a cached rerun imports no numeric library

    digest = hashlib.sha256()
    finite = None if region is None else True
    start, stop = (0, 0) if region is None else (region[0], region[0] + region[1])
    with open(path, "rb") as file:
        position = 0
        while block := file.read(_block_size(position, start, stop, chunk)):
            digest.update(block)
            if start <= position < stop and finite:
                finite = len(block) % 8 == 0 and bool(
                    np.isfinite(np.frombuffer(block, "<f8")).all()
                )
            position += len(block)
    if region is not None and position < stop:
        finite = False  # shorter than its layout says
    return digest.hexdigest(), finite


def _block_size(position: int, start: int, stop: int, chunk: int) -> int:
    """Bytes to read next: blocks end where the region [start, stop) begins and ends."""
    if position < start:
        return min(chunk, start - position)
    if position < stop:
        return min(chunk, stop - position)
    return chunk


def versions() -> dict[str, str]:
    """Versions of Python, this project and every analysis dependency."""
    found = {"python": platform.python_version(), "project": __version__}
    for package in DEPENDENCIES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def git_state(root: Path = PROJECT_ROOT) -> dict[str, object]:
    """The project's git commit and whether the work tree differs from it (None outside git)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "version": __version__,
        "git_commit": commit,
        "git_dirty": None if status is None else bool(status),
    }


def now_utc() -> str:
    """The current time, ISO 8601 in UTC, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
