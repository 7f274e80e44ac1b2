"""Align RDM files to the images common to all of them, in one canonical order.

An RDM vector stores the upper triangle in `np.triu_indices(n, 1)` order. Aligning a file means
picking, for every canonical pair of images, the position of that pair in the file's vector:
one integer gather per RDM, with no n×n matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def common_images(image_lists: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """The images present in every list, sorted: one order whatever order each file uses."""
    common = set(image_lists[0])
    for images in image_lists[1:]:
        common &= set(images)
    return tuple(sorted(common))


def positions(file_images: Sequence[str], images: Sequence[str]) -> np.ndarray:
    """Where each of `images` sits in `file_images`."""
    lookup = {name: i for i, name in enumerate(file_images)}
    return np.fromiter((lookup[name] for name in images), dtype=np.intp, count=len(images))


def pair_index(file_positions: np.ndarray, n_file: int) -> np.ndarray | None:
    """Indices into a file's vector for the canonical
    pairs; None when the file is already aligned."""
    n = len(file_positions)
    if n == n_file and np.array_equal(file_positions, np.arange(n)):
        return None
    rows, cols = np.triu_indices(n, 1)
    first = file_positions[rows]
    second = file_positions[cols]
    low = np.minimum(first, second)
    high = np.maximum(first, second)
    del rows, cols, first, second
    return condensed_index(low, high, n_file)


def condensed_index(low: np.ndarray, high: np.ndarray, n: int) -> np.ndarray:
    """Position of pair (low, high), low < high, in the np.triu_indices(n, 1) order."""
    return low * (2 * n - low - 1) // 2 + (high - low - 1)


def n_pairs(n_images: int) -> int:
    """Number of distinct image pairs."""
    return n_images * (n_images - 1) // 2
