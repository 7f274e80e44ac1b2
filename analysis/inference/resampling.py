"""Bootstrap draws of images and subjects, shared by every ROI, network and method."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Resampling:
    """The drawn samples: indices as drawn, and how often each image / subject was drawn."""

    image_indices: np.ndarray  # B × n_images
    subject_indices: np.ndarray  # B × n_subjects
    seed: int | None = None

    @property
    def image_counts(self) -> np.ndarray:
        return _counts(self.image_indices)

    @property
    def subject_counts(self) -> np.ndarray:
        return _counts(self.subject_indices)

    @property
    def samples(self) -> int:
        return self.image_indices.shape[0]


def _counts(indices: np.ndarray) -> np.ndarray:
    """Row-wise bincount: B × n indices → B × n counts."""
    samples, n = indices.shape
    offsets = (np.arange(samples) * n)[:, None]
    return np.bincount((indices + offsets).ravel(), minlength=samples * n).reshape(samples, n)


def draw_resampling(n_images: int, n_subjects: int, samples: int, seed: int) -> Resampling:
    """Seeded draws with numpy.random.default_rng(seed): first all subject draws, then all image
    draws.

    Parameters
    ----------
    n_images, n_subjects : int
    samples : int
        B, the number of samples.
    seed : int

    Returns
    -------
    Resampling
        image_indices (B, n_images) and subject_indices (B, n_subjects), drawn with replacement.
    """
    rng = np.random.default_rng(seed)
    subject_indices = rng.integers(0, n_subjects, size=(samples, n_subjects))
    image_indices = rng.integers(0, n_images, size=(samples, n_images))
    return Resampling(image_indices=image_indices, subject_indices=subject_indices, seed=seed)
