"""How a run meets its study's size: the aligned store on disk, the executor, one progress bar.

A study whose files exceed `STORE_THRESHOLD` bytes (or any study run with `--store` or
`--scheduler`) keeps its aligned RDMs in the store (reading/store.py) instead of memory; the
point estimates then stream one ROI vector at a time (streaming.py) and the bootstrap reads one
strip of images at a time (inference/strips.py), so memory stays bounded whatever the size.
With `--scheduler ADDRESS` the bootstrap's strips run as tasks on that Dask cluster; the store
must then be on a path every worker can read.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..executor import RunContext, RunProgress, make_executor, running
from ..reading.rdmfile import open_rdm_file
from ..reading.store import AlignedStore, storing
from ..reading.study import Study
from ..schema import WHITENED_METHODS
from .manifest import input_id

STORE_THRESHOLD = (
    4e9  # input bytes above which aligned RDMs go to disk (RSA_STORE_THRESHOLD overrides)
)
READ_BYTES_PER_SECOND = 4e8  # rough speeds for the progress bar's first estimate of the time left
COMPARE_PER_SECOND = 1.5e9
BOOTSTRAP_PER_SECOND = 8e10  # forms × pairs × samples per second: the deposit-size run on 2 cores


def store_threshold() -> float:
    value = os.environ.get("RSA_STORE_THRESHOLD", "")
    return (
        float(value) if value.replace(".", "", 1).replace("e", "", 1).isdigit() else STORE_THRESHOLD
    )


def phase_costs(study: Study, samples: int) -> dict[str, float]:
    """Rough seconds of each phase, from the files' descriptors, for the progress bar."""
    opened = [
        (role, open_rdm_file(path, "layer" if role == "network" else "roi"))
        for role, _, _, path in study.files()
    ]
    n = min(f.n_images for _, f in opened)
    pairs = n * (n - 1) / 2
    subject_rows = sum(len(f.names) for role, f in opened if role != "network")
    layers = sum(len(f.names) for role, f in opened if role == "network")
    size = sum(path.stat().st_size for *_, path in study.files())
    costs = {
        "align": size / READ_BYTES_PER_SECOND,
        "point": subject_rows * layers * pairs / COMPARE_PER_SECOND,
    }
    if samples > 0:
        forms = subject_rows * (layers + len(study.subjects) + 2) + 2 * layers
        costs["bootstrap"] = samples * pairs * forms / BOOTSTRAP_PER_SECOND
        if study.method in WHITENED_METHODS:  # one product G·c (n² per sample) per RDM
            costs["whitening"] = (
                samples * 2 * pairs * (subject_rows + layers) / BOOTSTRAP_PER_SECOND
            )
    return costs


@contextlib.contextmanager
def scaled(
    study: Study,
    inputs: dict[str, dict[str, Any]],
    out: Path,
    scheduler: str | None = None,
    store: Path | None = None,
    samples: int = 0,
    progress: bool | None = None,
    finite: frozenset[str] = frozenset(),
) -> Iterator[RunContext]:
    """Within this block, loading, point estimates and
    the bootstrap run as the study's size needs (`finite`: files whose values were checked
    finite while hashed, so the store need not read them to check)."""
    paths = {input_id(role, name, atlas): path for role, name, atlas, path in study.files()}
    size = sum(inputs[k]["size"] for k in paths)
    use_store = store is not None or scheduler is not None or size > store_threshold()
    aligned_store = None
    if use_store:
        digests = {str(Path(p).resolve()): inputs[k]["sha256"] for k, p in paths.items()}
        aligned_store = AlignedStore(
            Path(store) if store is not None else out.parent / ".rsa-store", digests, finite
        )
    show = sys.stderr.isatty() if progress is None else progress
    bar = RunProgress(phase_costs(study, samples), enabled=show) if show else None
    executor = make_executor(scheduler)
    context = RunContext(executor, bar)
    if aligned_store is not None:
        align = context.advance("align")
        aligned_store.advance = lambda nbytes: align(nbytes / max(size, 1))
    try:
        with storing(aligned_store), running(context):
            yield context
    finally:
        if bar is not None:
            bar.close()
        executor.close()
