"""Write a study of Kriegeskorte et al.'s (2008) 92-image data: human IT RDMs of 4 subjects and
the paper's 8 model RDMs as one unordered set of models.

    python tools/kriegeskorte_92.py SOURCE_FOLDER STUDY_FOLDER

SOURCE_FOLDER holds 92_brainRDMs.mat (RDMs: 1 × 4 subjects × 2 sessions) and 92_modelRDMs.mat
(Models: 1 × 8), as distributed with the rsatoolbox demos (demos/92imageData). STUDY_FOLDER gets
one RDM file per subject (ROI 'hIT', the mean of its two sessions' RDMs), models.h5 (8 RDMs)
and study.yml, in rsatoolbox's HDF5 layout. The files carry no image names; images are named by
category and position in the paper's order (bodies, faces, natural and artificial objects), and
that order is checked against the category model RDM ('FaceBodyManmadeNatobj'), whose
zero-distance blocks are the categories. Nothing here is committed: the data stay where they are.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import rsatoolbox
import scipy.io
import yaml

#: The paper's image order: 12 human bodies, 12 human faces, 12 animal bodies, 12 animal
#: faces, 23 natural and 21 artificial inanimate objects.
BLOCKS = (
    ("body", 12),
    ("face", 12),
    ("body", 12),
    ("face", 12),
    ("natural", 23),
    ("artificial", 21),
)
SOURCES = {"face": "^face", "body": "^body", "natural object": "^natural", "artificial": "^art"}


def image_names() -> list[str]:
    """The 92 images named by category and position: 'body_01', …, 'artificial_92'."""
    categories = [c for category, count in BLOCKS for c in [category] * count]
    return [f"{category}_{i + 1:02d}" for i, category in enumerate(categories)]


def check_categories(category_rdm: np.ndarray, names: list[str]) -> None:
    """Images share a category in the model RDM (distance 0) exactly when their names do."""
    category = np.array([n.split("_")[0] for n in names])
    same = category[:, None] == category[None, :]
    if not np.array_equal(same, np.asarray(category_rdm) == 0):
        raise SystemExit("the category model RDM does not match the paper's image order")


def save(path: Path, squares: np.ndarray, names: list[str], key: str, images: list[str]) -> None:
    """RDM matrices (n × 92 × 92) as an rsatoolbox HDF5 file."""
    rdms = rsatoolbox.rdm.RDMs(
        dissimilarities=np.asarray(squares, dtype=np.float64),
        rdm_descriptors={key: list(names)},
        pattern_descriptors={"image": images},
    )
    rdms.save(str(path), file_type="hdf5", overwrite=True)


def write_study(source: Path, folder: Path) -> Path:
    """Convert the two .mat files into a study folder; returns the study file."""
    brain = scipy.io.loadmat(source / "92_brainRDMs.mat")["RDMs"][0]  # 4 subjects × 2 sessions
    models = scipy.io.loadmat(source / "92_modelRDMs.mat")["Models"][0]
    images = image_names()
    model_names = [str(m["name"][0]) for m in models]
    check_categories(models[model_names.index("FaceBodyManmadeNatobj")]["RDM"], images)
    folder.mkdir(parents=True, exist_ok=True)
    subjects = {}
    for sessions in brain:
        subject = str(sessions[0]["name"][0]).split("|")[1].strip()  # 'hIT | BE | Session: 1'
        mean = np.mean([np.asarray(s["RDM"], dtype=np.float64) for s in sessions], axis=0)
        save(folder / f"hIT_{subject}.h5", mean[None], ["hIT"], "roi", images)
        subjects[subject] = f"hIT_{subject}.h5"
    save(
        folder / "models.h5",
        np.stack([np.asarray(m["RDM"], dtype=np.float64) for m in models]),
        model_names,
        "layer",
        images,
    )
    study = {
        "title": "Human IT and eight models, 92 object images (Kriegeskorte et al. 2008)",
        "dataset": {
            "name": "92-image human IT RDMs and model RDMs (Kriegeskorte et al. 2008)",
            "description": (
                "Human inferior temporal (IT) cortex RDMs of 4 subjects for 92 object images "
                "(faces, bodies, natural and artificial objects), and 8 model RDMs, as distributed "
                "with the rsatoolbox demos (demos/92imageData)."
            ),
            "url": "https://github.com/rsagroup/rsatoolbox",
            "licence": "MIT (rsatoolbox repository)",
            "cite": ["kriegeskorte2008matching"],
            "subjects": (
                "4 human subjects (BE, KO, SN, TI) in fMRI; each RDM is the mean of 2 sessions."
            ),
            "rdms": (
                "Subject RDMs: 1 - Pearson r between response patterns of human IT; model RDMs "
                "(animacy, a face/body/natural/artificial category model, monkey IT, EVA, HMAX, "
                "V1, silhouette, RADON) as given with the data."
            ),
        },
        "subjects": subjects,
        "networks": {"Models": {"file": "models.h5", "ordered": False}},
        "method": "corr",
        "images": {"sources": SOURCES},
    }
    path = folder / "study.yml"
    path.write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    print(f"study written: {write_study(Path(argv[0]), Path(argv[1]))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
