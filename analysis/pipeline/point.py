"""The point-estimate tables that streaming.py does not compute: per_subject on each subject's own
images (images.align: per-subject), by_group, images, second_order and rdm_examples, as tidy
DataFrames; and the tidy rows and checks that streaming.py shares."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np
import pandas as pd

from ..comparison.methods import check_defined, compare_prepared, prepare
from ..comparison.second_order import (
    RANKED_GRAM_METHODS,
    doubled_ranks,
    ranked_similarity,
    rdm_examples_table,
    second_order_frame,
    second_order_table,
    streamed_similarity,
)
from ..reading.loading import AlignedStudy, RDMSet, aligned_set, subject_images
from ..reading.store import row_range, take
from ..schema import ALL_SOURCES, LINEAR_METHODS, columns


def check_set_defined(rdms: RDMSet, method: str) -> None:
    """Refuse RDMs for which r is undefined, naming the file and the RDM."""
    check_defined(rdms.dissimilarities, method, rdms.source, rdms.names)


def checked(row: object, name: str, source: str, method: str) -> np.ndarray:
    """One RDM vector as a 1 × pairs float64 array; an error naming it when r would be undefined."""
    vector = np.atleast_2d(np.asarray(row, dtype=np.float64))
    check_defined(vector, method, source, [name])
    return vector


def similarity_rows(
    similarity: np.ndarray,
    rois: tuple[str, ...],
    network: str,
    layers: tuple[str, ...],
    method: str,
) -> pd.DataFrame:
    """Tidy rows (roi, network, layer, method, r) from a layers × ROIs similarity matrix."""
    return pd.DataFrame(
        {
            "roi": np.repeat(rois, len(layers)),
            "network": network,
            "layer": np.tile(layers, len(rois)),
            "method": method,
            "r": similarity.T.reshape(-1),
        }
    )


def compare_sets(
    models: dict[str, np.ndarray], layers: dict[str, tuple[str, ...]], data: RDMSet, method: str
) -> pd.DataFrame:
    """r of every RDM in `data` with every prepared layer of every network, as tidy rows."""
    check_set_defined(data, method)
    prepared = prepare(data.dissimilarities, method)
    return pd.concat(
        [
            similarity_rows(
                compare_prepared(layer_vectors, prepared, method),
                data.names,
                network,
                layers[network],
                method,
            )
            for network, layer_vectors in models.items()
        ],
        ignore_index=True,
    )


def prepared_models(networks: dict[str, RDMSet], method: str) -> dict[str, np.ndarray]:
    """Every network's layer vectors, checked and transformed once for `method`."""
    for rdms in networks.values():
        check_set_defined(rdms, method)
    return {network: prepare(rdms.dissimilarities, method) for network, rdms in networks.items()}


def _with(frame: pd.DataFrame, **columns_first: object) -> pd.DataFrame:
    for position, (name, value) in enumerate(columns_first.items()):
        frame.insert(position, name, value)
    return frame


def per_subject_own_images(study: AlignedStudy, method: str) -> pd.DataFrame:
    """r per subject on the images that subject's files share with every network
    (images.align: per-subject): each subject is aligned, compared and released in turn."""
    return pd.concat(list(_per_subject_frames(study, method)), ignore_index=True)[
        columns("per_subject")
    ]


def _per_subject_frames(study: AlignedStudy, method: str) -> Iterator[pd.DataFrame]:
    files = study.files
    for subject, atlases in files.subjects.items():
        images = subject_images(study, subject)
        networks = {
            n: aligned_set(files, f, list(f.names), images) for n, f in files.networks.items()
        }
        models = prepared_models(networks, method)
        for atlas, rdm_file in atlases.items():
            rdms = aligned_set(files, rdm_file, list(study.rois[atlas]), images)
            yield _with(
                compare_sets(models, study.layers, rdms, method), subject=subject, atlas=atlas
            ).assign(n_images=len(images))


def by_group(
    per_subject_table: pd.DataFrame, roi_groups: dict[str, dict[str, list[str]]]
) -> pd.DataFrame:
    """Per subject, mean r over each group's ROIs; then mean and SEM (ddof=1) across subjects."""
    group_of = {
        (atlas, roi): group
        for atlas, groups in roi_groups.items()
        for group, rois in groups.items()
        for roi in rois
    }
    if not group_of:
        return pd.DataFrame(columns=columns("by_group"))
    keys = list(zip(per_subject_table["atlas"], per_subject_table["roi"], strict=True))
    table = per_subject_table.assign(group=[group_of.get(k) for k in keys]).dropna(subset=["group"])
    by = ["atlas", "group", "network", "layer", "method"]
    per_subject_means = table.groupby([*by, "subject"], sort=False)["r"].mean().reset_index()
    summary = (
        per_subject_means.groupby(by, sort=False)["r"]
        .agg(mean="mean", sem=lambda r: r.std(ddof=1) / np.sqrt(len(r)), n_subjects="size")
        .reset_index()
    )
    order = {
        (atlas, group): i
        for i, (atlas, group) in enumerate(
            (atlas, group) for atlas, groups in roi_groups.items() for group in groups
        )
    }
    rank = pd.Series(
        [order[k] for k in zip(summary["atlas"], summary["group"], strict=True)],
        index=summary.index,
    )
    summary = summary.loc[rank.sort_values(kind="stable").index]
    return summary.reset_index(drop=True)[columns("by_group")]


def peak_consistency(per_subject: pd.DataFrame, joint_table: pd.DataFrame) -> pd.DataFrame:
    """Per ROI and network: the peak layer of the subject-averaged RDM (largest r in `joint`) and
    how many subjects' own peak layer (largest r in `per_subject`) is that layer.

    Ties go to the first layer in table order (the manifest's layer order), as np.argmax.
    """
    keys = ["atlas", "roi", "network"]
    joint_peak = joint_table.loc[joint_table.groupby(keys, sort=False)["r"].idxmax()]
    subject_peak = per_subject.loc[
        per_subject.groupby([*keys, "subject"], sort=False)["r"].idxmax()
    ]
    merged = subject_peak.merge(
        joint_peak[[*keys, "layer"]], on=keys, suffixes=("", "_joint"), how="right"
    )
    counts = (
        merged.assign(shares=merged["layer"] == merged["layer_joint"])
        .groupby(keys, sort=False)
        .agg(n_subjects=("subject", "nunique"), n_sharing=("shares", "sum"))
        .reset_index()
    )
    table = joint_peak[[*keys, "layer", "method", "r"]].merge(counts, on=keys, how="left")
    return table[columns("peak_consistency")].reset_index(drop=True)


def images_table(study: AlignedStudy) -> pd.DataFrame:
    """Per input file, images in the file, kept and dropped: a total row and one row per source."""
    rows = []
    for record in study.alignment:
        tally = record.images
        rows.append(
            (
                record.role,
                record.name,
                record.atlas,
                ALL_SOURCES,
                tally.images_in_file,
                tally.images_kept,
                tally.images_dropped,
            )
        )
        for source in sorted(set(tally.kept_by_source) | set(tally.dropped_by_source)):
            kept = tally.kept_by_source.get(source, 0)
            dropped = tally.dropped_by_source.get(source, 0)
            rows.append(
                (record.role, record.name, record.atlas, source, kept + dropped, kept, dropped)
            )
    return pd.DataFrame(rows, columns=columns("images"))


def second_order(
    study: AlignedStudy,
    method: str,
    models: dict[str, np.ndarray] | None = None,
    similarity: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Per atlas, similarities between every subject-averaged ROI RDM and every layer
    RDM, all pairs (for the second-order map). corr and cosine take each atlas's
    similarity matrix (its ROIs, then every layer) from `similarity` (the point stage's pass,
    streaming.linear_pass) or stream the vectors in chunks of pairs (bounded memory, in memory
    or from the aligned store); spearman and rho-a rank each vector alone and stream the integer
    ranks (ranked_similarity: the layers' and one atlas's ROIs' ranks held, 4 bytes a pair);
    tau-a and the whitened methods hold the atlas's prepared vectors in memory."""
    frames = []
    n_pairs = len(study.images) * (len(study.images) - 1) // 2
    if method in LINEAR_METHODS and similarity is None:  # one read of every atlas and layer
        joint = [reader for atlas in study.atlases for reader in _joint_readers(study, atlas)]
        streamed = streamed_similarity(joint + _layer_readers(study), n_pairs, method)
        first = 0
        similarity = {}
        for atlas in study.atlases:
            rois = np.arange(first, first + len(study.rois[atlas]))
            first += len(rois)
            keep = np.concatenate([rois, np.arange(len(joint), streamed.shape[0])])
            similarity[atlas] = streamed[np.ix_(keep, keep)]
    if method in RANKED_GRAM_METHODS:
        layers = [
            doubled_ranks(checked(rdms.row(layer), layer, rdms.source, method))
            for rdms in study.networks.values()
            for layer in rdms.names
        ]
        similarity = {
            atlas: ranked_similarity(
                [doubled_ranks(read(0, n_pairs)) for read in _joint_readers(study, atlas)] + layers,
                method,
            )
            for atlas in study.atlases
        }
    for atlas in study.atlases:
        if similarity is not None:
            table = second_order_frame(study.rois[atlas], study.layers, similarity[atlas], method)
        else:
            models = prepared_models(study.networks, method) if models is None else models
            averaged = study.joint(atlas)
            table = second_order_table(
                averaged.names,
                prepare(averaged.dissimilarities, method),
                study.layers,
                models,
                method,
            )
        frames.append(_with(table, atlas=atlas))
    return pd.concat(frames, ignore_index=True)[columns("second_order")]


def _joint_readers(study: AlignedStudy, atlas: str) -> list:
    """Per ROI of an atlas, a reader of pairs [start, stop) of its subject-averaged RDM."""
    sets = [atlases[atlas] for atlases in study.subjects.values()]

    def reader(roi: str):
        return lambda start, stop: sum(row_range(s.row(roi), start, stop) for s in sets) / len(sets)

    return [reader(roi) for roi in study.rois[atlas]]


def _layer_readers(study: AlignedStudy) -> list:
    """Per layer of every network, in order, a reader of pairs [start, stop) of its RDM."""

    def reader(rdms: RDMSet, layer: str):
        return lambda start, stop: row_range(rdms.row(layer), start, stop)

    return [reader(rdms, layer) for rdms in study.networks.values() for layer in rdms.names]


def _averaged(rows: list, positions: np.ndarray) -> np.ndarray:
    """The subjects' mean of an RDM at `positions` (the same sums as AlignedStudy.joint)."""
    return sum(take(row, positions).astype(np.float64) for row in rows) / len(rows)


def example_rdms(study: AlignedStudy, n_images: int = 48) -> pd.DataFrame:
    """Per atlas a few RDMs on a source-stratified subsample of the common
    images: the subject-averaged RDM of the first ROI of the first and of the
    last ROI group, and the first and last layer of the first network."""
    sources = list(study.image_sources())
    network, layers = next(iter(study.networks.items()))
    layer_vectors = {
        f"{network}: {layer}": partial(take, layers.row(layer))
        for layer in dict.fromkeys((layers.names[0], layers.names[-1]))
    }
    frames = []
    for atlas in study.atlases:
        names = study.rois[atlas]
        groups = [rois for rois in study.study.roi_groups.get(atlas, {}).values() if rois] or [
            list(names)
        ]
        rois = list(dict.fromkeys(r for r in (groups[0][0], groups[-1][0]) if r in names))
        sets = [atlases[atlas] for atlases in study.subjects.values()]
        vectors = {roi: partial(_averaged, [s.row(roi) for s in sets]) for roi in rois}
        vectors |= layer_vectors
        frames.append(
            _with(rdm_examples_table(study.images, sources, vectors, n_images), atlas=atlas)
        )
    return pd.concat(frames, ignore_index=True)[columns("rdm_examples")]
