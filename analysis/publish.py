"""Publish a folder atomically, under a lock: the results of a run, the rendered report.

Files are written to a temporary sibling folder that replaces the old folder only once complete,
so an interrupted or failed writer leaves the previous folder intact. A lock file beside the
folder stops two writers from writing the same folder at once. The analysis and both renderers
use these two helpers; nothing else in the project locks or swaps folders.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import AnalysisError


def lock_path(out: Path) -> Path:
    """The lock file that guards writing `out`: `.NAME.lock` beside it."""
    return out.parent / f".{out.name}.lock"


@contextlib.contextmanager
def locked(
    out: Path, busy: str = "another analysis is writing this results folder"
) -> Iterator[None]:
    """Hold an exclusive lock for writing `out`; a second writer is refused at once with `busy`."""
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path(out), "a+")
    except OSError as err:
        raise AnalysisError(out, f"cannot write the folder ({err.strerror})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AnalysisError(out, f"{busy}; wait for it to finish") from None
        try:
            remove_stale(out)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
        raise AnalysisError(out, f"cannot write the folder ({err.strerror})") from None
    _STAGED.add(stage)
    try:
        yield stage
        _replace(stage, out)
    except OSError as err:
        raise AnalysisError(
            out, f"cannot write ({err.strerror}); the previous contents were kept"
        ) from None
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
