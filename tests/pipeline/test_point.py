"""Point tables from small hand-made studies: by_group
is the mean and SEM of subject means per atlas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.pipeline.point import by_group


def test_by_group_is_per_atlas_mean_and_sem_of_subject_means():
    rows = []
    for subject, offset in (("s1", 0.0), ("s2", 0.2), ("s3", 0.4)):
        for atlas, rois in (("A", ["V1", "V2"]), ("B", ["x"])):
            for k, roi in enumerate(rois):
                rows.append((subject, atlas, roi, "net", "l1", "corr", 10, offset + 0.1 * k))
    table = pd.DataFrame(
        rows, columns=["subject", "atlas", "roi", "network", "layer", "method", "n_images", "r"]
    )
    groups = {"A": {"early": ["V1", "V2"]}, "B": {"late": ["x"]}}
    result = by_group(table, groups)
    assert result[["atlas", "group"]].values.tolist() == [["A", "early"], ["B", "late"]]
    early = result.iloc[0]
    subject_means = np.array([0.05, 0.25, 0.45])
    assert np.isclose(early["mean"], subject_means.mean())
    assert (
        np.isclose(early["sem"], subject_means.std(ddof=1) / np.sqrt(3))
        and early["n_subjects"] == 3
    )
    assert by_group(table, {}).empty
