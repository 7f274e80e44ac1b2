"""One analysis run: study file → aligned RDMs → tables → results folder.

The run has two stages, point estimates and inference (stages.py), each cached by a content key
(cache.py). A stage whose key matches the one in the existing results folder is not recomputed:
its tables are carried over byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AnalysisError, AnalysisWarning
from ..publish import locked
from ..reading.study import Bootstrap, Study, load_study
from ..runtime import worker_count
from ..schema import BOOTSTRAP_METHODS, INFERENCE, POINT, TABLES, stage_tables
from .cache import HashCache, stage_key
from .manifest import input_id
from .stages import STAGE_CODE

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Outcome:
    """What a run did: which stages it computed and which it reused from the cache."""

    out: Path
    key: str
    computed: tuple[str, ...]
    reused: tuple[str, ...]
    rehashed: tuple[str, ...]


def settings(study: Study, samples: int | None, seed: int | None) -> Bootstrap:
    """The bootstrap settings: the command line overrides the study file."""
    if samples is not None and samples < 0:
        raise AnalysisError("--samples", "must be a whole number ≥ 0")
    if seed is not None and seed < 0:
        raise AnalysisError("--seed", "must be a whole number ≥ 0")
    bootstrap = Bootstrap(
        samples=study.bootstrap.samples if samples is None else samples,
        seed=study.bootstrap.seed if seed is None else seed,
        ceiling_samples=study.bootstrap.ceiling_samples,
    )
    if bootstrap.samples > 0 and study.method not in BOOTSTRAP_METHODS:
        # before any file is read: a bootstrap this method cannot have (its one line); only then
        # is the inference code loaded, so that a cached rerun stays light
        from ..inference.dual_bootstrap import check_method

        check_method(study.method)
    return bootstrap


def input_hashes(study: Study, hashes: HashCache) -> dict[str, dict[str, Any]]:
    """size and sha256 of every input file, keyed by role and name; a missing file is an error."""
    records = {}
    for _, _, _, path in study.files():
        if not path.is_file():
            raise AnalysisError(path, "file not found")
    hashes.hash_stale([path for *_, path in study.files()], worker_count())
    for role, name, atlas, path in study.files():
        try:
            records[input_id(role, name, atlas)] = {
                "size": path.stat().st_size,
                "sha256": hashes.sha256(path),
            }
        except OSError as err:
            raise AnalysisError(path, f"cannot read ({err.strerror})") from None
    return records


def stage_keys(
    study: Study,
    inputs: dict[str, dict[str, Any]],
    bootstrap: Bootstrap,
    allow_mixed_measures: bool,
) -> dict[str, str]:
    """The cache key of each stage this run needs."""
    content = {k: v["sha256"] for k, v in inputs.items()}
    analysed = {
        "roi_groups": study.roi_groups,
        "rois": study.rois,
        "method": study.method,
        "descriptors": study.descriptors,
        "images": study.images.as_dict(),
        "allow_mixed_measures": allow_mixed_measures,
    }
    keys = {POINT: stage_key(POINT, content, analysed, STAGE_CODE[POINT])}
    if bootstrap.samples > 0:
        keys[INFERENCE] = stage_key(
            INFERENCE,
            content,
            {
                **analysed,
                "samples": bootstrap.samples,
                "seed": bootstrap.seed,
                "ceiling_samples": bootstrap.ceiling_samples,
            },
            STAGE_CODE[INFERENCE],
        )
    return keys


def run_key(study: Study, keys: dict[str, str]) -> str:
    """The key of the whole results folder: its stages plus the study file itself (title etc.)."""
    return hashlib.sha256(
        json.dumps({"study": study.sha256, **keys}, sort_keys=True).encode()
    ).hexdigest()


def previous_stages(out: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """The run key and stage records of an existing, complete results folder (empty if none)."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        stages = manifest["cache"]["stages"]
        complete = {
            s: r
            for s, r in stages.items()
            if all((out / TABLES[t].file).is_file() for t in stage_tables(s))
        }
        return manifest["cache"]["key"], complete
    except (OSError, ValueError, KeyError, TypeError):
        return "", {}


def run(
    study_path: str | Path,
    out: str | Path,
    samples: int | None = None,
    seed: int | None = None,
    allow_mixed_measures: bool = False,
    command: str = "",
    verify: bool = False,
    force: bool = False,
    scheduler: str | None = None,
    store: Path | None = None,
    progress: bool | None = None,
) -> Outcome:
    """Analyse a study into a results folder, recomputing only stages whose inputs changed.

    scheduler: a Dask scheduler address for the bootstrap's tasks;
    store: the folder for aligned RDMs on disk (default: beside `out`
    when the study is large or a scheduler is given); see scale.py.
    """
    study = load_study(study_path)
    bootstrap = settings(study, samples, seed)
    out = Path(out)
    with locked(out):
        hashes = HashCache(out.parent / ".rsa-hash-cache.json", verify=verify)
        inputs = input_hashes(study, hashes)
        hashes.save()
        keys = stage_keys(study, inputs, bootstrap, allow_mixed_measures)
        key = run_key(study, keys)
        old_key, old_stages = ("", {}) if force else previous_stages(out)
        reusable = {s for s, k in keys.items() if old_stages.get(s, {}).get("key") == k}
        rehashed = tuple(hashes.hashed)
        if old_key == key and reusable == set(keys):
            return Outcome(out, key, (), tuple(keys), rehashed)
        # Only a run that computes something loads the numeric code (numpy, h5py, numba, pandas):
        # a cached rerun is the study file, the file hashes' memo and the keys.
        from ..reading.loading import load_aligned, loss_lines
        from .manifest import manifest
        from .output import write_results
        from .provenance import now_utc
        from .scale import scaled
        from .stages import run_stage

        with scaled(
            study,
            inputs,
            out,
            scheduler,
            store,
            bootstrap.samples if INFERENCE in keys and INFERENCE not in reusable else 0,
            progress,
            hashes.finite_files([path for *_, path in study.files()]),
        ):
            aligned = load_aligned(study, allow_mixed_measures)
            for line in loss_lines(aligned):
                warnings.warn(line, AnalysisWarning, stacklevel=2)
            computed: dict[str, pd.DataFrame] = {}
            stages = {}
            for stage, stage_key_ in keys.items():
                if stage in reusable:
                    stages[stage] = old_stages[stage]
                    continue
                produced = run_stage(stage, aligned, study.method, bootstrap)
                computed.update(produced.tables)
                stages[stage] = {"key": stage_key_, "computed_at": now_utc(), **produced.facts}
        carried = {t: out / TABLES[t].file for s in reusable for t in stage_tables(s)}
        parameters = {"method": study.method, "samples": bootstrap.samples, "seed": bootstrap.seed}
        record = manifest(aligned, inputs, parameters, command, {"key": key, "stages": stages})
        write_results(out, computed, record, carried)
    return Outcome(
        out, key, tuple(s for s in keys if s not in reusable), tuple(sorted(reusable)), rehashed
    )
