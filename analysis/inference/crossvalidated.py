"""Network comparison without selection bias: each network as rsatoolbox's `ModelSelect` (its
layers the candidates, `fit_select` the fitter) evaluated by `eval_dual_bootstrap` with
cross-validation over images (k_pattern folds, k_rdm = 1, n_cv repetitions and rsatoolbox's
correction of the variance for the cross-validation).

What rsatoolbox 0.3.2 does in each bootstrap sample and each of its three variants ("both":
subjects and images resampled, "rdm": subjects only, "pattern": images only), n_cv times:

* `sets_k_fold` shuffles the distinct images present (`np.random.shuffle`) and splits them into
  k groups of ⌊m/k⌋, the i-th group taking one of the last m mod k images as well
  (position m − 1 − i). Each group is once the test set; the other images are the training set.
* `fit_select` picks the layer with the largest mean (over the sample's subject rows, copies
  included) similarity on the training images (the first on ties); the test evaluation is that
  layer's mean similarity on the test images. Copies of an image stay together in a fold and
  pairs between copies are dropped, so a fold's comparison is the weighted comparison with
  weights c_i c_j over the pairs of the fold's images: another row of image counts for the
  moments of moments.py (c masked to the fold), at no extra cost per layer.
* A sample is used when it drew at least 3·k distinct images (and k_rdm = 1 distinct subject).

Statistics (rsatoolbox's `eval_dual_bootstrap` and `Result`): per network the evaluations are
averaged over folds; with n_cv > 1 the covariance over samples is corrected for the
cross-validation, V = (n_cv·V_mean − V_1) / (n_cv − 1), V_mean the covariance of the means over
the n_cv repetitions and V_1 the mean covariance of single repetitions; differences between
networks then take the dual-bootstrap combination of the three variants (statistics.py). The
tested value is the bootstrap mean of the cross-validated difference, and the interval is built
around it.

Where it is computed: for corr and cosine, in the bootstrap's own pass over the RDMs
(`dual_bootstrap(folds=…)`): a fold c_F of the images is one more row of counts, i.e. one more
column of the matrix products the samples' moments already form, and the rest of the fold, c − c_F,
is a difference of two such columns (`fold_terms`, strips.Terms). With k = 2 that is one column per
sample and repetition (2 with rsatoolbox's n_cv = 2) against the sample's own 1, and no second read
of the RDMs. For spearman and rho-a with k = 2, in the rank bootstrap's own walks
(`rank_fold_plan`): a fold's pairs are among its sample's active pairs, so each fold's weighted
ranks walk the sample's active pairs in sort order, which the sample's walk writes, instead of
the whole order, the same integers as a walk of their own; "rdm"'s split shared by every sample
runs once, as tasks of its own. Other methods, k > 2, and folds `fold_terms` cannot express, take
`cross_validated`'s pass of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..schema import LINEAR_METHODS, WHITENED_METHODS
from . import moments as bs
from . import statistics as st
from . import strips
from . import whitened_moments as wm
from .resampling import Resampling

if TYPE_CHECKING:  # rank_bootstrap imports numba: imported where it is used
    from .rank_bootstrap import FoldSplits

K_PATTERN = 2
N_CV = 2
#: Bytes of per-fold similarities held at once; samples are processed in chunks below it.
CHUNK_BYTES = 400e6


@dataclass(frozen=True)
class CrossValidated:
    """Cross-validated evaluations of every network (ModelSelect over its layers).

    evaluations: B × R × networks × k × n_cv × 3 (folds, repetitions, variants both/rdm/pattern),
    NaN in samples that are not used; chosen: the layer chosen on the training images, same
    shape (column index into the network's span); valid: B.
    """

    evaluations: np.ndarray
    chosen: np.ndarray
    valid: np.ndarray


def fold_labels(present: np.ndarray, keys: np.ndarray, k: int) -> np.ndarray:
    """Fold of every image (−1 where absent) as rsatoolbox's sets_k_fold_pattern assigns them.

    present: (..., n) bool, the distinct images of the (sub)sample; keys: (..., n) the random
    order of the shuffle (smaller first). Positions p < k·⌊m/k⌋ go to fold p // ⌊m/k⌋, the rest
    (p ≥ k·⌊m/k⌋) to fold m − 1 − p.
    """
    keys = np.where(present, keys, np.inf)
    position = np.argsort(np.argsort(keys, axis=-1, kind="stable"), axis=-1, kind="stable")
    m = present.sum(axis=-1, keepdims=True)
    group = np.maximum(m // k, 1)
    labels = np.where(position < k * group, position // group, m - 1 - position)
    return np.where(present, labels, -1)


def draw_folds(resampling: Resampling, k: int = K_PATTERN, n_cv: int = N_CV) -> np.ndarray:
    """Seeded random folds for every sample, variant and repetition: B × 3 × n_cv × n labels.

    "both" and "pattern" split the distinct images the sample drew, "rdm" every image. Each split
    is uniform as in rsatoolbox's _internal_cv. Unlike rsatoolbox, whose draws are independent:
    "both" and "pattern" (which resample the same images) share their split in each sample, and
    "rdm" (which resamples subjects only, on every image) uses one split per repetition for every
    sample. So the per-fold similarities of "pattern" are those of "both", and those of "rdm" are
    computed once (`cross_validated`): 2·k·n_cv rows of counts a sample instead of 6·k·n_cv.
    Each variant's estimate and variance target stay the same: the dual-bootstrap variances use
    each variant on its own, and the n_cv correction removes the variance between splits as long
    as the repetitions' splits are independent, which they are. Any folds, e.g. the ones
    rsatoolbox drew, can be given to `cross_validated` instead.
    """
    counts = resampling.image_counts
    samples, n = counts.shape
    rng = np.random.default_rng([0 if resampling.seed is None else resampling.seed, 19])
    drawn = np.broadcast_to((counts > 0)[:, None, :], (samples, n_cv, n))
    sampled = fold_labels(drawn, rng.random((samples, n_cv, n)), k)
    every = np.ones((1, n_cv, n), dtype=bool)
    fixed = np.broadcast_to(fold_labels(every, rng.random((1, n_cv, n)), k), sampled.shape)
    return np.stack([sampled, fixed, sampled], axis=1)


def fold_counts(image_counts: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Image counts of the folds, B × 3 × n_cv × F × n: F = k test folds, then (k > 2) the k
    training sets (the other folds). With k = 2 the training set of a fold is the other fold, so
    its counts are not repeated (`train_index`)."""
    base = np.stack([image_counts, np.ones_like(image_counts), image_counts], axis=1)
    member = labels[:, :, :, None, :] == np.arange(k)[:, None]  # B × 3 × n_cv × k × n
    base = base[:, :, None, None, :]
    if k == 2:
        return base * member
    inside = (labels >= 0)[:, :, :, None, :]
    return np.concatenate([base * member, base * (inside & ~member)], axis=3)


def train_index(k: int) -> np.ndarray:
    """Position in fold_counts' fold axis of each fold's training set."""
    return np.array([1, 0]) if k == 2 else np.arange(k, 2 * k)


def subject_similarity(rows, model_rows, counts: np.ndarray, method: str, dtype) -> np.ndarray:
    """Per-subject similarity of every layer under each row of image counts: (B, R, S, L).

    A fold of a sample with too few distinct images has no pairs, so its similarity is NaN, and
    the sample is not used (`cross_validated`); the NaN is expected, not warned about.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return _subject_similarity(rows, model_rows, counts, method, dtype)


def _subject_similarity(rows, model_rows, counts: np.ndarray, method: str, dtype) -> np.ndarray:
    if method in LINEAR_METHODS:
        moments = bs.linear_moments(rows, model_rows, counts, method, dtype, gram=False)
        return bs.similarity(moments, method)
    if method in WHITENED_METHODS:
        standard = bs.standardisation(bs.stacked_rows(rows, model_rows), "corr")
        moments = bs.linear_moments(rows, model_rows, counts, "corr", dtype, standard=standard)
        products = wm.whitened_products(
            rows, model_rows, counts, moments, *standard, method, dtype=dtype
        )
        return wm.whitened_similarity(products)
    if method == "tau-a":
        from . import rank_moments as rm

        subjects = np.array([[np.asarray(v, dtype=np.float64) for v in roi] for roi in rows])
        ranked = rm.rank_once(subjects, np.array([np.asarray(m) for m in model_rows]))
        return rm.tau_a_similarity(ranked, bs.pair_weights(counts))
    from .rank_bootstrap import rank_dual_bootstrap

    everyone = np.ones((counts.shape[0], len(rows[0])))
    return rank_dual_bootstrap(
        rows, model_rows, counts.astype(np.int64), everyone, method, ceilings=False
    )[0]


def cross_validated(
    rows,
    model_rows,
    spans: list[slice],
    resampling: Resampling,
    method: str,
    labels: np.ndarray | None = None,
    k: int = K_PATTERN,
    dtype: type = np.float64,
) -> CrossValidated:
    """Cross-validated ModelSelect evaluations of every network in every sample (module doc),
    in a pass of its own over the RDMs (`dual_bootstrap` with `folds` does it in its own pass).

    rows[r][s]: subject RDM vectors; model_rows: every layer of every network, networks as
    consecutive `spans`; labels: B × 3 × n_cv × n fold labels (default `draw_folds`, or the
    folds rsatoolbox drew).
    """
    labels = draw_folds(resampling, k) if labels is None else np.asarray(labels)
    image_counts = resampling.image_counts
    samples, n_images = image_counts.shape
    n_cv = labels.shape[2]
    n_rois, n_subjects, n_layers = len(rows), len(rows[0]), len(model_rows)
    folds = k if k == 2 else 2 * k
    shared, fixed, computed = _reused_variants(labels)
    shape = (n_cv, folds, n_rois, n_subjects, n_layers)
    fixed_sim = None
    if fixed:
        once = fold_counts(image_counts[:1], labels[:1], k)[0, 1]
        fixed_sim = subject_similarity(
            rows, model_rows, once.reshape(-1, n_images), method, dtype
        ).reshape(shape)

    def computed_sim(part: slice) -> np.ndarray:
        counts = fold_counts(image_counts[part], labels[part], k)[:, computed]
        return subject_similarity(
            rows, model_rows, counts.reshape(-1, n_images), method, dtype
        ).reshape(counts.shape[0], len(computed), *shape)

    mean = _subject_means(
        computed_sim, fixed_sim, resampling.subject_counts, computed, shared, shape
    )
    return select_networks(mean, spans, image_counts, k)


def _reused_variants(labels: np.ndarray) -> tuple[bool, bool, list[int]]:
    """Whether "pattern" shares the folds of "both" (then its per-subject similarities are those
    of "both"; only the subject weights differ) and whether "rdm" (counts of 1) has the same
    folds in every sample (then its similarities are the same in every sample); and the
    variants whose similarities are computed per sample."""
    shared = np.array_equal(labels[:, 0], labels[:, 2])
    fixed = bool((labels[:, 1] == labels[:1, 1]).all())
    computed = [v for v, reused in ((0, False), (1, fixed), (2, shared)) if not reused]
    return shared, fixed, computed


def _subject_means(
    computed_sim, fixed_sim, subject_counts: np.ndarray, computed: list[int], shared: bool, shape
) -> np.ndarray:
    """Every layer's fold similarity averaged over each sample's subject rows, B × 3 × n_cv × F ×
    R × L, in chunks of samples below CHUNK_BYTES; computed_sim(part): the per-subject
    similarities of the `computed` variants (size × len(computed) × n_cv × F × R × S × L);
    fixed_sim: those of "rdm" when they are the same in every sample (else None)."""
    samples, n_subjects = subject_counts.shape
    n_cv, folds, n_rois, _, n_layers = shape
    per_sample = 3 * n_cv * folds * n_rois * n_subjects * n_layers * 8
    chunk = int(max(1, min(samples, CHUNK_BYTES // per_sample)))
    mean = np.empty((samples, 3, n_cv, folds, n_rois, n_layers))
    weights = variant_weights(subject_counts.astype(np.float64))
    for start in range(0, samples, chunk):
        part = slice(start, min(samples, start + chunk))
        part_sim = computed_sim(part)
        size = part_sim.shape[0]
        variant = {v: part_sim[:, i] for i, v in enumerate(computed)}
        if fixed_sim is not None:
            variant[1] = np.broadcast_to(fixed_sim, (size, *shape))
        if shared:
            variant[2] = variant[0]
        sim = np.stack([variant[0], variant[1], variant[2]], axis=1)
        # mean over the sample's subject rows (copies included): Σ_s k_s r_s / S
        mean[part] = np.einsum("bvs,bvcfrsl->bvcfrl", weights[part], sim) / n_subjects
    return mean


@dataclass(frozen=True)
class RankFoldPlan:
    """The splits whose fold ranks the rank bootstrap writes in its own walks (spearman, rho-a),
    and how its fold similarities map back to variants (`rank_fold_means`)."""

    splits: FoldSplits
    computed: list[int]
    shared: bool
    fixed: bool
    n_cv: int


def rank_fold_plan(labels: np.ndarray, k: int = K_PATTERN) -> RankFoldPlan | None:
    """The two-fold splits of `labels` (B × 3 × n_cv × n) as rank_bootstrap.FoldSplits: per
    sample, one split per repetition of each variant computed per sample (base: the image
    counts, or ones for "rdm"), and "rdm"'s splits shared by every sample (`draw_folds`), once a
    run in tasks of their own. None for k ≠ 2 (a training set is then not a fold of a split): use
    `cross_validated`."""
    if k != 2:
        return None
    from .rank_bootstrap import FoldSplits

    labels = np.asarray(labels)
    shared, fixed, computed = _reused_variants(labels)
    samples, _, n_cv, n = labels.shape
    per_sample = labels[:, computed].reshape(samples, len(computed) * n_cv, n).astype(np.int8)
    ones = np.repeat(np.array([v == 1 for v in computed]), n_cv)
    full = labels[0, 1] if fixed else np.zeros((0, n))
    splits = FoldSplits(per_sample, ones, np.ascontiguousarray(full, dtype=np.int8))
    return RankFoldPlan(splits, computed, shared, fixed, n_cv)


def rank_fold_means(
    plan: RankFoldPlan, fold_sim: np.ndarray, full_fold_sim: np.ndarray, subject_counts
) -> np.ndarray:
    """B × 3 × n_cv × 2 × R × L (as `select_networks` takes it) from the rank bootstrap's
    per-subject fold similarities (B × Q × R × S × L and Q' × R × S × L, fold q = 2·split +
    fold), with the same sums as `cross_validated`."""
    samples, _, n_rois, n_subjects, n_layers = fold_sim.shape
    shape = (plan.n_cv, 2, n_rois, n_subjects, n_layers)
    per_sample = fold_sim.reshape(samples, len(plan.computed), *shape)
    fixed_sim = full_fold_sim.reshape(shape) if plan.fixed else None
    return _subject_means(
        lambda part: per_sample[part],
        fixed_sim,
        subject_counts,
        plan.computed,
        plan.shared,
        shape,
    )


def variant_weights(subject_counts: np.ndarray) -> np.ndarray:
    """Each variant's subject rows (B × 3 × S): the drawn counts for "both" and "rdm", one of
    each subject for "pattern"."""
    return np.stack([subject_counts, subject_counts, np.ones_like(subject_counts)], axis=1)


def select_networks(
    mean: np.ndarray, spans: list[slice], image_counts: np.ndarray, k: int = K_PATTERN
) -> CrossValidated:
    """fit_select on each training set and the chosen layer's evaluation on its test fold.

    mean: B × 3 × n_cv × F × R × L, the mean over each sample's subject rows of every layer's
    similarity on each fold's images (F as `fold_counts`); image_counts: B × n (a sample is used
    when it drew 3·k distinct images and every evaluation is defined).
    """
    samples, _, n_cv, _, n_rois, _ = mean.shape
    evaluations = np.full((samples, n_rois, len(spans), k, n_cv, 3), np.nan)
    chosen = np.zeros(evaluations.shape, dtype=np.int64)
    for n, span in enumerate(spans):
        train = mean[:, :, :, train_index(k)][..., span]  # b v c f r l
        best = np.argmax(train, axis=-1)
        test = np.take_along_axis(mean[:, :, :, :k][..., span], best[..., None], -1)[..., 0]
        evaluations[:, :, n] = test.transpose(0, 4, 3, 2, 1)  # b r f c v
        chosen[:, :, n] = best.transpose(0, 4, 3, 2, 1)
    few = (image_counts > 0).sum(axis=1) < 3 * k
    finite = np.isfinite(evaluations).all(axis=(1, 2, 3, 4, 5))
    valid = ~few & finite
    evaluations[~valid] = np.nan
    return CrossValidated(evaluations, chosen, valid)


@dataclass(frozen=True)
class FoldTerms:
    """The rows of counts and terms whose sums give every fold's moments in the pass of the
    samples' moments (moments.sample_full_and_term_moments), and where each fold's sums are.

    recipes[(v, r)]: (position on `fold_counts`' fold axis, term) for variant v and repetition
    r; offsets: the first row of each term's sums; shared: "pattern" uses the folds of "both"
    (its similarities are those of "both", with other subject weights), as `draw_folds` makes
    them.
    """

    terms: strips.Terms
    recipes: dict[tuple[int, int], list[tuple[int, int]]]
    offsets: tuple[int, ...]
    k: int
    n_cv: int
    shared: bool


def fold_terms(
    image_counts: np.ndarray, labels: np.ndarray, k: int = K_PATTERN
) -> FoldTerms | None:
    """The terms that give the moments of every fold of `labels` (B × 3 × n_cv × n) from the
    samples' pass. For a fold c_F of a base c (the image counts, or ones for "rdm"), c_F is one
    more row of counts (one more column of the matrix product) and the rest is the difference
    c − c_F (no more columns); with k = 2 the rest of fold 0 is fold 1, so each repetition costs
    one column a sample. "rdm" with one split for every sample (`draw_folds`) costs a few
    columns in all. None when, in a sample that can be used (3·k distinct images), a base is not
    zero exactly where the labels are −1 (then the rest is not c − c_F); use `cross_validated`.
    """
    samples, n = image_counts.shape
    used = (image_counts > 0).sum(axis=1) >= 3 * k  # the others are left out (select_networks)
    n_cv = labels.shape[2]
    shared = np.array_equal(labels[:, 0], labels[:, 2])
    fixed = bool((labels[:, 1] == labels[:1, 1]).all())
    direct = [0] if k == 2 else list(range(k))
    vectors, first, minus, length = [], [], [], []
    next_row = [samples]

    def add_rows(block: np.ndarray) -> int:
        vectors.append(block)
        next_row[0] += block.shape[0]
        return next_row[0] - block.shape[0]

    def add_term(row: int, less: int, size: int) -> int:
        first.append(row)
        minus.append(less)
        length.append(size)
        return len(first) - 1

    recipes = {}
    for v in [0, 1] if shared else [0, 1, 2]:
        size = 1 if v == 1 and fixed else samples
        base = np.ones((size, n)) if v == 1 else image_counts
        base_row = add_rows(base) if v == 1 else 0
        for r in range(n_cv):
            label = labels[:size, v, r]
            if not np.array_equal((label >= 0)[used[:size]], (base > 0)[used[:size]]):
                return None
            recipes[(v, r)] = []
            for j, fold in enumerate(direct):
                row = add_rows(base * (label == fold))
                recipes[(v, r)] += [
                    (j, add_term(row, -1, size)),
                    (1 if k == 2 else k + j, add_term(base_row, row, size)),
                ]
    terms = strips.Terms(np.concatenate(vectors), tuple(first), tuple(minus), tuple(length))
    offsets = tuple(int(o) for o in np.concatenate([[0], np.cumsum(length)[:-1]]))
    return FoldTerms(terms, recipes, offsets, k, n_cv, shared)


def fold_means(
    plan: FoldTerms, term_moments: bs.Moments, subject_counts: np.ndarray, method: str
) -> np.ndarray:
    """Every layer's similarity on every fold, averaged over each sample's subject rows
    (B × 3 × n_cv × F × R × L, as `select_networks` takes it), from the moments of the terms of
    `plan` (corr or cosine)."""
    samples, n_subjects = subject_counts.shape
    n_rois, n_layers = term_moments.cross.shape[1], term_moments.cross.shape[3]
    folds = plan.k if plan.k == 2 else 2 * plan.k
    weights = variant_weights(subject_counts.astype(np.float64))
    mean = np.empty((samples, 3, plan.n_cv, folds, n_rois, n_layers))
    for (v, r), positions in plan.recipes.items():
        for position, t in positions:
            rows = slice(plan.offsets[t], plan.offsets[t] + plan.terms.length[t])
            moments = bs.Moments(*(getattr(term_moments, f)[rows] for f in MOMENT_FIELDS))
            with np.errstate(divide="ignore", invalid="ignore"):  # a fold without pairs
                sim = bs.similarity(moments, method)  # size × R × S × L
            sim = np.broadcast_to(sim, (samples, *sim.shape[1:]))
            for variant in (v, 2) if (v == 0 and plan.shared) else (v,):
                mean[:, variant, r, position] = (
                    np.einsum("bs,brsl->brl", weights[:, variant], sim) / n_subjects
                )
    return mean


MOMENT_FIELDS = ("total", "model_sum", "model_square", "subject_sum", "subject_gram", "cross")


def network_statistics(
    evaluations: np.ndarray, n_rdm: int | None, n_pattern: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Means, variances and pairwise differences of cross-validated network evaluations.

    evaluations: N × M × k × n_cv × 3 (valid samples of one ROI). Returns the bootstrap means
    (M), their corrected dual-bootstrap variances (M), the differences of means for the network
    pairs a < b (P) and their variances (P), as rsatoolbox's Result (get_means, model_var,
    diff_var) for eval_dual_bootstrap with n_cv repetitions. With n_rdm None (one subject) only
    the "pattern" variant is used, with the images-only variance (statistics.bootstrap_variance).
    """
    evaluations = st.kind_variants(evaluations, n_rdm)
    samples = evaluations.shape[0]
    n_cv = evaluations.shape[3]
    single = evaluations.mean(axis=2)  # N × M × n_cv × 3
    averaged = single.mean(axis=2)  # N × M × 3
    centred = averaged - averaged.mean(axis=0)
    var_mean = np.einsum("ijk,ilk->kjl", centred, centred) / (samples - 1)
    if n_cv > 1:
        centred_1 = single - single.mean(axis=0)
        var_1 = np.einsum("ijmk,ilmk->kjl", centred_1, centred_1) / (samples - 1) / n_cv
        variances = (n_cv * var_mean - var_1) / (n_cv - 1)
    else:
        variances = var_mean
    means = averaged.mean(axis=(0, 2))
    diagonal = np.einsum("kjj->kj", variances)
    left, right = st.network_pairs(evaluations.shape[1])
    diff_var = diagonal[:, left] + diagonal[:, right] - 2 * variances[:, left, right]
    return (
        means,
        st.bootstrap_variance(diagonal, n_rdm, n_pattern),
        means[left] - means[right],
        st.bootstrap_variance(diff_var, n_rdm, n_pattern),
    )
