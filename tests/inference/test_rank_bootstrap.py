"""The compiled rank bootstrap (spearman, rho-a)
against rsatoolbox and against the plain numpy path."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import inference
from analysis.comparison import ranks as comparison_ranks
from analysis.errors import AnalysisError
from analysis.inference import crossvalidated as cv
from analysis.inference import rank_bootstrap
from analysis.inference import rank_kernels as kernels
from analysis.inference.resampling import draw_resampling
from analysis.reading.align import condensed_index
from tests.helpers import random_study, rsatoolbox_dual_bootstrap

dual = importlib.import_module("analysis.inference.dual_bootstrap")


@pytest.mark.parametrize("method", ["spearman", "rho-a"])
@pytest.mark.parametrize("n_subjects", [2, 4])
def test_equals_rsatoolbox_with_ties_and_other_subject_counts(
    method: str, n_subjects: int, monkeypatch
) -> None:
    subjects, models = random_study(16, 1, n_subjects, 2, seed=n_subjects, tied=True)
    reference, resampling = rsatoolbox_dual_bootstrap(
        subjects[0], models, method, 10, monkeypatch, seed=3
    )
    ours = inference.dual_bootstrap(subjects, models, resampling, method, dtype=np.float64)
    expected_evals = reference.evaluations[:, :, 0, 0, :]
    expected_ceiling = reference.noise_ceiling[:, :, 0, :].transpose(1, 0, 2)
    ok = ~np.isnan(expected_evals[:, 0, 0])
    np.testing.assert_array_equal(ours.valid, ok)
    np.testing.assert_allclose(ours.evaluations[ok, 0], expected_evals[ok], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.noise_ceiling[ok, 0], expected_ceiling[ok], rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ["spearman", "rho-a"])
@pytest.mark.parametrize(
    ("n_images", "n_subjects", "tied"), [(30, 3, False), (26, 3, True), (24, 5, True)]
)
def test_compiled_path_equals_the_numpy_path(
    method: str, n_images: int, n_subjects: int, tied: bool
) -> None:
    subjects, models = random_study(n_images, 3, n_subjects, 3, seed=n_images, tied=tied)
    resampling = draw_resampling(n_images, n_subjects, 40, seed=1)
    image_counts, subject_counts = resampling.image_counts, resampling.subject_counts.astype(float)
    compiled = dual._rank_compiled(
        dual.subject_rows(subjects), list(models), image_counts, subject_counts, method, False
    )
    numpy_path = dual._ranked(subjects, models, image_counts, subject_counts, method, False)
    for ours, expected in zip(compiled, numpy_path, strict=True):
        np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def spearman_args(n_rois: int, samples: int) -> tuple:
    """rank_dual_bootstrap's arguments for spearman over a random study of 20 images, 3 subjects
    and 2 layers."""
    subjects, models = random_study(20, n_rois, 3, 2, seed=9)
    resampling = draw_resampling(20, 3, samples, seed=2)
    return (
        dual.subject_rows(subjects),
        list(models),
        resampling.image_counts,
        resampling.subject_counts,
        "spearman",
    )


def test_rois_in_several_chunks_equal_one_chunk(monkeypatch) -> None:
    args = spearman_args(n_rois=4, samples=12)
    whole = rank_bootstrap.rank_dual_bootstrap(*args)
    monkeypatch.setattr(rank_bootstrap, "CHUNK_BYTES", 1.0)  # one ROI per chunk
    assert len(rank_bootstrap._roi_chunks(4, 3, 2, 190, 2)) == 4
    for ours, expected in zip(rank_bootstrap.rank_dual_bootstrap(*args), whole, strict=True):
        np.testing.assert_array_equal(ours, expected)
    # the data as they are in 3 tasks of chunks (1 + 1 + 2 ROIs), not 1 or 2 (the threads)
    monkeypatch.setattr(rank_bootstrap, "_full_groups", lambda *_: [[0], [1], [2, 3]])
    for ours, expected in zip(rank_bootstrap.rank_dual_bootstrap(*args), whole, strict=True):
        np.testing.assert_array_equal(ours, expected)


def test_the_data_as_they_are_run_as_at_most_two_tasks_per_slot() -> None:
    groups = rank_bootstrap._full_groups(12, 2)
    assert [list(g) for g in groups] == [list(range(3 * g, 3 * g + 3)) for g in range(4)]
    assert [list(g) for g in rank_bootstrap._full_groups(2, 8)] == [[0], [1]]
    assert [list(g) for g in rank_bootstrap._full_groups(1, 1)] == [[0]]
    assert [list(g) for g in rank_bootstrap._full_groups(12, 2, by_memory=0)] == [list(range(12))]


def test_doubled_ranks_are_twice_the_weighted_ranks_of_the_resampled_vector() -> None:
    rng = np.random.default_rng(4)
    n = 15
    vector = np.round(rng.random(n * (n - 1) // 2), 1)
    counts = np.bincount(rng.integers(0, n, n), minlength=n)
    weights = (counts[:, None] * counts[None, :])[np.triu_indices(n, 1)]
    order, values = comparison_ranks.sort_orders(vector)
    expected = comparison_ranks.weighted_ranks(order[0], values[0], weights[None].astype(float))[0][
        weights > 0
    ]
    ranks = rank_bootstrap.sample_ranks([rank_bootstrap.sort_rdm(vector, n)], counts)
    np.testing.assert_array_equal(ranks.ranks[0], 2 * expected)
    np.testing.assert_array_equal(ranks.weights, weights[weights > 0])
    active = weights[weights > 0]
    assert ranks.sums[0] == (active * 2 * expected).sum()
    np.testing.assert_allclose(ranks.squares[0], (active * (2 * expected) ** 2).sum(), rtol=1e-15)


def test_sorted_pairs_pack_both_images_and_flag_ties_with_the_next() -> None:
    n = 300
    vector = np.round(np.random.default_rng(6).random(n * (n - 1) // 2), 3)
    pairs = rank_bootstrap.sort_rdm(vector, n).pairs
    first, second = (pairs >> 16) & 0x7FFF, pairs & 0xFFFF
    assert (first < second).all()
    values = vector[condensed_index(first, second, n)]
    np.testing.assert_array_equal(np.sort(vector), values)
    np.testing.assert_array_equal(pairs[:-1] < 0, np.diff(values) == 0)
    assert pairs[-1] >= 0
    with pytest.raises(AnalysisError, match="too many for the rank bootstrap"):
        rank_bootstrap.sort_rdm(np.zeros(3), rank_bootstrap.MAX_IMAGES + 1)


def test_pooled_ranks_rank_the_weighted_sum_with_its_ties() -> None:
    rng = np.random.default_rng(5)
    ranks = rng.integers(1, 40, (3, 200)).astype(np.int32)
    weights = rng.integers(1, 5, 200).astype(np.int32)
    pool = np.array([2, 0, 1])
    out = np.empty(200, np.int32)
    kernels.pooled_ranks(ranks, pool, weights, out)
    expected = comparison_ranks.weighted_ranks_of_rows(
        (pool @ ranks)[None].astype(float), weights[None].astype(float)
    )[0]
    np.testing.assert_array_equal(out, 2 * expected)
    assert kernels.rank_sum(weights) == (weights * out).sum()
    cross, square = kernels.pooled_sums(out, ranks, weights)
    np.testing.assert_allclose(cross, (weights * out) @ ranks.T.astype(float), rtol=1e-14)
    np.testing.assert_allclose(square, (weights * out.astype(float) ** 2).sum(), rtol=1e-14)


@st.composite
def pooled_rows(draw) -> tuple:
    """Rows of ranks with many ties, duplicate weights and a pool of two or more subjects: a
    few values in a few thousand pairs (past one CHUNK of the walk's block sums)."""
    n_subjects = draw(st.integers(2, 5))
    size = draw(st.sampled_from([1, 7, 300, kernels.CHUNK + 5, 3 * kernels.CHUNK + 1]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    top = draw(st.sampled_from([3, 50, 20_000_000]))  # up to the deposit's size of ranks
    ranks = rng.integers(1, top, (n_subjects, size)).astype(np.int32)
    weights = rng.integers(1, draw(st.sampled_from([2, 5, 64])), size).astype(np.int32)
    pool = np.zeros(n_subjects, np.int64)
    members = rng.choice(n_subjects, draw(st.integers(2, n_subjects)), replace=False)
    pool[members] = rng.integers(1, 4, members.size)
    return ranks, weights, pool, int(rng.integers(n_subjects))


@settings(max_examples=60, deadline=None)
@given(pooled_rows())
def test_payload_sums_equal_the_index_paths_sums(rows: tuple) -> None:
    """One sort of key | weight | one row's ranks, walked once, gives the sums that the index
    path (pooled_ranks, then pooled_sums) gives, and the index path's ranks are the weighted
    ranks of the pooled row."""
    ranks, weights, pool, carry = rows
    out = np.empty(ranks.shape[1], np.int32)
    kernels.pooled_ranks(ranks, pool, weights, out)
    expected_ranks = comparison_ranks.weighted_ranks_of_rows(
        (pool @ ranks)[None].astype(float), weights[None].astype(float)
    )[0]
    np.testing.assert_array_equal(out, 2 * expected_ranks)
    cross, square = kernels.pooled_sums(out, ranks, weights)
    bound = 2 * int(ranks.max()) + 1  # any bound of the ranks gives the same sums
    for rank_max in (None, bound):
        got = kernels.payload_sums(ranks, pool, weights, carry, rank_max=rank_max)
        assert got is not None
        np.testing.assert_allclose(got[0], cross[carry], rtol=1e-12, atol=0)
        np.testing.assert_allclose(got[1], pool @ cross, rtol=1e-12, atol=0)
        np.testing.assert_allclose(got[2], square, rtol=1e-12, atol=0)


def test_payload_sums_say_when_the_bits_do_not_fit_one_word() -> None:
    ranks = np.array([[1, 2**30], [3, 4]], np.int32)
    assert kernels.payload_sums(ranks, np.array([3, 1]), np.array([2**12, 1], np.int32), 0) is None


def test_pool_requests_collect_every_variants_pools_with_their_subjects() -> None:
    requests = rank_bootstrap.pool_requests(np.array([[2, 1, 0], [1, 1, 1], [0, 0, 3]]))
    assert requests == {
        (2, 1, 0): {0, 1},  # "both": its full pool, with both of its subjects
        (1, 1, 1): {0, 1, 2},
        (0, 1, 1): {0},  # each leave-one-out pool with the subject left out
        (1, 0, 1): {1},
        (1, 1, 0): {2},
    }
    assert rank_bootstrap._carried((2, 1, 0), {0, 1}) == (1, 0)  # the smaller count is carried
    assert rank_bootstrap._carried((0, 1, 1), {0}) == (0, None)
    assert rank_bootstrap._carried((1, 1, 1), {0, 1, 2}) is None


@pytest.mark.parametrize("key", [(3, 2, 0), (0, 1, 4), (1, 1, 0)])
def test_a_two_subject_pool_derives_its_second_cross_sum_from_the_keys(key: tuple) -> None:
    """A pool compared with its own two subjects carries one in its sort and derives the other
    from Σ w·p·K: both similarities are the index path's."""
    rng = np.random.default_rng(sum(key))
    values = rng.integers(1, 30, (3, 3000)).astype(float)
    values[1:] += values[0]  # correlated subjects
    weights = rng.integers(1, 5, 3000).astype(np.int32)
    doubled = 2 * comparison_ranks.weighted_ranks_of_rows(values, np.tile(weights, (3, 1)))
    sample = rank_bootstrap._sample_ranks(doubled.astype(np.int32), weights)
    gram = (doubled * weights) @ doubled.T  # Σ w·r·r' of the subjects' doubled ranks
    scratch = (np.empty(3000, np.int32), np.empty(3000, np.int64))
    support = {t for t in range(3) if key[t]}
    payload = rank_bootstrap._RoiPools(
        sample, slice(0, 3), gram, "spearman", *scratch, {key: support}
    )
    index = rank_bootstrap._RoiPools(sample, slice(0, 3), gram, "spearman", *scratch, {})
    index.requests = {key: {0, 1, 2}}  # needs every row: the index path
    pool = np.array(key)
    for t in sorted(support):
        similarity = payload.similarity(pool, t)
        assert 0.1 < similarity < 1
        assert abs(similarity - index.similarity(pool, t)) < 1e-13
    assert np.isnan(payload.cache[key][2]).sum() == 1  # one sort gave both


@pytest.mark.parametrize("method", ["spearman", "rho-a"])
def test_ceilings_of_payload_sorts_equal_the_index_paths(method: str, monkeypatch) -> None:
    """Every pool through the index path (as when the payload's bits do not fit) gives the
    ceilings of the payload path to rounding, and the payload path takes most pools."""
    args = (*spearman_args(n_rois=2, samples=12)[:4], method)
    sorts = {"payload": 0, "index": 0}
    payload_sums, pooled_ranks = kernels.payload_sums, kernels.pooled_ranks

    def counted(name, function):
        def run(*a, **k):
            sorts[name] += 1
            return function(*a, **k)

        return run

    monkeypatch.setattr(rank_bootstrap.kernels, "payload_sums", counted("payload", payload_sums))
    monkeypatch.setattr(rank_bootstrap.kernels, "pooled_ranks", counted("index", pooled_ranks))
    ours = rank_bootstrap.rank_dual_bootstrap(*args)
    assert sorts["payload"] > 2 * sorts["index"] > 0
    monkeypatch.setattr(rank_bootstrap.kernels, "payload_sums", lambda *_a, **_k: None)
    index = rank_bootstrap.rank_dual_bootstrap(*args)
    assert np.isfinite(ours[2]).all()
    for got, expected in zip(ours, index, strict=True):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["spearman", "rho-a"])
def test_samples_with_fewer_than_three_images_are_dropped_quietly(method: str) -> None:
    subjects, models = random_study(8, 2, 3, 2, seed=7)
    images = np.array([[0] * 8, [0, 0, 1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 2, 2, 2, 2], list(range(8))])
    with warnings.catch_warnings():  # any floating-point warning (in any thread) fails the test
        warnings.simplefilter("error")
        result = inference.dual_bootstrap(
            subjects, models, inference.Resampling(images, np.tile([0, 1, 2], (4, 1))), method
        )
    assert list(result.valid) == [False, False, True, True]
    assert result.dropped_few_images == 2 and result.dropped_undefined == 0


def test_without_ceilings_the_similarities_are_the_same_and_no_ceiling_is_computed(
    monkeypatch,
) -> None:
    """The cross-validated comparison needs the similarities only: ceilings=False skips every
    pooled re-rank and gives the same similarities, bit for bit."""
    args = spearman_args(n_rois=2, samples=6)
    sims, full_sim, ceiling, point_ceiling = rank_bootstrap.rank_dual_bootstrap(*args)
    assert np.isfinite(ceiling).any()

    def no_pool(*_args, **_kwargs):
        raise AssertionError("a pooled RDM was ranked")

    monkeypatch.setattr(rank_bootstrap.kernels, "pooled_ranks", no_pool)
    monkeypatch.setattr(rank_bootstrap.kernels, "payload_sums", no_pool)
    got = rank_bootstrap.rank_dual_bootstrap(*args, ceilings=False)
    np.testing.assert_array_equal(got[0], sims)
    np.testing.assert_array_equal(got[1], full_sim)
    assert np.isnan(got[2]).all() and np.isnan(got[3]).all()
    assert got[2].shape == ceiling.shape and got[3].shape == point_ceiling.shape


def _free_folds(image_counts: np.ndarray, seed: int) -> np.ndarray:
    """Folds drawn independently for every sample, variant and repetition, as rsatoolbox draws
    them ("pattern" does not share the folds of "both", "rdm" has other folds in every sample)."""
    samples, n = image_counts.shape
    rng = np.random.default_rng(seed)
    drawn = np.broadcast_to((image_counts > 0)[:, None, None], (samples, 3, 2, n))
    labels = cv.fold_labels(drawn, rng.random((samples, 3, 2, n)), 2)
    labels[:, 1] = cv.fold_labels(np.ones((samples, 2, n), bool), rng.random((samples, 2, n)), 2)
    return labels


@pytest.mark.parametrize("tied", [False, True])
def test_fold_ranks_from_one_walk_are_the_separate_walks_ranks(tied: bool) -> None:
    """Every fold's ranks written in the sample's walk are the integers of a walk of its own
    (sample_ranks with the fold's counts), for folds of the sample's counts and of ones."""
    n = 40
    rng = np.random.default_rng(11)
    vectors = rng.random((3, n * (n - 1) // 2))
    vectors = np.round(vectors, 1) if tied else vectors
    rdms = [rank_bootstrap.sort_rdm(v, n) for v in vectors]
    counts = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.int32)
    labels = _free_folds(counts[None], seed=3)[0]
    split_labels = labels.reshape(6, n).astype(np.int8)
    ones = np.array([False, False, True, True, False, False])
    folds = rank_bootstrap.sample_folds(counts, split_labels, ones)
    sample, fold_ranks = rank_bootstrap.sample_and_fold_ranks(rdms, counts, folds)
    alone = rank_bootstrap.sample_ranks(rdms, counts)
    np.testing.assert_array_equal(sample.ranks, alone.ranks)
    assert len(fold_ranks) == 12
    for q, got in enumerate(fold_ranks):
        s, f = divmod(q, 2)
        base = np.ones(n, np.int32) if ones[s] else counts
        expected = rank_bootstrap.sample_ranks(rdms, base * (split_labels[s] == f))
        assert got.ranks.shape[1] > 0
        np.testing.assert_array_equal(got.ranks, expected.ranks)
        np.testing.assert_array_equal(got.weights, expected.weights)
        np.testing.assert_array_equal(got.squares, expected.squares)
        np.testing.assert_array_equal(got.sums, expected.sums)


def _numpy_doubled_ranks(vector: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
    """2 × the weighted mid-ranks of the pairs with weight > 0, by the numpy path."""
    weights = (counts[:, None] * counts[None, :])[np.triu_indices(n, 1)].astype(float)
    order, values = comparison_ranks.sort_orders(vector)
    return 2 * comparison_ranks.weighted_ranks(order[0], values[0], weights[None])[0][weights > 0]


@st.composite
def _fold_cases(draw) -> tuple:
    """A small study with its ties, a sample's image counts and two-fold splits: images not
    drawn, empty folds, folds of one image, every pair tied, splits of ones."""
    n = draw(st.integers(2, 9))
    n_pairs = n * (n - 1) // 2
    levels = draw(st.integers(1, n_pairs))  # 1: every pair tied
    values = st.lists(st.integers(0, levels - 1), min_size=n_pairs, max_size=n_pairs)
    vectors = np.array([draw(values) for _ in range(2)], dtype=float)
    counts = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int32)
    if draw(st.booleans()):  # every image drawn: the folds of ones walk the sample's order too
        counts = np.maximum(counts, 1)
    n_splits = draw(st.integers(1, 3))
    labels = st.lists(st.integers(-1, 1), min_size=n, max_size=n)
    split_labels = np.array([draw(labels) for _ in range(n_splits)], np.int8)
    ones = np.array(draw(st.lists(st.booleans(), min_size=n_splits, max_size=n_splits)))
    return vectors, counts, split_labels, ones


@settings(max_examples=300, deadline=None)
@given(_fold_cases())
def test_fold_ranks_of_one_walk_equal_the_numpy_ranks_for_any_ties_and_folds(case) -> None:
    """The two-phase sample walk and each split's walk of both folds give, for any ties and
    fold labels (empty folds, one image in a fold, every pair tied, images not drawn), the
    numpy path's doubled weighted ranks of the sample and of every fold."""
    vectors, counts, split_labels, ones = case
    n = counts.shape[0]
    rdms = [rank_bootstrap.sort_rdm(v, n) for v in vectors]
    folds = rank_bootstrap.sample_folds(counts, split_labels, ones)
    sample, fold_ranks = rank_bootstrap.sample_and_fold_ranks(rdms, counts, folds)
    for t, vector in enumerate(vectors):
        np.testing.assert_array_equal(sample.ranks[t], _numpy_doubled_ranks(vector, counts, n))
    for q, got in enumerate(fold_ranks):
        s, f = divmod(q, 2)
        base = np.ones(n, np.int32) if ones[s] else counts
        fold_counts = base * (split_labels[s] == f)
        np.testing.assert_array_equal(got.weights, folds[q].weights)
        for t, vector in enumerate(vectors):
            expected = _numpy_doubled_ranks(vector, fold_counts, n)
            np.testing.assert_array_equal(got.ranks[t], expected)


def _separate_means(monkeypatch, *args, **kwargs) -> np.ndarray:
    """The fold means of crossvalidated.cross_validated's pass of its own."""
    seen = []
    original = cv.select_networks

    def recording(mean, *rest, **more):
        seen.append(mean)
        return original(mean, *rest, **more)

    with monkeypatch.context() as patch:
        patch.setattr(cv, "select_networks", recording)
        cv.cross_validated(*args, **kwargs)
    return seen[0]


@pytest.mark.parametrize("method", ["spearman", "rho-a"])
@pytest.mark.parametrize("folds", ["drawn", "free"])
def test_the_comparison_from_the_bootstraps_walks_is_the_separate_pass_bit_for_bit(
    method: str, folds: str, monkeypatch
) -> None:
    """extra["fold_means"] of the bootstrap equals the separate pass's means, byte for byte, with
    the pipeline's folds ("pattern" shares "both"'s, "rdm" one split for every sample) and with
    folds drawn for every sample and variant; the fused path walks no fold of a sample on its
    own."""
    subjects, models = random_study(26, 2, 3, 5, seed=12, tied=True)
    resampling = draw_resampling(26, 3, 9, seed=6)
    labels = (
        cv.draw_folds(resampling) if folds == "drawn" else _free_folds(resampling.image_counts, 4)
    )
    spans = [slice(0, 2), slice(2, 5)]
    rows = dual.subject_rows(subjects)
    expected = _separate_means(monkeypatch, rows, list(models), spans, resampling, method, labels)
    calls = []
    original = rank_bootstrap.sample_ranks
    monkeypatch.setattr(
        rank_bootstrap,
        "sample_ranks",
        lambda rdms, c, **kw: calls.append(c) or original(rdms, c, **kw),
    )
    result = inference.dual_bootstrap(subjects, models, resampling, method, folds=labels)
    # only the data as they are and the folds of "rdm"'s split shared by every sample (every
    # image once) walk on their own: no resampled counts
    assert calls and all((c <= 1).all() for c in calls)
    shared_folds = {c.tobytes() for c in calls if not c.all()}
    assert len(shared_folds) == (4 if folds == "drawn" else 0)
    np.testing.assert_array_equal(result.extra["fold_means"], expected)
    assert np.isfinite(expected[resampling.image_counts.astype(bool).sum(1) >= 6]).all()
    monkeypatch.undo()
    plain = inference.dual_bootstrap(subjects, models, resampling, method)
    np.testing.assert_array_equal(result.evaluations, plain.evaluations)
    np.testing.assert_array_equal(result.noise_ceiling, plain.noise_ceiling)


def test_three_folds_take_the_separate_pass() -> None:
    subjects, models = random_study(18, 1, 3, 3, seed=13)
    resampling = draw_resampling(18, 3, 4, seed=6)
    labels = cv.draw_folds(resampling, k=3)
    assert cv.rank_fold_plan(labels, 3) is None
    result = inference.dual_bootstrap(
        subjects, models, resampling, "spearman", folds=labels, k_pattern=3
    )
    assert "fold_means" not in result.extra


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 12), st.integers(1, 6), st.integers(0, 3), st.data())
def test_active_room_is_the_most_active_pairs_of_any_sample_and_fold(n, samples, n_splits, data):
    """active_room gives the largest active pair count of the run's samples and of each fold
    position (as sample_folds makes the folds), so a thread's reused memory never grows: every
    sample of the run then writes its ranks into the memory of the first."""
    counts = np.array(
        data.draw(
            st.lists(
                st.lists(st.integers(0, 3), min_size=n, max_size=n),
                min_size=samples,
                max_size=samples,
            )
        ),
        np.int32,
    )
    labels = np.array(
        data.draw(
            st.lists(
                st.lists(
                    st.lists(st.integers(-1, 1), min_size=n, max_size=n),
                    min_size=n_splits,
                    max_size=n_splits,
                ),
                min_size=samples,
                max_size=samples,
            )
        ),
        np.int8,
    ).reshape(samples, n_splits, n)
    ones = np.array(data.draw(st.lists(st.booleans(), min_size=n_splits, max_size=n_splits)), bool)
    room, fold_rooms = rank_bootstrap.active_room(counts, labels, ones)
    folds = [rank_bootstrap.sample_folds(c, labels[b], ones) for b, c in enumerate(counts)]
    actives = [kernels.active_weights(c, int((c > 0).sum())).shape[0] for c in counts]
    assert room == max(actives)
    assert fold_rooms == tuple(
        max(sample[q].weights.shape[0] for sample in folds) for q in range(2 * n_splits)
    )
    assert rank_bootstrap.active_room(counts) == (room, ())


def test_reused_memory_is_made_once_for_the_largest_sample() -> None:
    """With the run's room, the samples' ranks reuse one block of memory (no growth), and the
    ranks are those of fresh arrays."""
    n = 30
    rng = np.random.default_rng(5)
    rdms = [rank_bootstrap.sort_rdm(v, n) for v in rng.random((2, n * (n - 1) // 2))]
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(4)])
    counts = counts.astype(np.int32)
    room, _ = rank_bootstrap.active_room(counts)
    rank_bootstrap.release_sorted()
    bases = set()
    for c in counts:
        reused = rank_bootstrap.sample_ranks(rdms, c, scratch="test", room=room)
        bases.add(reused.ranks.__array_interface__["data"][0])
        np.testing.assert_array_equal(reused.ranks, rank_bootstrap.sample_ranks(rdms, c).ranks)
    rank_bootstrap.release_sorted()
    assert len(bases) == 1
