"""A results folder in the output contract's shape, sized like the deposit (several atlases, four
networks of 5–19 layers, four subjects), with made-up numbers: for testing the report's layout and
logic quickly, without running the analysis. Never results: nothing here is computed from RDMs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

NETWORKS = {
    "ResNet-50": ["conv1", "layer1", "layer2", "layer3", "layer4"],
    "AlexNet": ["conv1", "conv2", "conv3", "conv4", "conv5"],
    "EfficientNet-B0": [f"features.{i}" for i in range(10)],
    "MobileNet-V2": [f"features.{i}" for i in range(19)],
}
SUBJECTS = ["CSI1", "CSI2", "CSI3", "CSI4"]


def deposit_atlases() -> dict[str, dict[str, list[str]]]:
    """Three atlases of 10, 16 and 33 ROIs, with groups."""
    return {
        "streams": {
            "Early visual": ["LHEarlyVis", "RHEarlyVis"],
            "Mid-level": ["LHLOC", "RHLOC", "LHOPA", "RHOPA"],
            "High-level": ["LHPPA", "RHPPA", "LHRSC", "RHRSC"],
        },
        "retinotopic": {
            "Early visual": [f"{h}{a}" for a in ("V1v", "V1d", "V2v", "V2d") for h in ("L", "R")],
            "Ventral": [f"{h}{a}" for a in ("hV4", "VO1") for h in ("L", "R")],
            "Dorsal": [f"{h}{a}" for a in ("V3A", "IPS0") for h in ("L", "R")],
        },
        "parcellation": {
            "Early": [f"P{i:02d}" for i in range(6)],
            "Ventral": [f"P{i:02d}" for i in range(6, 16)],
            "Dorsal": [f"P{i:02d}" for i in range(16, 24)],
            "Medial": [f"P{i:02d}" for i in range(24, 33)],
        },
    }


def _level(group_index: int, n_groups: int, roi: str) -> float | None:
    return None if "RSC" in roi else group_index / max(n_groups - 1, 1) * 0.85 + 0.05


def write_mock_results(
    folder: Path,
    atlases: dict[str, dict[str, list[str]]] | None = None,
    networks: dict[str, list[str]] | None = None,
    subjects: list[str] | None = None,
    seed: int = 0,
) -> Path:
    """Write every table of the contract (with an atlas column) and a manifest into `folder`."""
    rng = np.random.default_rng(seed)
    atlases = atlases or deposit_atlases()
    networks = networks or NETWORKS
    subjects = subjects or SUBJECTS
    folder.mkdir(parents=True, exist_ok=True)
    level = {
        (a, r): _level(g, len(groups), r)
        for a, groups in atlases.items()
        for g, rois in enumerate(groups.values())
        for r in rois
    }
    cells = [
        (a, r, n, layer)
        for a, groups in atlases.items()
        for rois in groups.values()
        for r in rois
        for n, layers in networks.items()
        for layer in layers
    ]

    def truth(a: str, r: str, n: str, layer: str) -> float:
        lvl = level[(a, r)]
        depth = networks[n].index(layer) / max(len(networks[n]) - 1, 1)
        return 0.0 if lvl is None else 0.25 * np.exp(-((depth - lvl) ** 2) / 0.08) + 0.02

    true = np.array([truth(*c) for c in cells])
    keys = pd.DataFrame(cells, columns=["atlas", "roi", "network", "layer"])
    per_subject = pd.concat(
        [
            keys.assign(
                subject=s,
                method="corr",
                n_images=412 if s == subjects[-1] else 756,
                r=true * (0.8 + 0.1 * k) + rng.normal(0, 0.02, len(cells)),
            )
            for k, s in enumerate(subjects)
        ],
        ignore_index=True,
    )
    per_subject = per_subject[
        ["subject", "atlas", "roi", "network", "layer", "method", "n_images", "r"]
    ]
    joint = keys.assign(method="corr", r=true * 1.2 + rng.normal(0, 0.01, len(cells)))
    group_of = {
        (a, r): g for a, groups in atlases.items() for g, rois in groups.items() for r in rois
    }
    grouped = per_subject.assign(
        group=[
            group_of[(a, r)] for a, r in zip(per_subject["atlas"], per_subject["roi"], strict=True)
        ]
    )
    means = grouped.groupby(
        ["subject", "atlas", "group", "network", "layer", "method"], sort=False
    )["r"].mean()
    by_group = (
        means.reset_index()
        .groupby(["atlas", "group", "network", "layer", "method"], sort=False)["r"]
        .agg(mean="mean", sem=lambda v: v.std(ddof=1) / np.sqrt(len(v)), n_subjects="count")
        .reset_index()
    )

    ceiling = pd.DataFrame(
        [
            (a, r, "corr", lower, lower + 0.15, 0.03, 0.02)
            for (a, r), lvl in level.items()
            for lower in [0.35 + rng.normal(0, 0.02) if lvl is not None else 0.004]
        ],
        columns=["atlas", "roi", "method", "lower", "upper", "lower_sem", "upper_sem"],
    )
    dof = len(subjects) - 1
    t = stats.t.ppf(0.975, dof)
    inference = joint.copy()
    inference["sem"] = np.abs(rng.normal(0.03, 0.005, len(inference)))
    inference["ci_low"] = inference["r"] - t * inference["sem"]
    inference["ci_high"] = inference["r"] + t * inference["sem"]
    inference["p_zero"] = 2 * stats.t.sf(np.abs(inference["r"] / inference["sem"]), dof)
    lower = inference.merge(ceiling[["atlas", "roi", "lower"]], on=["atlas", "roi"])[
        "lower"
    ].to_numpy()
    inference["r_normalised"] = np.where(
        lower > 0, inference["r"] / np.where(lower > 0, lower, 1), np.nan
    )
    inference["p_ceiling"] = 2 * stats.t.sf(
        np.abs((lower - inference["r"]) / np.hypot(inference["sem"], 0.03)), dof
    )
    inference["significant_zero"] = inference["p_zero"] < 0.05
    inference["significant_ceiling"] = inference["p_ceiling"] < 0.05
    inference = inference[
        [
            "atlas",
            "roi",
            "network",
            "layer",
            "method",
            "r",
            "r_normalised",
            "sem",
            "ci_low",
            "ci_high",
            "p_zero",
            "p_ceiling",
            "significant_zero",
            "significant_ceiling",
        ]
    ]

    pairwise, peak = [], []
    for (a, r, n), rows in inference.groupby(["atlas", "roi", "network"], sort=False):
        values, sems, layers = rows["r"].to_numpy(), rows["sem"].to_numpy(), rows["layer"].tolist()
        i, j = np.triu_indices(len(layers), 1)
        difference = values[i] - values[j]
        p = 2 * stats.t.sf(np.abs(difference) / np.hypot(sems[i], sems[j]) * 1.5, dof)
        pairwise.append(
            pd.DataFrame(
                {
                    "atlas": a,
                    "roi": r,
                    "network": n,
                    "layer_a": np.array(layers)[i],
                    "layer_b": np.array(layers)[j],
                    "difference": difference,
                    "p": p,
                    "p_adjusted": np.minimum(1, p * len(p)),
                    "significant": p * len(p) < 0.05,
                }
            )
        )
        share = rng.dirichlet(np.exp((values - values.max()) / 0.02) * 50 + 0.01)
        peak.append(
            pd.DataFrame({"atlas": a, "roi": r, "network": n, "layer": layers, "share": share})
        )
    pairwise = pd.concat(pairwise, ignore_index=True)
    peak_layer = pd.concat(peak, ignore_index=True)

    best = inference.groupby(["atlas", "roi", "network"], sort=False)["r"].max()
    names = list(networks)
    comparison = []
    for a, r in level:
        for x in range(len(names)):
            for y in range(x + 1, len(names)):
                d = best[(a, r, names[x])] - best[(a, r, names[y])] + rng.normal(0, 0.01)
                s = 0.02
                p = 2 * stats.t.sf(abs(d / s), dof)
                comparison.append(
                    (
                        a,
                        r,
                        names[x],
                        names[y],
                        d,
                        s,
                        d - t * s,
                        d + t * s,
                        p,
                        min(1.0, 6 * p),
                        6 * p < 0.05,
                    )
                )
    network_comparison = pd.DataFrame(
        comparison,
        columns=[
            "atlas",
            "roi",
            "network_a",
            "network_b",
            "difference",
            "sem",
            "ci_low",
            "ci_high",
            "p",
            "p_adjusted",
            "significant",
        ],
    )

    sources = {"COCO": 0.41, "ImageNet": 0.39, "Scene": 0.20}
    image_rows = []
    for role, files in (("subject", subjects), ("network", list(networks))):
        for name in files:
            for atlas in atlases if role == "subject" else [""]:
                total = 432 if name == subjects[-1] else 784
                image_rows.append((role, name, atlas, "all", total, 412, total - 412))
                image_rows += [
                    (
                        role,
                        name,
                        atlas,
                        s,
                        round(total * f),
                        round(412 * f),
                        round(total * f) - round(412 * f),
                    )
                    for s, f in sources.items()
                ]
    images = pd.DataFrame(
        image_rows,
        columns=[
            "role",
            "name",
            "atlas",
            "source",
            "images_in_file",
            "images_kept",
            "images_dropped",
        ],
    )

    second, examples = [], []
    n_img = 24
    image_names = (
        [f"COCO_{i:04d}.jpg" for i in range(8)]
        + [f"n0{i:07d}_1.JPEG" for i in range(8)]
        + [f"scene{i}.jpg" for i in range(8)]
    )
    image_sources = ["COCO"] * 8 + ["ImageNet"] * 8 + ["Scene"] * 8
    for atlas, groups in atlases.items():
        items = [("roi", "", r) for rois in groups.values() for r in rois]
        items += [("layer", n, layer) for n, layers in networks.items() for layer in layers]
        vectors = rng.normal(size=(len(items), 200)) + rng.normal(size=200)
        similarity = np.corrcoef(vectors)
        i, j = np.triu_indices(len(items), 1)
        second.append(
            pd.DataFrame(
                {
                    "atlas": atlas,
                    "kind_a": [items[k][0] for k in i],
                    "network_a": [items[k][1] for k in i],
                    "name_a": [items[k][2] for k in i],
                    "kind_b": [items[k][0] for k in j],
                    "network_b": [items[k][1] for k in j],
                    "name_b": [items[k][2] for k in j],
                    "method": "corr",
                    "r": similarity[i, j],
                }
            )
        )
        a, b = np.triu_indices(n_img, 1)
        first_roi = next(iter(groups.values()))[0]
        for label in (first_roi, f"{names[0]}: {networks[names[0]][-1]}"):
            examples.append(
                pd.DataFrame(
                    {
                        "atlas": atlas,
                        "rdm": label,
                        "image_a": np.array(image_names)[a],
                        "image_b": np.array(image_names)[b],
                        "source_a": np.array(image_sources)[a],
                        "source_b": np.array(image_sources)[b],
                        "dissimilarity": rng.random(len(a)),
                    }
                )
            )
    tables = {
        "per_subject": per_subject,
        "joint": joint,
        "by_group": by_group,
        "inference": inference,
        "noise_ceiling": ceiling,
        "pairwise": pairwise,
        "peak_layer": peak_layer,
        "network_comparison": network_comparison,
        "images": images,
        "second_order": pd.concat(second, ignore_index=True),
        "rdm_examples": pd.concat(examples, ignore_index=True),
    }
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)
    inputs = [
        {
            "role": "subject",
            "name": s,
            "atlas": a,
            "path": f"data/mock/{s}_{a}.h5",
            "size": 1000,
            "sha256": "ab" * 32,
            "images_in_file": 432 if s == subjects[-1] else 784,
            "images_kept": 412,
            "images_dropped": (432 if s == subjects[-1] else 784) - 412,
        }
        for s in subjects
        for a in atlases
    ]
    inputs += [
        {
            "role": "network",
            "name": n,
            "path": f"data/mock/{n}.h5",
            "size": 1000,
            "sha256": "cd" * 32,
            "images_in_file": 4916,
            "images_kept": 412,
            "images_dropped": 4504,
        }
        for n in networks
    ]
    manifest = {
        "synthetic": True,
        "title": "Mock results (layout tests only)",
        "study": {"path": "data/mock/study.yml", "sha256": "ef" * 32},
        "order": {
            "subjects": subjects,
            "atlases": list(atlases),
            "rois": {a: [r for rois in g.values() for r in rois] for a, g in atlases.items()},
            "networks": list(networks),
            "layers": networks,
            "groups": {a: list(g) for a, g in atlases.items()},
        },
        "roi_groups": atlases,
        "inputs": inputs,
        "n_common_images": 412,
        "parameters": {"method": "corr", "samples": 100, "seed": 0},
        "bootstrap": {
            "samples": 100,
            "seed": 0,
            "valid_samples": 100,
            "dropped_few_images": 0,
            "dropped_undefined": 0,
            "correction": "fdr",
            "alpha": 0.05,
        },
        "versions": {"python": "3", "numpy": "2"},
        "project": {"version": "0", "git_commit": "0" * 40, "git_dirty": False},
        "command": "mock",
        "computed_at": "2026-01-01T00:00:00+00:00",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder
