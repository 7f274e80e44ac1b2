"""Inference benchmark: dual bootstrap, rank point estimates, peak memory; against rsatoolbox in this run.

Synthetic RDMs are generated in-process (no files). Ours runs in child processes (wall time and
peak RSS from wait4). rsatoolbox's side runs on a few samples / comparisons in a child and is
extrapolated linearly; those rows say so.

Usage: python -m bench.bench_inference            (prints the table)
       python -m bench.bench_inference --quick    (smaller sizes, for a smoke test)
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
    from analysis import inference as inf
    from analysis.comparison import kendall, ranks
    subjects, models = synthetic(args["n_images"], args["n_rois"], args["n_subjects"], args["n_layers"])
    start = time.perf_counter()
    if task == "dual":
        dtype = {"float32": np.float32, "float64": np.float64}[args["dtype"]]
        layers = {"net": [f"layer{i}" for i in range(models.shape[0])]}
        rois = [f"roi{r}" for r in range(subjects.shape[0])]
        inf.inference_arrays(subjects, {"net": models}, rois, layers, args["method"], args["samples"], 0,
                             dtype=dtype, progress=False)
    elif task == "point":
        flat = subjects.reshape(-1, subjects.shape[2])
        if args["method"] == "tau-a":
            kendall.tau_a_many(models, flat)
        else:
            model_ranks = ranks.average_ranks(models)
            data_ranks = ranks.average_ranks(flat)
            model_ranks -= model_ranks.mean(axis=1, keepdims=True)
            data_ranks -= data_ranks.mean(axis=1, keepdims=True)
            _ = model_ranks @ data_ranks.T
    elif task == "rsa-dual":
        rsa_dual(subjects[0], models, args["method"], args["samples"])
    elif task == "rsa-point":
        rsa_point(subjects[0], models, args["method"], args["comparisons"])
    print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)


def rsa_dual(subjects: np.ndarray, models: np.ndarray, method: str, samples: int) -> None:
    import rsatoolbox
    from rsatoolbox.inference.evaluate import eval_dual_bootstrap
    data = rsatoolbox.rdm.RDMs(subjects)
    fixed = [rsatoolbox.model.ModelFixed(f"l{i}", rsatoolbox.rdm.RDMs(models[i:i + 1])) for i in range(len(models))]
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
            rsatoolbox.rdm.compare(rsatoolbox.rdm.RDMs(layer[None]), rsatoolbox.rdm.RDMs(subject[None]), method)
            done += 1


def measure(task: str, **args) -> tuple[float, float]:
    """(inner seconds, peak GB) of a child process running `task` (peak RSS from wait4)."""
    command = [sys.executable, "-m", "bench.bench_inference", "--child", task, json.dumps(args)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"error: benchmark step {task} failed")
    inner = json.loads(output.strip().splitlines()[-1])["seconds"]
    return inner, usage.ru_maxrss / 1024 ** 2


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
    n, rois, subj, layers, samples = (size[k] for k in ("n_images", "n_rois", "n_subjects", "n_layers", "samples"))
    rows = []
    label = f"{n} images, {subj} subjects × {rois} ROIs × {layers} layers"
    ours_dual = {}
    for dtype in ("float32", "float64"):
        seconds, peak = measure("dual", method="corr", dtype=dtype, **size)
        ours_dual[dtype] = seconds
        print(f"dual bootstrap corr {dtype}: {seconds:.1f} s, peak {peak:.1f} GB", flush=True)
    rsa_samples = 1 if not quick else 2
    rsa_seconds, _ = measure("rsa-dual", method="corr", **{**size, "n_rois": 1, "samples": rsa_samples})
    rsa_total = rsa_seconds / rsa_samples * samples * rois
    print(f"rsatoolbox eval_dual_bootstrap: {rsa_seconds:.1f} s for {rsa_samples} sample(s), one ROI", flush=True)
    for dtype in ("float32", "float64"):
        rows.append((f"dual bootstrap corr + noise ceilings, {samples} samples, {label} ({dtype})",
                     _fmt(ours_dual[dtype]),
                     f"{_fmt(rsa_total)} (extrapolated from {rsa_samples} sample(s) × 1 ROI)",
                     f"{rsa_total / ours_dual[dtype]:.0f}×"))
    for method in ("spearman", "rho-a", "tau-a"):
        seconds, _ = measure("point", method=method, **size)
        comparisons = 15 if method != "tau-a" else 2
        rsa, _ = measure("rsa-point", method=method, comparisons=comparisons, **{**size, "n_rois": 1})
        total = rsa / comparisons * rois * subj * layers
        rows.append((f"point estimates {method}, {rois * subj * layers} pairs, {n} images", _fmt(seconds),
                     f"{_fmt(total)} (extrapolated from {comparisons} comparisons)", f"{total / seconds:.0f}×"))
        print(rows[-1], flush=True)
    spearman_samples = 2
    seconds, _ = measure("dual", method="spearman", dtype="float64", **{**size, "n_rois": 1, "samples": spearman_samples})
    per_sample = seconds / spearman_samples * rois
    rows.append((f"dual bootstrap spearman (weighted ranks), per sample, {label}",
                 f"{_fmt(per_sample)} (extrapolated from {spearman_samples} samples × 1 ROI; "
                 f"{_fmt(per_sample * samples)} for {samples})", "not measured", "—"))
    memory_images = MEMORY_IMAGES if not quick else 800
    seconds, peak = measure("dual", method="corr", dtype="float32",
                            **{**size, "n_images": memory_images, "samples": 200 if not quick else 50})
    rows.append((f"peak memory, dual bootstrap corr, {memory_images} images (incl. {rois * subj + layers} "
                 "input RDMs held in memory)", f"{peak:.1f} GB", "—", "—"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("TASK", "ARGS"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], json.loads(args.child[1]))
        return
    from .common import print_table
    print_table(bench_inference(quick=args.quick))


if __name__ == "__main__":
    main()
