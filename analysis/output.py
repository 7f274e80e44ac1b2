"""Write a results folder atomically, under a lock.

Tables go to a temporary sibling folder that replaces the old folder only once complete, so an
interrupted or failed run leaves the previous results intact. A lock file beside the folder
stops two runs from writing the same folder at once.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import AnalysisError


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock for writing `out`; a second writer is refused at once."""
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle = open(out.parent / f".{out.name}.lock", "a+")
    except OSError as err:
        raise AnalysisError(out, f"cannot write the results folder ({err.strerror})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AnalysisError(out, "another analysis is writing this results folder; "
                                     "wait for it to finish") from None
        try:
            remove_stale(out)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """A tidy table as CSV with round-trip float precision and Unix newlines."""
    table.to_csv(path, index=False, lineterminator="\n")


def write_json(data: Any, path: Path) -> None:
    """JSON with sorted keys' order preserved as built, UTF-8, 2-space indent."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


_STAGED: set[Path] = set()


def discard_staged() -> None:
    """Remove every temporary folder this process is writing (for a signal handler)."""
    for stage in list(_STAGED):
        shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside `out` that replaces `out` when the block completes."""
    out = Path(out)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as err:
        raise AnalysisError(out, f"cannot write the results folder ({err.strerror})") from None
    _STAGED.add(stage)
    try:
        yield stage
        _replace(stage, out)
    except OSError as err:
        raise AnalysisError(out, f"cannot write results ({err.strerror}); previous results kept") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        _STAGED.discard(stage)


def _replace(stage: Path, out: Path) -> None:
    """Put `stage` in place of `out` in one step; the old folder ends up at `stage`."""
    if not out.exists():
        os.rename(stage, out)
    elif not _exchange(stage, out):
        retired = stage.with_name(stage.name.replace(".partial-", ".old-"))
        os.rename(out, retired)
        os.rename(stage, out)
        shutil.rmtree(retired, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically with Linux renameat2(RENAME_EXCHANGE); False where unsupported.

    Neither os nor shutil offers an atomic swap of two folders, hence ctypes.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    if result == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (38, 22, 95):  # ENOSYS, EINVAL, EOPNOTSUPP: the file system cannot swap
        return False
    raise OSError(errno, os.strerror(errno), str(second))


def remove_stale(out: Path) -> None:
    """Remove temporary folders that a killed run left beside `out` (call under the lock)."""
    for pattern in (f".{out.name}.partial-*", f".{out.name}.old-*"):
        for leftover in out.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def write_results(out: Path, tables: dict[str, pd.DataFrame], manifest: dict[str, Any],
                  carried: dict[str, Path] | None = None) -> None:
    """Write every table as NAME.csv (or copy `carried` ones byte for byte) and the manifest,
    replacing `out` atomically."""
    with staged_folder(out) as stage:
        for name, source in (carried or {}).items():
            shutil.copyfile(source, stage / f"{name}.csv")
        for name, table in tables.items():
            write_csv(table, stage / f"{name}.csv")
        write_json(manifest, stage / "manifest.json")
