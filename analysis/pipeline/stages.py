"""The two stages of a run, point estimates and inference: each returns its tables and its facts.

A stage's facts (e.g. how many bootstrap samples were usable) travel beside its tables into the
cache record and the manifest; tables carry no hidden attributes. `STAGE_CODE` names the code
each stage runs, for its cache key (pipeline/cache.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..schema import INFERENCE, POINT

if TYPE_CHECKING:  # the stages import their code when they run: a cached run needs only STAGE_CODE
    import pandas as pd

    from ..reading.loading import AlignedStudy
    from ..reading.study import Bootstrap

#: Parts of the package whose source keys each stage's cache: whole subpackages and modules, so
#: a module added to any of them is covered without being listed (tests/pipeline/test_cache.py
#: checks that every module a stage imports is covered).
COMMON_CODE = (
    "__init__.py",
    "errors.py",
    "schema.py",
    "publish.py",
    "runtime.py",
    "executor.py",
    "lazy.py",
    "reading",
    "comparison",
    "pipeline",
)
STAGE_CODE: dict[str, tuple[str, ...]] = {
    POINT: COMMON_CODE,
    INFERENCE: (*COMMON_CODE, "inference"),
}


@dataclass(frozen=True)
class StageOutput:
    """What a stage produced: its tables (contract names) and facts for the manifest."""

    tables: dict[str, pd.DataFrame]
    facts: dict[str, Any] = field(default_factory=dict)


def point_stage(aligned: AlignedStudy, method: str) -> StageOutput:
    """The per_subject, joint, group_mean, by_group, peak_consistency, images, second_order and
    rdm_examples tables.

    joint, group_mean and by_group use the images common to every file; per_subject does too,
    unless the study aligns per subject (images.align: per-subject). On the common images the
    tables are computed one ROI at a time (streaming.py), whether the vectors are in memory or
    on disk and on threads or Dask workers: the same operations, so the same bytes.
    """
    from ..executor import current
    from . import point, streaming

    context = current()
    tables, agreement = streaming.point_tables(
        aligned, method, executor=context.executor, advance=context.advance("point")
    )
    if aligned.study.images.align == "per-subject":
        tables["per_subject"] = point.per_subject_own_images(aligned, method)
    tables["peak_consistency"] = point.peak_consistency(tables["per_subject"], tables["joint"])
    tables["images"] = point.images_table(aligned)
    if "second_order" not in tables:  # corr and cosine: from point_tables' one pass
        tables["second_order"] = point.second_order(aligned, method)
    tables["rdm_examples"] = point.example_rdms(aligned)
    return StageOutput(tables, {"group_mean_agreement": agreement} if aligned.group_means else {})


def inference_stage(aligned: AlignedStudy, method: str, bootstrap: Bootstrap) -> StageOutput:
    """The inference tables (analysis.schema, stage "inference") from the dual bootstrap."""
    from ..inference.tables import inference_tables

    output = inference_tables(
        aligned,
        method=method,
        samples=bootstrap.samples,
        seed=bootstrap.seed,
        ceiling_samples=bootstrap.ceiling_samples,
    )
    return StageOutput(output.tables, output.bootstrap)


def run_stage(stage: str, aligned: AlignedStudy, method: str, bootstrap: Bootstrap) -> StageOutput:
    """Run one stage by name."""
    if stage == POINT:
        return point_stage(aligned, method)
    return inference_stage(aligned, method, bootstrap)
