"""Helpers shared by the tests: writing RDM files and study files, random studies, and rsatoolbox's
own dual bootstrap with the draws it made (the oracle)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rsatoolbox
import rsatoolbox.inference.evaluate as rsa_evaluate
import yaml

from analysis.inference.resampling import Resampling


def rows_where(table: pd.DataFrame, **equal: object) -> pd.DataFrame:
    """The rows of `table` whose columns equal the given values (column=value, all of them)."""
    mask = np.ones(len(table), dtype=bool)
    for column, value in equal.items():
        mask &= (table[column] == value).to_numpy()
    return table[mask]


def save_rdms(
    path: Path,
    vectors: np.ndarray,
    images: list[str],
    names: list[str],
    key: str = "roi",
    measure: str = "correlation",
    image_key: str = "image",
    extra_rdm_descriptors: dict | None = None,
) -> Path:
    """Write RDM vectors with rsatoolbox's own writer, as the real files were written."""
    rdms = rsatoolbox.rdm.RDMs(
        dissimilarities=np.atleast_2d(vectors),
        dissimilarity_measure=measure,
        rdm_descriptors={key: list(names), **(extra_rdm_descriptors or {})},
        pattern_descriptors={image_key: list(images)},
    )
    rdms.save(str(path), file_type="hdf5", overwrite=True)
    return path


def write_study(path: Path, **fields) -> Path:
    """A study file with the given top-level fields."""
    path.write_text(yaml.safe_dump(fields, sort_keys=False), encoding="utf-8")
    return path


def random_study(
    n_images: int, n_rois: int, n_subjects: int, n_layers: int, seed: int, tied: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pairs = n_images * (n_images - 1) // 2
    shared = rng.random(pairs)
    subjects = shared + rng.normal(0, 0.5, (n_rois, n_subjects, pairs))
    models = shared * np.linspace(0.2, 1, n_layers)[:, None] + rng.normal(0, 0.5, (n_layers, pairs))
    if tied:  # coarse values: many ties in every RDM
        subjects, models = np.round(subjects, 1), np.round(models, 1)
    return subjects, models


def rsatoolbox_dual_bootstrap(
    subjects: np.ndarray,
    models: np.ndarray,
    method: str,
    samples: int,
    monkeypatch: pytest.MonkeyPatch,
    seed: int = 0,
):
    """rsatoolbox's eval_dual_bootstrap for one ROI, and the indices it drew, recorded as drawn."""
    drawn = []
    original = rsa_evaluate.bootstrap_sample

    def recording(*args, **kwargs):
        sample, rdm_idx, pattern_idx = original(*args, **kwargs)
        drawn.append((np.array(rdm_idx), np.array(pattern_idx)))
        return sample, rdm_idx, pattern_idx

    monkeypatch.setattr(rsa_evaluate, "bootstrap_sample", recording)
    np.random.seed(seed)  # noqa: NPY002 (rsatoolbox draws from the legacy global generator)
    data = rsatoolbox.rdm.RDMs(subjects)
    fixed = [
        rsatoolbox.model.ModelFixed(f"layer{i}", rsatoolbox.rdm.RDMs(models[i : i + 1]))
        for i in range(models.shape[0])
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rsa_evaluate.eval_dual_bootstrap(fixed, data, method=method, N=samples)
    resampling = Resampling(
        image_indices=np.array([p for _, p in drawn]),
        subject_indices=np.array([r for r, _ in drawn]),
    )
    return result, resampling


def rsatoolbox_pattern_bootstrap(
    subjects: np.ndarray,
    models: np.ndarray,
    method: str,
    samples: int,
    monkeypatch: pytest.MonkeyPatch,
    seed: int = 0,
):
    """rsatoolbox's eval_bootstrap_pattern (images only) for one ROI, and the image indices it drew.

    subjects: S × pairs (one subject: 1 × pairs); the returned resampling draws every subject once.
    """
    drawn = []
    original = rsa_evaluate.bootstrap_sample_pattern

    def recording(*args, **kwargs):
        sample, pattern_idx = original(*args, **kwargs)
        drawn.append(np.array(pattern_idx))
        return sample, pattern_idx

    monkeypatch.setattr(rsa_evaluate, "bootstrap_sample_pattern", recording)
    np.random.seed(seed)  # noqa: NPY002 (rsatoolbox draws from the legacy global generator)
    data = rsatoolbox.rdm.RDMs(np.atleast_2d(subjects))
    fixed = [
        rsatoolbox.model.ModelFixed(f"layer{i}", rsatoolbox.rdm.RDMs(models[i : i + 1]))
        for i in range(models.shape[0])
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rsa_evaluate.eval_bootstrap_pattern(fixed, data, method=method, N=samples)
    image_indices = np.array(drawn)
    resampling = Resampling(
        image_indices=image_indices,
        subject_indices=np.tile(np.arange(data.n_rdm), (len(drawn), 1)),
    )
    return result, resampling


def report_figure(name: str):
    """The report's figure function called `name`, from whichever figure module defines it."""
    from report import figures, geometry_figures, inference_figures

    return next(
        getattr(m, name) for m in (figures, inference_figures, geometry_figures) if hasattr(m, name)
    )


def analysed(study: Path, out: Path, samples: int) -> Path:
    """Run `python -m analysis run` on a study as a user
    would (a subprocess from the repository root)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "run",
            str(study),
            "--out",
            str(out),
            "--samples",
            str(samples),
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return out
