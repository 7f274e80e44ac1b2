"""One analysis run: study file → aligned RDMs → tables → results folder.

The run has two stages, point estimates and inference, each cached by a content key (see
cache.py). A stage whose key matches the one in the existing results folder is not recomputed:
its tables are carried over byte for byte.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import tables
from .cache import HashCache, stage_key
from .errors import AnalysisError
from .output import locked, write_results
from .provenance import git_state, now_utc, versions
from .rdms import AlignedStudy, load_aligned
from .study import Bootstrap, Study, load_study

STAGE_TABLES = {
    "point": ("per_subject", "joint", "by_group"),
    "inference": ("inference", "noise_ceiling", "pairwise"),
}


@dataclass(frozen=True)
class Outcome:
    """What a run did: which stages it computed and which it reused from the cache."""

    out: Path
    key: str
    computed: tuple[str, ...]
    reused: tuple[str, ...]
    rehashed: tuple[str, ...]


def point_estimates(aligned: AlignedStudy, method: str) -> dict[str, pd.DataFrame]:
    """The per_subject, joint and by_group tables."""
    models = tables.prepared_models(aligned, method)
    per_subject = tables.per_subject(aligned, method, models)
    return {
        "per_subject": per_subject,
        "joint": tables.joint(aligned, method, models),
        "by_group": tables.by_group(per_subject, aligned.study.roi_groups),
    }


def inference_estimates(aligned: AlignedStudy, method: str, bootstrap: Bootstrap) -> dict[str, pd.DataFrame]:
    """The inference, noise_ceiling and pairwise tables from the dual bootstrap."""
    from .inference import inference_tables
    return inference_tables(aligned, method=method, samples=bootstrap.samples, seed=bootstrap.seed)


def settings(study: Study, samples: int | None, seed: int | None) -> Bootstrap:
    """The bootstrap settings: the command line overrides the study file."""
    if samples is not None and samples < 0:
        raise AnalysisError("--samples", "must be a whole number ≥ 0")
    if seed is not None and seed < 0:
        raise AnalysisError("--seed", "must be a whole number ≥ 0")
    return Bootstrap(samples=study.bootstrap.samples if samples is None else samples,
                     seed=study.bootstrap.seed if seed is None else seed)


def input_hashes(study: Study, hashes: HashCache) -> dict[str, dict[str, Any]]:
    """size and sha256 of every input file, keyed by role and name; a missing file is an error."""
    records = {}
    for role, files in (("subject", study.subjects), ("network", study.networks)):
        for name, path in files.items():
            if not path.is_file():
                raise AnalysisError(path, "file not found")
            try:
                records[f"{role}:{name}"] = {"size": path.stat().st_size, "sha256": hashes.sha256(path)}
            except OSError as err:
                raise AnalysisError(path, f"cannot read ({err.strerror})") from None
    return records


def stage_keys(study: Study, inputs: dict[str, dict[str, Any]], bootstrap: Bootstrap,
               allow_mixed_measures: bool) -> dict[str, str]:
    """The cache key of each stage this run needs."""
    content = {k: v["sha256"] for k, v in inputs.items()}
    analysed = {"roi_groups": study.roi_groups, "rois": study.rois, "method": study.method,
                "descriptors": study.descriptors, "allow_mixed_measures": allow_mixed_measures}
    keys = {"point": stage_key("point", content, analysed)}
    if bootstrap.samples > 0:
        keys["inference"] = stage_key("inference", content, {
            **analysed, "samples": bootstrap.samples, "seed": bootstrap.seed})
    return keys


def run_key(study: Study, keys: dict[str, str]) -> str:
    """The key of the whole results folder: its stages plus the study file itself (title etc.)."""
    return hashlib.sha256(json.dumps({"study": study.sha256, **keys}, sort_keys=True).encode()).hexdigest()


def previous_stages(out: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """The run key and stage records of an existing, complete results folder (empty if none)."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        stages = manifest["cache"]["stages"]
        complete = {s: r for s, r in stages.items()
                    if all((out / f"{t}.csv").is_file() for t in STAGE_TABLES[s])}
        return manifest["cache"]["key"], complete
    except (OSError, ValueError, KeyError, TypeError):
        return "", {}


def _plain(value: Any) -> Any:
    """A numpy scalar as a JSON-ready Python value."""
    return value.item() if hasattr(value, "item") else value


def manifest(aligned: AlignedStudy, inputs: dict[str, dict[str, Any]], parameters: dict[str, Any],
             command: str, cache: dict[str, Any]) -> dict[str, Any]:
    """Everything needed to trace a number in the tables back to its inputs."""
    study = aligned.study
    groups = {g: [r for r in rois if r in aligned.rois] for g, rois in study.roi_groups.items()}
    return {
        "synthetic": aligned.synthetic,
        "title": study.title,
        "study": study.as_dict(),
        "order": {
            "subjects": list(aligned.subjects),
            "rois": list(aligned.rois),
            "networks": list(aligned.networks),
            "layers": {n: list(layers) for n, layers in aligned.layers.items()},
            "groups": list(groups),
        },
        "roi_groups": groups,
        "inputs": [_input_record(a, inputs) for a in aligned.alignment],
        "n_common_images": len(aligned.images),
        "parameters": parameters,
        "bootstrap": {k: v for k, v in cache["stages"].get("inference", {}).items()
                      if k not in ("key", "computed_at")},
        "versions": versions(),
        "project": git_state(),
        "command": command,
        "computed_at": now_utc(),
        "cache": cache,
    }


def _input_record(alignment: Any, inputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    record = dataclasses.asdict(alignment)
    record["path"] = str(record["path"])
    record["rdm_names"] = list(record["rdm_names"])
    record.update(inputs[f"{alignment.role}:{alignment.name}"])
    record["images_dropped"] = alignment.images_dropped
    return record


def run(study_path: str | Path, out: str | Path, samples: int | None = None, seed: int | None = None,
        allow_mixed_measures: bool = False, command: str = "", verify: bool = False,
        force: bool = False) -> Outcome:
    """Analyse a study into a results folder, recomputing only stages whose inputs changed."""
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
        aligned = load_aligned(study, allow_mixed_measures)
        computed: dict[str, pd.DataFrame] = {}
        stages = {}
        for stage, stage_key_ in keys.items():
            if stage in reusable:
                stages[stage] = old_stages[stage]
                continue
            produced = (point_estimates(aligned, study.method) if stage == "point"
                        else inference_estimates(aligned, study.method, bootstrap))
            computed.update(produced)
            details = {k: _plain(v) for k, v in produced.get("inference", pd.DataFrame()).attrs.items()}
            stages[stage] = {"key": stage_key_, "computed_at": now_utc(), **details}
        carried = {t: out / f"{t}.csv" for s in reusable for t in STAGE_TABLES[s]}
        parameters = {"method": study.method, "samples": bootstrap.samples, "seed": bootstrap.seed}
        record = manifest(aligned, inputs, parameters, command, {"key": key, "stages": stages})
        write_results(out, computed, record, carried)
    return Outcome(out, key, tuple(s for s in keys if s not in reusable), tuple(sorted(reusable)), rehashed)
