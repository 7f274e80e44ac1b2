"""The least CPU time one spearman bootstrap sample of the deposit's size can take in this
design: the kernels every sample must run, each timed alone on one thread, nothing else counted.

A sample of CSI1-3 × three atlases × four networks (59 ROIs × 3 subjects and 39 layers: 216 RDMs
at 4916 images) needs, with noise ceilings and the cross-validated network comparison:
- per RDM, one weighted rank walk of its sort order with the scattered writes of its ranks, and
  its splits' fold walks (`sample_and_fold_ranks`, as the run calls it, folds from the run's own
  `draw_folds` and `rank_fold_plan`);
- per ROI, one numpy sort of the active pairs' 64-bit words for each pool of two or more subjects
  (`pool_requests` of the sample's subject draws, averaged over the draws of a 1000-sample run),
  without the packing of the words or the walk of the sorted ones;
- the cross sums of every subject row with every layer, in the sample and in its folds
  (`roi_cross_sums`).
The orders are random permutations of the pairs (`sort_rdm` of random values), as random to the
pairs' slots as a real RDM's. Their sum, against the CPU time a sample that 1000 samples in 4
hours on the machine's cores allow, says whether any saving outside these kernels could meet that
target.

Usage: python -m bench.rank_floor [--repeats 5]   (prints the table)
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

N_IMAGES, N_ROIS, N_SUBJECTS, N_LAYERS = 4916, 59, 3, 39
TARGET_HOURS, SAMPLES = 4.0, 1000
CROSS_ROIS = 6  # ROIs per timed cross-sum call, scaled to N_ROIS


def _least(unit, repeats: int) -> float:
    """The least CPU time of `repeats` calls (after one untimed call that compiles)."""
    unit()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        unit()
        times.append(time.process_time() - start)
    return min(times)


def floor_rows(
    repeats: int = 5, n_orders: int = 3, n_images: int = N_IMAGES
) -> list[tuple[str, str, str, str]]:
    """One row per kernel (CPU s a sample, scaled to the deposit's ROIs, subjects and layers at
    `n_images`), one for their sum against the target, and two references."""
    from analysis.inference import rank_kernels as kernels
    from analysis.inference.crossvalidated import draw_folds, rank_fold_plan
    from analysis.inference.rank_bootstrap import (
        pool_requests,
        release_sorted,
        sample_and_fold_ranks,
        sample_folds,
        sort_rdm,
    )
    from analysis.inference.resampling import draw_resampling

    rng = np.random.default_rng(0)
    n_pairs = n_images * (n_images - 1) // 2
    orders = [sort_rdm(rng.random(n_pairs), n_images) for _ in range(n_orders)]
    resampling = draw_resampling(n_images, N_SUBJECTS, SAMPLES, seed=1)
    plan = rank_fold_plan(draw_folds(resampling))
    counts = resampling.image_counts[0].astype(np.int32)
    folds = sample_folds(counts, plan.splits.labels[0], plan.splits.ones)
    walks = (
        _least(lambda: sample_and_fold_ranks(orders, counts, folds, scratch="floor"), repeats)
        / n_orders
    )
    ranks, fold_ranks = sample_and_fold_ranks(orders, counts, folds, scratch="floor")
    active = ranks.weights.shape[0]

    everyone = np.ones(N_SUBJECTS, dtype=np.int64)
    pools = np.mean(
        [len(pool_requests(np.stack([drawn, everyone]))) for drawn in resampling.subject_counts]
    )
    words = rng.integers(0, 1 << 62, active, dtype=np.int64)
    scratch = np.empty_like(words)
    copy = _least(lambda: np.copyto(scratch, words), repeats)
    sort = _least(lambda: (np.copyto(scratch, words), scratch.sort()), repeats) - copy

    def cross_sums(size: int, weights: np.ndarray) -> float:
        rows = rng.integers(1, 2 * size, (CROSS_ROIS * N_SUBJECTS, size), dtype=np.int32)
        layers = rng.integers(1, 2 * size, (N_LAYERS, size), dtype=np.int32)

        def unit() -> None:
            kernels.roi_cross_sums(layers, rows, weights, N_SUBJECTS)

        return _least(unit, repeats) * N_ROIS / CROSS_ROIS

    cross = cross_sums(active, ranks.weights)
    cross += sum(cross_sums(f.weights.shape[0], f.weights) for f in fold_ranks)

    order = orders[0].pairs
    read = _least(lambda: order.sum(dtype=np.int64), repeats)
    slots = rng.permutation(active).astype(np.int64)
    values = np.arange(active, dtype=np.int32)
    target = np.empty(active, dtype=np.int32)
    scatter = _least(lambda: np.put(target, slots, values), repeats)

    n_rdms = N_ROIS * N_SUBJECTS + N_LAYERS
    parts = [
        (
            f"{n_rdms} RDMs' sample walk + the fold walks of {len(folds) // 2} splits",
            n_rdms * walks,
            f"{walks * 1e3:.1f} ms an RDM ({n_pairs / 1e6:.1f} M pairs, {active / 1e6:.2f} M "
            "active)",
        ),
        (
            f"{N_ROIS} ROIs' pooled re-ranks: numpy's sort only",
            N_ROIS * pools * sort,
            f"{pools:.2f} pools a ROI (mean of {SAMPLES} subject draws) × {sort * 1e3:.1f} ms a "
            f"sort of {active / 1e6:.2f} M int64 words",
        ),
        (
            f"cross sums, {N_ROIS * N_SUBJECTS} subject rows × {N_LAYERS} layers, "
            f"sample + {len(fold_ranks)} folds",
            cross,
            f"timed at {CROSS_ROIS} ROIs, scaled to {N_ROIS}",
        ),
    ]
    total = sum(seconds for _, seconds, _ in parts)
    cores = len(os.sched_getaffinity(0))
    hours = total * SAMPLES / cores / 3600
    rows = [(f"floor: {name}", f"{seconds:.3g} CPU s", "", how) for name, seconds, how in parts]
    rows += [
        (
            f"floor of one spearman sample with ceilings, {N_ROIS} ROIs × {N_SUBJECTS} "
            f"subjects and {N_LAYERS} layers at {n_images} images (the three kernels above)",
            f"{total:.3g} CPU s",
            "",
            f"{SAMPLES} samples on {cores} cores at this floor: {hours:.1f} h; the target "
            f"({TARGET_HOURS:.0f} h) allows {TARGET_HOURS * 3600 * cores / SAMPLES:.1f} CPU s a "
            f"sample; load average {os.getloadavg()[0]:.1f}",
        ),
        (
            "reference: a sequential read of one RDM's order",
            f"{read * 1e3:.1f} ms",
            "",
            f"{order.nbytes / 1e6:.0f} MB; the walk reads it and writes its active pairs' ranks",
        ),
        (
            f"reference: numpy's scatter of {active / 1e6:.2f} M int32 to random slots",
            f"{scatter * 1e3:.1f} ms",
            "",
            "the writes of a sample walk, without the walk (np.put, a random permutation)",
        ),
    ]
    release_sorted()  # the walks' reused memory
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from .common import print_table

    print_table(floor_rows(args.repeats), ("operation", "time", "memory", "how"))


if __name__ == "__main__":
    main()
