"""The point-estimate tables: per_subject, joint, by_group, second_order and rdm_examples, as tidy DataFrames."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..comparison.methods import compare_prepared, prepare, undefined_rows
from ..comparison.second_order import rdm_examples_table, second_order_table
from ..errors import AnalysisError
from ..reading.loading import AlignedStudy, RDMSet
from ..schema import columns


def check_defined(rdms: RDMSet, method: str) -> None:
    """Refuse RDMs for which r is undefined (constant vectors), naming the file and the RDM."""
    bad = undefined_rows(rdms.dissimilarities, method)
    if bad.any():
        names = ", ".join(np.asarray(rdms.names)[bad])
        kind = "all zero" if method == "cosine" else "constant"
        raise AnalysisError(rdms.source, f"RDM {names} is {kind} over the common images, "
                                         f"so r ({method}) is undefined")


def _long(similarity: np.ndarray, rois: tuple[str, ...], network: str,
          layers: tuple[str, ...], method: str) -> pd.DataFrame:
    """Tidy rows (roi, network, layer, method, r) from a layers × ROIs similarity matrix."""
    return pd.DataFrame({
        "roi": np.repeat(rois, len(layers)),
        "network": network,
        "layer": np.tile(layers, len(rois)),
        "method": method,
        "r": similarity.T.reshape(-1),
    })


def _compare_sets(models: dict[str, np.ndarray], data: RDMSet, study: AlignedStudy,
                  method: str) -> pd.DataFrame:
    prepared = prepare(data.dissimilarities, method)
    return pd.concat([_long(compare_prepared(layer_vectors, prepared, method), data.names, network,
                            study.networks[network].names, method)
                      for network, layer_vectors in models.items()], ignore_index=True)


def prepared_models(study: AlignedStudy, method: str) -> dict[str, np.ndarray]:
    """Every network's layer vectors, checked and transformed once for `method`."""
    for rdms in study.networks.values():
        check_defined(rdms, method)
    return {network: prepare(rdms.dissimilarities, method) for network, rdms in study.networks.items()}


def per_subject(study: AlignedStudy, method: str,
                models: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """r for every subject × ROI × network × layer."""
    models = prepared_models(study, method) if models is None else models
    frames = []
    for subject, rdms in study.subjects.items():
        check_defined(rdms, method)
        frame = _compare_sets(models, rdms, study, method)
        frame.insert(0, "subject", subject)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[columns("per_subject")]


def joint(study: AlignedStudy, method: str,
          models: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """r of each ROI's subject-averaged RDM with every layer."""
    models = prepared_models(study, method) if models is None else models
    averaged = study.joint()
    check_defined(averaged, method)
    return _compare_sets(models, averaged, study, method)[columns("joint")]


def by_group(per_subject_table: pd.DataFrame, roi_groups: dict[str, list[str]]) -> pd.DataFrame:
    """Per subject, mean r over each group's ROIs; then mean and SEM (ddof=1) across subjects."""
    if not roi_groups:
        return pd.DataFrame(columns=columns("by_group"))
    group_of = {roi: group for group, rois in roi_groups.items() for roi in rois}
    table = per_subject_table[per_subject_table["roi"].isin(group_of)].assign(
        group=lambda t: t["roi"].map(group_of))
    keys = ["group", "network", "layer", "method"]
    per_subject_means = table.groupby([*keys, "subject"], sort=False)["r"].mean().reset_index()
    summary = per_subject_means.groupby(keys, sort=False)["r"].agg(
        mean="mean", sem=lambda r: r.std(ddof=1) / np.sqrt(len(r)), n_subjects="size").reset_index()
    order = {group: i for i, group in enumerate(roi_groups)}
    summary = summary.sort_values("group", key=lambda g: g.map(order), kind="stable")
    return summary.reset_index(drop=True)[columns("by_group")]


def second_order(study: AlignedStudy, method: str, models: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Similarities between every subject-averaged ROI RDM and every layer RDM, all pairs (for the MDS map)."""
    models = prepared_models(study, method) if models is None else models
    averaged = study.joint()
    table = second_order_table(averaged.names, prepare(averaged.dissimilarities, method),
                               {network: study.networks[network].names for network in models}, models, method)
    return table[columns("second_order")]


def example_rdms(study: AlignedStudy, n_images: int = 48) -> pd.DataFrame:
    """A few RDMs on a source-stratified subsample of images: the subject-averaged RDM of the first ROI
    of the first and of the last ROI group, and the first and last layer of the first network."""
    averaged = study.joint()
    groups = [rois for rois in study.study.roi_groups.values() if rois] or [list(study.rois)]
    rois = list(dict.fromkeys(r for r in (groups[0][0], groups[-1][0]) if r in averaged.names))
    network, layers = next(iter(study.networks.items()))
    vectors = {roi: averaged.row(roi) for roi in rois}
    vectors |= {f"{network}: {layer}": layers.row(layer) for layer in dict.fromkeys((layers.names[0], layers.names[-1]))}
    return rdm_examples_table(study.images, vectors, n_images)[columns("rdm_examples")]
