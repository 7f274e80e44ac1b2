"""rsatoolbox's side of the point-estimate benchmark: load, align and eval_fixed, as a user would.

Usage: python -m bench.rsatoolbox_fixed STUDY OUT_CSV
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import rsatoolbox
import yaml


def aligned(path: Path, common: list[str]) -> rsatoolbox.rdm.RDMs:
    """Load a file with rsatoolbox and restrict it to the common images, in sorted order."""
    rdms = rsatoolbox.rdm.load_rdm(str(path))
    rdms = rdms.subset_pattern("image", common)
    rdms.reorder(np.argsort(rdms.pattern_descriptors["image"]))
    return rdms


def main(study_path: str, out_csv: str) -> None:
    study_path = Path(study_path)
    study = yaml.safe_load(study_path.read_text())
    folder = study_path.parent
    files = {**study["subjects"], **study["networks"]}
    images = [
        set(rsatoolbox.rdm.load_rdm(str(folder / f)).pattern_descriptors["image"])
        for f in files.values()
    ]
    common = sorted(set.intersection(*images))
    rows = []
    for network, file in study["networks"].items():
        layers = aligned(folder / file, common)
        key = [k for k in layers.rdm_descriptors if k != "index"][0]
        models = [
            rsatoolbox.model.ModelFixed(name, layers.subset(key, name))
            for name in layers.rdm_descriptors[key]
        ]
        for subject, subject_file in study["subjects"].items():
            data = aligned(folder / subject_file, common)
            result = rsatoolbox.inference.eval_fixed(
                models, data, method=study.get("method", "corr")
            )
            for m, layer in enumerate(layers.rdm_descriptors[key]):
                for d, roi in enumerate(data.rdm_descriptors["roi"]):
                    rows.append((subject, roi, network, layer, result.evaluations[0, m, d]))
            del data
    pd.DataFrame(rows, columns=["subject", "roi", "network", "layer", "r"]).to_csv(
        out_csv, index=False
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
