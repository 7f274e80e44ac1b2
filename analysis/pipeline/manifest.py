"""manifest.json: everything needed to trace a number in the tables back to its inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..schema import INFERENCE, POINT
from .provenance import git_state, now_utc, versions

if TYPE_CHECKING:
    from ..reading.loading import AlignedStudy, Alignment

STAGE_RECORD_KEYS = ("key", "computed_at")


def input_id(role: str, name: str, atlas: str) -> str:
    """The id of one input file in the hash records: role:name, or role:name:atlas."""
    return f"{role}:{name}:{atlas}" if atlas else f"{role}:{name}"


def manifest(
    aligned: AlignedStudy,
    inputs: dict[str, dict[str, Any]],
    parameters: dict[str, Any],
    command: str,
    cache: dict[str, Any],
) -> dict[str, Any]:
    """Everything needed to trace a number in the tables back to its inputs."""
    study = aligned.study
    groups = {
        atlas: {
            g: [r for r in rois if r in aligned.rois[atlas]]
            for g, rois in study.roi_groups.get(atlas, {}).items()
        }
        for atlas in aligned.atlases
    }
    stages = cache["stages"]
    return {
        "synthetic": aligned.synthetic,
        "title": study.title,
        "study": study.as_dict(),
        "order": {
            "subjects": list(aligned.subjects),
            "atlases": list(aligned.atlases),
            "rois": {atlas: list(rois) for atlas, rois in aligned.rois.items()},
            "networks": list(aligned.networks),
            "layers": {n: list(layers) for n, layers in aligned.layers.items()},
            "ordered": {n: study.networks_ordered.get(n, True) for n in aligned.networks},
            "groups": {atlas: list(g) for atlas, g in groups.items()},
        },
        "roi_groups": groups,
        "inputs": [_input_record(a, inputs) for a in aligned.alignment],
        "n_common_images": len(aligned.images),
        "image_sets": image_sets(aligned, stages),
        "group_mean_agreement": stages.get(POINT, {}).get("group_mean_agreement", {}),
        "parameters": parameters,
        "bootstrap": {
            k: v for k, v in stages.get(INFERENCE, {}).items() if k not in STAGE_RECORD_KEYS
        },
        "versions": versions(),
        "project": git_state(),
        "command": command,
        "computed_at": now_utc(),
        "cache": cache,
    }


def image_sets(aligned: AlignedStudy, stages: dict[str, Any]) -> dict[str, str]:
    """Which images each table used, in words."""
    common = f"the {len(aligned.images)} images common to every file"
    per_subject = (
        "per subject, the images its files share with every network (n_images column)"
        if aligned.study.images.align == "per-subject"
        else common
    )
    sets = {
        "per_subject": per_subject,
        "joint": common,
        "group_mean": common,
        "by_group": common,
        "images": "counts against " + common,
    }
    if INFERENCE in stages:
        sets.update(inference=common, noise_ceiling=common, pairwise=common)
    return sets


def _input_record(alignment: Alignment, inputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tally = alignment.images
    return {
        "role": alignment.role,
        "name": alignment.name,
        "atlas": alignment.atlas,
        "path": str(alignment.path),
        "descriptor": alignment.descriptor,
        "measure": alignment.measure,
        "rdm_names": list(alignment.rdm_names),
        **inputs[input_id(alignment.role, alignment.name, alignment.atlas)],
        "images_in_file": tally.images_in_file,
        "images_kept": tally.images_kept,
        "images_dropped": tally.images_dropped,
        "dropped_by_source": tally.dropped_by_source,
        "near_matches": tally.near_matches,
        "dropped_examples": list(tally.dropped_examples),
    }
