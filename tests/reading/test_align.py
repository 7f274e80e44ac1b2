"""Alignment: common images in one order, and the
position of every canonical pair in a file's vector."""

from __future__ import annotations

import numpy as np

from analysis.reading.align import common_images, condensed_index, n_pairs, pair_index, positions


def test_common_images_are_sorted_and_shared_by_every_list():
    assert common_images([["c", "a", "b"], ["b", "c", "d"], ["a", "b", "c"]]) == ("b", "c")


def test_condensed_index_is_the_triu_order():
    n = 9
    rows, cols = np.triu_indices(n, 1)
    assert (condensed_index(rows, cols, n) == np.arange(n_pairs(n))).all()


def test_pair_index_gathers_the_same_matrix_in_another_order():
    rng = np.random.default_rng(0)
    file_images = [f"im{i}" for i in rng.permutation(8)]
    matrix = rng.random((8, 8))
    matrix = matrix + matrix.T
    vector = matrix[np.triu_indices(8, 1)]
    wanted = sorted(file_images)[:6]
    where = positions(file_images, wanted)
    gathered = vector[pair_index(where, len(file_images))]
    expected = matrix[np.ix_(where, where)][np.triu_indices(6, 1)]
    assert np.array_equal(gathered, expected)


def test_pair_index_is_none_when_the_file_is_already_aligned():
    assert pair_index(np.arange(5), 5) is None
    assert pair_index(np.arange(4), 5) is not None
