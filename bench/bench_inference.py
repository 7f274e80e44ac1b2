"""Inference benchmark: dual bootstrap, rank point
estimates, peak memory; against rsatoolbox in this run.

Synthetic RDMs are generated in-process (no files). Ours runs in child processes (wall time and
peak RSS from wait4). rsatoolbox's side runs on a few samples / comparisons in a child and is
extrapolated linearly; those rows say so.

Usage: python -m bench.bench_inference            (prints the table)
       python -m bench.bench_inference --quick    (smaller sizes, for a smoke test)
       python -m bench.bench_inference --whitened (only the whitened bootstraps against corr's)
       python -m bench.bench_inference --selection [--samples N] (the cross-validated network
           comparison against the corr bootstrap, both at N samples, default 1000)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np

from .common import ROOT

FULL = dict(n_images=2985, n_rois=10, n_subjects=3, n_layers=5, samples=1000)
MEMORY_IMAGES = 4916


def synthetic(n_images: int, n_rois: int, n_subjects: int, n_layers: int, seed: int = 0):
    """Subject RDMs (R × S × pairs) and layer RDMs (L × pairs) sharing a common structure."""
    rng = np.random.default_rng(seed)
    pairs = n_images * (n_images - 1) // 2
    shared = rng.random(pairs)
    subjects = np.empty((n_rois, n_subjects, pairs))
    for r in range(n_rois):
        for s in range(n_subjects):
            subjects[r, s] = shared + rng.normal(0, 1.0, pairs)
    models = np.empty((n_layers, pairs))
    for layer in range(n_layers):
        models[layer] = shared * (layer + 1) / n_layers + rng.normal(0, 1.0, pairs)
    return subjects, models


# ---------------------------------------------------------------- child processes


def child(task: str, args: dict) -> None:
    """Run one measured task; print a JSON line with its inner timing."""
    from analysis import inference

    subjects, models = synthetic(
        args["n_images"], args["n_rois"], args["n_subjects"], args["n_layers"]
    )
    start, cpu = time.perf_counter(), time.process_time()
    if task == "dual":  # with networks=2: the layers split into two networks, compared too
        dtype = {"float32": np.float32, "float64": np.float64}[args["dtype"]]
        cut = [0, models.shape[0] // 2, models.shape[0]] if args.get("networks") == 2 else [0, None]
        nets = {
            f"net{i}": models[a:b] for i, (a, b) in enumerate(zip(cut[:-1], cut[1:], strict=True))
        }
        layers = {n: [f"{n}-layer{i}" for i in range(len(m))] for n, m in nets.items()}
        rois = [f"roi{r}" for r in range(subjects.shape[0])]
        inference.inference_arrays(
            subjects,
            nets,
            rois,
            layers,
            args["method"],
            args["samples"],
            0,
            dtype=dtype,
            progress=False,
        )
    elif task == "select":
        from analysis.inference import crossvalidated as cv
        from analysis.inference.dual_bootstrap import default_dtype, subject_rows

        half = models.shape[0] // 2
        spans = [slice(0, half), slice(half, models.shape[0])]
        resampling = inference.draw_resampling(
            args["n_images"], args["n_subjects"], args["samples"], seed=0
        )
        cv.cross_validated(
            subject_rows(subjects),
            list(models),
            spans,
            resampling,
            args["method"],
            dtype=default_dtype(args["n_images"]),
        )
    elif task == "point":
        from analysis.comparison.methods import compare

        compare(models, subjects.reshape(-1, subjects.shape[2]), args["method"])
    elif task == "rsa-dual":
        rsa_dual(subjects[0], models, args["method"], args["samples"])
    elif (
        task == "rsa-dual-fails"
    ):  # whitened methods: rsatoolbox's sparse path fails on resampled RDMs
        try:
            rsa_dual(subjects[0], models, args["method"], args["samples"])
        except Exception as err:  # noqa: BLE001 - reported, not handled
            print(
                json.dumps(
                    {
                        "seconds": time.perf_counter() - start,
                        "error": f"{type(err).__name__}: {err}",
                    }
                )
            )
            return
    elif task == "rsa-point":
        rsa_point(subjects[0], models, args["method"], args["comparisons"])
    print(
        json.dumps({"seconds": time.perf_counter() - start, "task_cpu": time.process_time() - cpu}),
        flush=True,
    )


def rsa_dual(subjects: np.ndarray, models: np.ndarray, method: str, samples: int) -> None:
    import rsatoolbox
    from rsatoolbox.inference.evaluate import eval_dual_bootstrap

    data = rsatoolbox.rdm.RDMs(subjects)
    fixed = [
        rsatoolbox.model.ModelFixed(f"l{i}", rsatoolbox.rdm.RDMs(models[i : i + 1]))
        for i in range(len(models))
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eval_dual_bootstrap(fixed, data, method=method, N=samples)


def rsa_point(subjects: np.ndarray, models: np.ndarray, method: str, comparisons: int) -> None:
    import rsatoolbox

    done = 0
    for layer in models:
        for subject in subjects:
            if done == comparisons:
                return
            rsatoolbox.rdm.compare(
                rsatoolbox.rdm.RDMs(layer[None]), rsatoolbox.rdm.RDMs(subject[None]), method
            )
            done += 1


def measure(task: str, **args) -> tuple[float, float]:
    """(inner seconds, peak GB) of a child process running `task` (peak RSS from wait4)."""
    report = measure_report(task, **args)
    return report["seconds"], report["peak_gb"]


def measure_report(task: str, **args) -> dict:
    """The child's JSON report (inner wall `seconds` and, for most tasks, `task_cpu`: the task's
    CPU seconds over all threads) with its peak GB and the whole child's CPU seconds (user +
    system from wait4, including start-up and the synthetic data)."""
    command = [sys.executable, "-m", "bench.bench_inference", "--child", task, json.dumps(args)]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"error: benchmark step {task} failed")
    report = json.loads(output.strip().splitlines()[-1])
    return {**report, "peak_gb": usage.ru_maxrss / 1024**2, "cpu": usage.ru_utime + usage.ru_stime}


def _fmt(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def bench_inference(quick: bool = False) -> list[tuple[str, str, str, str]]:
    """Rows (operation, ours, rsatoolbox, ratio) for the table printed by `make bench`."""
    size = dict(FULL)
    if quick:
        size.update(n_images=600, samples=100)
    n, rois, subj, layers, samples = (
        size[k] for k in ("n_images", "n_rois", "n_subjects", "n_layers", "samples")
    )
    rows = []
    label = f"{n} images, {subj} subjects × {rois} ROIs × {layers} layers"
    ours_dual = {}
    for dtype in ("float32", "float64"):
        seconds, peak = measure("dual", method="corr", dtype=dtype, **size)
        ours_dual[dtype] = seconds
        print(f"dual bootstrap corr {dtype}: {seconds:.1f} s, peak {peak:.1f} GB", flush=True)
    rsa_samples = 1 if not quick else 2
    rsa_seconds, _ = measure(
        "rsa-dual", method="corr", **{**size, "n_rois": 1, "samples": rsa_samples}
    )
    rsa_total = rsa_seconds / rsa_samples * samples * rois
    print(
        f"rsatoolbox eval_dual_bootstrap: {rsa_seconds:.1f} s for {rsa_samples} sample(s), one ROI",
        flush=True,
    )
    for dtype in ("float32", "float64"):
        rows.append(
            (
                f"dual bootstrap corr + noise ceilings, {samples} samples, {label} ({dtype})",
                _fmt(ours_dual[dtype]),
                f"{_fmt(rsa_total)} (extrapolated from {rsa_samples} sample(s) × 1 ROI)",
                f"{rsa_total / ours_dual[dtype]:.0f}×",
            )
        )
    rows += whitened_rows(size, label)
    rows += bench_methods(size, label, quick)
    memory_images = MEMORY_IMAGES if not quick else 800
    seconds, peak = measure(
        "dual",
        method="corr",
        dtype="float32",
        **{**size, "n_images": memory_images, "samples": 200 if not quick else 50},
    )
    rows.append(
        (
            f"peak memory, dual bootstrap corr, {memory_images} images "
            f"(incl. {rois * subj + layers} input RDMs held in memory)",
            f"{peak:.1f} GB",
            "—",
            "—",
        )
    )
    return rows


def bench_methods(size: dict, label: str, quick: bool) -> list[tuple[str, str, str, str]]:
    """Per method: point estimates of every pair and the
    1000-sample dual bootstrap, ours and rsatoolbox's.

    The rank bootstraps are timed at two sample counts and extrapolated by the slope (the first
    count carries the one-off sorts); rsatoolbox's are timed on one sample and one ROI.
    """
    from analysis.inference.rank_moments import tau_a_cost
    from analysis.schema import METHODS, WHITENED_METHODS

    n, rois, subj, layers, samples = (
        size[k] for k in ("n_images", "n_rois", "n_subjects", "n_layers", "samples")
    )
    pairs_of_images = n * (n - 1) // 2
    rows = []
    for method in METHODS:
        seconds, _ = measure("point", method=method, **size)
        comparisons = 2 if method == "tau-a" else 15
        rsa, _ = measure(
            "rsa-point", method=method, comparisons=comparisons, **{**size, "n_rois": 1}
        )
        total = rsa / comparisons * rois * subj * layers
        rows.append(
            (
                f"point estimates {method}, {rois * subj * layers} pairs, {n} images",
                _fmt(seconds),
                f"{_fmt(total)} (extrapolated from {comparisons} comparisons)",
                f"{total / seconds:.0f}×",
            )
        )
        print(rows[-1], flush=True)
        if method in ("corr", "cosine") or method in WHITENED_METHODS:
            continue  # measured in full above (cosine shares corr's products)
        name = f"dual bootstrap {method} + noise ceilings, {samples} samples, {label}"
        if method == "tau-a":
            rows.append(
                (
                    name,
                    "refused: weighted Kendall counts need about "
                    f"{tau_a_cost(pairs_of_images, samples, rois, subj, layers):.0e} operations",
                    "—",
                    "—",
                )
            )
            continue
        low, high = (
            (2, 4) if quick else (4, 24)
        )  # a longer second run: the slope of short runs is noisy
        first, _ = measure("dual", method=method, dtype="float64", **{**size, "samples": low})
        second, _ = measure("dual", method=method, dtype="float64", **{**size, "samples": high})
        ours = first + (second - first) / (high - low) * (samples - low)
        rsa, _ = measure("rsa-dual", method=method, **{**size, "n_rois": 1, "samples": 1})
        theirs = rsa * samples * rois
        rows.append(
            (
                name,
                f"{_fmt(ours)} (extrapolated from {low} and {high} samples: "
                f"{_fmt(first)}, {_fmt(second)})",
                f"{_fmt(theirs)} (extrapolated from 1 sample × 1 ROI)",
                f"{theirs / ours:.0f}×",
            )
        )
        print(rows[-1], flush=True)
    return rows


def whitened_rows(size: dict, label: str) -> list[tuple[str, str, str, str]]:
    """corr_cov and cosine_cov dual bootstraps against corr's, measured alternately in this run
    (wall and CPU seconds: the cores may be shared); rsatoolbox's side is tried at 120 images."""
    samples = size["samples"]
    times = {}
    for method in ("corr", "corr_cov", "cosine_cov", "corr"):
        report = measure_report("dual", method=method, dtype="float32", **size)
        times.setdefault(method, []).append(report)
        print(
            f"dual bootstrap {method} float32: {report['seconds']:.1f} s "
            f"wall, {report['cpu']:.1f} s CPU, peak {report['peak_gb']:.1f} GB",
            flush=True,
        )
    corr_wall = np.mean([r["seconds"] for r in times["corr"]])
    corr_cpu = np.mean([r["cpu"] for r in times["corr"]])
    rows = []
    for method in ("corr_cov", "cosine_cov"):
        small = {**size, "n_images": 120, "n_rois": 1, "samples": 1}
        rsa = measure_report("rsa-dual-fails", method=method, **small)
        rsa_text = (
            f"fails at 120 images ({rsa['error'].split(':')[0]} "
            "in _cov_weighting's sparse path, ≥ 100 images)"
            if "error" in rsa
            else f"ran at 120 images in {_fmt(rsa['seconds'])} per sample"
        )
        ours = times[method][0]
        rows.append(
            (
                f"dual bootstrap {method} + noise ceilings, {samples} samples, {label} (float32)",
                f"{_fmt(ours['seconds'])} ({ours['seconds'] / corr_wall:.2f}× "
                f"corr's {_fmt(corr_wall)}; CPU {ours['cpu'] / corr_cpu:.2f}×)",
                rsa_text,
                "—",
            )
        )
    return rows


def selection_rows(size: dict, label: str, quick: bool) -> list[tuple[str, str, str, str]]:
    """The cross-validated network comparison (two networks splitting the layers) against the
    corr dual bootstrap on the same data, all measured at the full sample count (not
    extrapolated): the corr bootstrap with one network; the same layers as two networks, whose
    comparison the corr bootstrap's pass also computes (the pipeline's way; its cost is the
    difference); the comparison in a pass of its own (`cross_validated`, what the rank and
    whitened methods use); the corr bootstrap again, so that a change of load shows. Wall and
    CPU seconds (the cores may be shared)."""
    steps = (
        ("corr", "dual", {}),
        ("corr + cv", "dual", {"networks": 2}),
        ("cv alone", "select", {}),
        ("corr", "dual", {}),
    )
    reports = {}
    for name, task, extra in steps:
        report = measure_report(task, method="corr", dtype="float32", **size, **extra)
        reports.setdefault(name, []).append(report)
        print(
            f"{name}: {report['seconds']:.1f} s wall, {report['task_cpu']:.1f} s CPU, "
            f"peak {report['peak_gb']:.1f} GB, load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    corr_wall = np.mean([r["seconds"] for r in reports["corr"]])
    corr_cpu = np.mean([r["task_cpu"] for r in reports["corr"]])
    both, alone = reports["corr + cv"][0], reports["cv alone"][0]
    cv_wall, cv_cpu = both["seconds"] - corr_wall, both["task_cpu"] - corr_cpu
    samples = size["samples"]
    return [
        (
            f"corr dual bootstrap + ceilings, {samples} samples, {label}",
            f"{_fmt(corr_wall)} (mean of 2 runs; CPU {_fmt(corr_cpu)})",
            "—",
            "—",
        ),
        (
            f"the same + cross-validated comparison of 2 networks, {samples} samples",
            f"{_fmt(both['seconds'])} (CPU {_fmt(both['task_cpu'])}); the comparison's share "
            f"{_fmt(cv_wall)} (CPU {_fmt(cv_cpu)})",
            "—",
            f"comparison {cv_wall / corr_wall:.2f}× the corr bootstrap "
            f"(CPU {cv_cpu / corr_cpu:.2f}×)",
        ),
        (
            f"cross-validated comparison in a pass of its own, {samples} samples",
            f"{_fmt(alone['seconds'])} (CPU {_fmt(alone['task_cpu'])})",
            "—",
            f"{alone['seconds'] / corr_wall:.2f}× the corr bootstrap "
            f"(CPU {alone['task_cpu'] / corr_cpu:.2f}×)",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--whitened", action="store_true", help="only corr_cov and cosine_cov against corr"
    )
    parser.add_argument(
        "--samples",
        type=int,
        help="with --whitened or --selection: bootstrap samples (default 1000, --quick 100)",
    )
    parser.add_argument(
        "--selection",
        action="store_true",
        help="only the cross-validated network comparison against the corr bootstrap "
        "(--samples: bootstrap samples, default 1000, --quick 100)",
    )
    parser.add_argument("--child", nargs=2, metavar=("TASK", "ARGS"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], json.loads(args.child[1]))
        return
    from .common import print_table

    if args.selection:
        size = {**FULL, **(dict(n_images=600, samples=100) if args.quick else {})}
        size["samples"] = args.samples or size["samples"]
        n, rois, subj, layers = (size[k] for k in ("n_images", "n_rois", "n_subjects", "n_layers"))
        print_table(
            selection_rows(
                size, f"{n} images, {subj} subjects × {rois} ROIs × {layers} layers", args.quick
            )
        )
        return
    if args.whitened:
        size = {**FULL, **(dict(n_images=600, samples=100) if args.quick else {})}
        size["samples"] = args.samples or size["samples"]
        n, rois, subj, layers = (size[k] for k in ("n_images", "n_rois", "n_subjects", "n_layers"))
        print_table(
            whitened_rows(size, f"{n} images, {subj} subjects × {rois} ROIs × {layers} layers")
        )
        return
    print_table(bench_inference(quick=args.quick))


if __name__ == "__main__":
    main()
