"""A synthetic study shaped like the whole Dryad deposit, with a planted answer.

Four subjects (CSI4 saw fewer images, as in BOLD5000), three atlases per subject (10, 16 and
33 ROIs), a group-mean file per atlas and four networks of 5, 5, 10 and 19 layers. As in the
ResNet-50 demo (demo.py), every image has latent features at five levels of a hierarchy; a
layer at relative depth d in [0, 1] sees them through a bump centred at level 4d (each
network with its own selectivity, plus structure of its own), and an ROI through a bump at
its planted level. So in every network an ROI's best layer is the one whose relative depth
is nearest its planted level / 4; truth.json lists it. Files are written with rsatoolbox.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .demo import (
    LAYERS,
    SHARED_FEATURES,
    SUBJECT_GAIN,
    correlation_rdm,
    demo_start,
    patterns,
    roi_activity,
    save_rdms,
    write_study_file,
    write_truth_file,
)
from .publish import staged_folder

N_IMAGES = 240  # the deposit-shaped demo's default size (the command line's too)
MIN_IMAGES = 40
N_LEVELS = len(LAYERS)
SUBJECTS = {"CSI1": 0.98, "CSI2": 0.98, "CSI3": 0.98, "CSI4": 0.6}  # share of the images each saw
NETWORKS = {
    "AlexNet": ("AlexNet_CORR_RDMs.h5", [f"conv{i}" for i in range(1, 6)]),
    "ResNet50": ("ResNet50_CORR_RDMs.h5", ["conv1", "layer1", "layer2", "layer3", "layer4"]),
    "efficientnet_b0": (
        "efficientnet_b0_CORR_RDMs.h5",
        [f"features.{i}" for i in range(9)] + ["avgpool"],
    ),
    "mobilenet_v2": ("mobilenet_v2_CORR_RDMs.h5", [f"features.{i}" for i in range(19)]),
}
#: How sharply each network's layers select a level, and how much of each layer is the network's
#: own structure (features no brain region has): networks differ in how well they match at all.
NETWORK_WIDTH = {"AlexNet": 1.2, "ResNet50": 0.9, "efficientnet_b0": 0.8, "mobilenet_v2": 0.7}
NETWORK_OWN = {"AlexNet": 1.5, "ResNet50": 0.8, "efficientnet_b0": 1.0, "mobilenet_v2": 1.2}
OWN_FEATURES = 24
_HEMISPHERES = ("LH", "RH")
_BOLD5000 = {"EarlyVis": 1, "LOC": 3, "OPA": 3, "PPA": 4, "RSC": None}
_VC = {"hOc1": 0, "hOc2": 1, "hOc3v": 1, "hOc3d": 1, "hOc4v": 2, "hOc4d": 2, "hOc4lp": 3, "FG2": 4}
_VISF = {
    "IOG-faces": 2,
    "pFus-faces": 3,
    "mFus-faces": 4,
    "pSTS-faces": 4,
    "OTS-bodies": 3,
    "ITG-bodies": 3,
    "MTG-bodies": 3,
    "LOS-bodies": 2,
    "pOTS-characters": 3,
    "IOS-characters": 2,
    "CoS-places": 4,
    "TOS-places": 3,
    "IPS-places": 3,
    "hMT-motion": 2,
    "V1-retinotopic": 0,
    "V3A-retinotopic": 1,
}
ATLASES = {  # atlas -> {ROI: planted level (None: no signal)}, groups in hierarchy order
    "BOLD5000": {f"{h}{r}": lvl for r, lvl in _BOLD5000.items() for h in _HEMISPHERES},
    "vcAtlas": {f"{h}_{r}": lvl for r, lvl in _VC.items() for h in _HEMISPHERES},
    "visfAtlas": {
        **{f"{h}_{r}": lvl for r, lvl in _VISF.items() for h in _HEMISPHERES},
        "LH_mOTS-characters": 4,
    },
}
GROUPS = {
    "BOLD5000": {
        "Early visual": ["EarlyVis"],
        "Mid-level": ["LOC", "OPA"],
        "High-level": ["PPA", "RSC"],
    },
    "vcAtlas": {
        "Early visual": ["hOc1", "hOc2"],
        "Mid-level": ["hOc3v", "hOc3d", "hOc4v", "hOc4d"],
        "High-level": ["hOc4lp", "FG2"],
    },
    "visfAtlas": {
        "Early visual": ["V1-retinotopic", "V3A-retinotopic"],
        "Faces": ["IOG-faces", "pFus-faces", "mFus-faces", "pSTS-faces"],
        "Bodies": ["OTS-bodies", "ITG-bodies", "MTG-bodies", "LOS-bodies"],
        "Characters": ["pOTS-characters", "IOS-characters", "mOTS-characters"],
        "Places": ["CoS-places", "TOS-places", "IPS-places"],
        "Motion": ["hMT-motion"],
    },
}
SOURCES = {"COCO": "^COCO_", "ImageNet": r"^n\d{8}_", "Scene": "."}


def layer_level(index: int, n_layers: int) -> float:
    """The hierarchy level a layer sees best: its relative depth scaled to the levels."""
    return (N_LEVELS - 1) * index / max(n_layers - 1, 1)


def layer_bump(level: float, width: float) -> np.ndarray:
    """Weights with which a layer centred at `level` sees each level, `width` its selectivity."""
    return np.exp(-0.5 * ((np.arange(N_LEVELS) - level) / width) ** 2)


def roi_groups(atlas: str) -> dict[str, list[str]]:
    """An atlas's groups with the full ROI names, in hierarchy order."""
    rois = list(ATLASES[atlas])
    return {
        group: [roi for roi in rois if any(roi.endswith(part) for part in parts)]
        for group, parts in GROUPS[atlas].items()
    }


def write_deposit_demo(folder: str | Path, n_images: int = N_IMAGES, seed: int = 0) -> Path:
    """Write the deposit-shaped study (RDM files, study.yml,
    truth.json) into `folder`; returns study.yml."""
    folder, rng, images, latents = demo_start(
        folder, n_images, seed, MIN_IMAGES, "the deposit-shaped demo"
    )
    with staged_folder(folder) as stage:
        for network, (file, layers) in NETWORKS.items():
            order = rng.permutation(n_images)
            own = NETWORK_OWN[network] * rng.standard_normal((n_images, OWN_FEATURES))[order]
            vectors = np.stack(
                [
                    correlation_rdm(
                        np.hstack(
                            [
                                patterns(
                                    latents[order],
                                    layer_bump(layer_level(k, len(layers)), NETWORK_WIDTH[network]),
                                ),
                                own,
                            ]
                        )
                    )
                    for k in range(len(layers))
                ]
            )
            save_rdms(
                stage / file,
                vectors,
                [images[i] for i in order],
                "layer",
                layers,
                {"network": network},
            )
        seen = {
            s: np.sort(rng.choice(n_images, int(round(share * n_images)), replace=False))
            for s, share in SUBJECTS.items()
        }
        for atlas, planted in ATLASES.items():
            shared = rng.standard_normal((len(planted), n_images, SHARED_FEATURES))
            full = {}
            for subject, kept in seen.items():
                order = rng.permutation(kept)
                activity = [
                    roi_activity(latents[order], shared[k][order], level, rng)
                    for k, level in enumerate(planted.values())
                ]
                vectors = np.stack([correlation_rdm(a) for a in activity])
                save_rdms(
                    stage / f"{subject}_{atlas}_CORR_RDMs.h5",
                    vectors,
                    [images[i] for i in order],
                    "roi",
                    list(planted),
                    {"subject": subject, "atlas": atlas},
                )
                full[subject] = (order, vectors)
            _write_group_mean(
                stage / f"MEAN_{atlas}_CORR_RDMs.h5", full, images, list(planted), atlas
            )
        _write_study(stage / "study.yml")
        _write_truth(stage / "truth.json", seed, n_images)
    return folder / "study.yml"


def _write_group_mean(
    path: Path, full: dict, images: list[str], rois: list[str], atlas: str
) -> None:
    """The mean of CSI1–3's RDMs on the images all three saw (which subjects a MEAN file averages
    is not documented for the real deposit; here it is CSI1–3)."""
    subjects = ["CSI1", "CSI2", "CSI3"]
    common = np.sort(list(set.intersection(*(set(full[s][0]) for s in subjects))))
    total = 0
    for subject in subjects:
        order, vectors = full[subject]
        where = {image: i for i, image in enumerate(order)}
        pos = np.array([where[i] for i in common])
        rows, cols = np.triu_indices(len(common), 1)
        low, high = np.minimum(pos[rows], pos[cols]), np.maximum(pos[rows], pos[cols])
        n = len(order)
        total = total + vectors[:, low * (2 * n - low - 1) // 2 + (high - low - 1)]
    save_rdms(
        path,
        total / len(subjects),
        [images[i] for i in common],
        "roi",
        rois,
        {"subject": "MEAN of CSI1-CSI3", "atlas": atlas},
    )


def _write_study(path: Path) -> None:
    study = {
        "title": (
            "Deep networks vs BOLD5000, the whole deposit — "
            "SYNTHETIC DEMO (planted answer, not real data)"
        ),
        "subjects": {s: {a: f"{s}_{a}_CORR_RDMs.h5" for a in ATLASES} for s in SUBJECTS},
        "group_mean": {a: f"MEAN_{a}_CORR_RDMs.h5" for a in ATLASES},
        "networks": {n: file for n, (file, _) in NETWORKS.items()},
        "roi_groups": {a: roi_groups(a) for a in ATLASES},
        "images": {"match": "exact", "align": "common", "sources": SOURCES},
        "method": "corr",
        "bootstrap": {"samples": 1000, "seed": 0},
    }
    write_study_file(
        path,
        study,
        "Deposit-shaped synthetic study written by `python -m analysis demo --shape deposit`.",
    )


def _write_truth(path: Path, seed: int, n_images: int) -> None:
    def best(level: int | None, layers: list[str]) -> str | None:
        if level is None:
            return None
        return layers[
            int(np.argmin([abs(layer_level(k, len(layers)) - level) for k in range(len(layers))]))
        ]

    truth = {
        "synthetic": True,
        "seed": seed,
        "n_images": n_images,
        "subject_gain": list(SUBJECT_GAIN),
        "peak_layer": {
            atlas: {
                network: {roi: best(level, layers) for roi, level in planted.items()}
                for network, (_, layers) in NETWORKS.items()
            }
            for atlas, planted in ATLASES.items()
        },
        "note": "ROIs with peak_layer null carry no signal: r should be near zero at every layer.",
    }
    write_truth_file(path, truth)
