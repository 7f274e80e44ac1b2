"""manifest.json: everything needed to trace a number in the tables back to its inputs."""
from __future__ import annotations

import dataclasses
from typing import Any

from ..reading.loading import AlignedStudy
from .provenance import git_state, now_utc, versions


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
