"""How the heavy work runs on this machine: worker threads and progress bars.

Policy, not algebra: the numeric modules ask here how many threads to use and whether to show
progress, so the maths stays pure.
"""

from __future__ import annotations

import os


def worker_count() -> int:
    """Threads for block-parallel work: RSA_THREADS if set, else the cores this process may use."""
    if os.environ.get("RSA_THREADS", "").isdigit():
        return max(1, int(os.environ["RSA_THREADS"]))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def progress_bar(total: int, description: str, enabled: bool):
    """A tqdm bar (to stderr) or a silent stand-in."""
    if enabled:
        from tqdm import tqdm

        return tqdm(total=total, desc=description, unit="step", leave=False, disable=None)

    class _Silent:
        def update(self, _n: int) -> None: ...
        def close(self) -> None: ...

    return _Silent()
