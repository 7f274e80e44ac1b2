"""peak_consistency: the subject-averaged RDM's peak layer and how many subjects share it."""

from __future__ import annotations

import pandas as pd

from analysis.pipeline.point import peak_consistency
from analysis.schema import columns


def test_counts_the_subjects_whose_own_peak_is_the_joint_peak() -> None:
    layers = ["l1", "l2", "l3"]
    per_subject = pd.DataFrame(
        [
            (s, "A", "V1", "net", layer, "corr", 10, r)
            for s, values in {
                "s1": [0.1, 0.3, 0.2],
                "s2": [0.4, 0.2, 0.1],
                "s3": [0, 0.2, 0.1],
            }.items()
            for layer, r in zip(layers, values, strict=True)
        ],
        columns=columns("per_subject"),
    )
    joint = pd.DataFrame(
        [
            ("A", "V1", "net", layer, "corr", r)
            for layer, r in zip(layers, [0.2, 0.25, 0.1], strict=True)
        ],
        columns=columns("joint"),
    )
    table = peak_consistency(per_subject, joint)
    assert list(table.columns) == columns("peak_consistency")
    row = table.iloc[0]
    assert (row.layer, row.r, row.n_subjects, row.n_sharing) == ("l2", 0.25, 3, 2)
