"""One analysis run: study file → aligned RDMs → tables → results folder."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from . import tables
from .errors import AnalysisError
from .output import locked, write_results
from .provenance import git_state, now_utc, sha256_file, versions
from .rdms import AlignedStudy, load_aligned
from .study import Bootstrap, Study, load_study


def point_estimates(aligned: AlignedStudy, method: str) -> dict[str, pd.DataFrame]:
    """The per_subject, joint and by_group tables."""
    models = tables.prepared_models(aligned, method)
    per_subject = tables.per_subject(aligned, method, models)
    return {
        "per_subject": per_subject,
        "joint": tables.joint(aligned, method, models),
        "by_group": tables.by_group(per_subject, aligned.study.roi_groups),
    }


def manifest(aligned: AlignedStudy, parameters: dict[str, Any], command: str) -> dict[str, Any]:
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
        "inputs": [_input_record(a) for a in aligned.alignment],
        "n_common_images": len(aligned.images),
        "parameters": parameters,
        "versions": versions(),
        "project": git_state(),
        "command": command,
        "computed_at": now_utc(),
    }


def _input_record(alignment: Any) -> dict[str, Any]:
    record = dataclasses.asdict(alignment)
    path = Path(record["path"])
    record["path"] = str(path)
    record["rdm_names"] = list(record["rdm_names"])
    record["size"] = path.stat().st_size
    record["sha256"] = sha256_file(path)
    record["images_dropped"] = alignment.images_dropped
    return record


def settings(study: Study, samples: int | None, seed: int | None) -> Bootstrap:
    """The bootstrap settings: the command line overrides the study file."""
    if samples is not None and samples < 0:
        raise AnalysisError("--samples", "must be a whole number ≥ 0")
    if seed is not None and seed < 0:
        raise AnalysisError("--seed", "must be a whole number ≥ 0")
    return Bootstrap(samples=study.bootstrap.samples if samples is None else samples,
                     seed=study.bootstrap.seed if seed is None else seed)


def run(study_path: str | Path, out: str | Path, samples: int | None = None, seed: int | None = None,
        allow_mixed_measures: bool = False, command: str = "") -> Path:
    """Analyse a study and write its results folder; returns the folder."""
    study = load_study(study_path)
    bootstrap = settings(study, samples, seed)
    out = Path(out)
    with locked(out):
        aligned = load_aligned(study, allow_mixed_measures)
        results = point_estimates(aligned, study.method)
        parameters = {"method": study.method, "samples": bootstrap.samples, "seed": bootstrap.seed}
        write_results(out, results, manifest(aligned, parameters, command))
    return out
