"""`python -m bench deposit`: a deposit-shaped synthetic study at real size, time and peak memory.

Generates (once, into _bench/deposit, after checking the disk) 4 networks (5, 5, 10, 19 layers)
and CSI1-4 × 3 atlases (10, 16, 33 ROIs) plus MEAN files at 4916 images (CSI4: 2952), as
rsatoolbox HDF5 files of float64 (bench/deposit_data.py), each in the canonical image order (so
the aligned store reads them in place). Studies: the whole deposit (point estimates; CSI4 limits
the common images to 2952) and CSI1-3 with every atlas and network at 4916 images.

Measured, each in a child process (wall time; peak resident memory = max RSS from wait4):
point estimates (corr and cosine) against their floor, the time to read their files from disk
(bytes ÷ the best read speed measured on those files, one or two at a time, after asking the
kernel to drop their cached pages), on a first run (every input hashed, a new aligned store)
and on reruns (hashes memoised); the corr dual bootstrap with noise ceilings in float32 on a
few samples at two sample counts, extrapolated linearly to 1000 (the table says so); the
spearman dual bootstrap with noise ceilings the same way, and on a local Dask cluster of one and
of two worker processes (one thread each) on 127.0.0.1 at the same two sample counts, with the
speed-ups, beside the speed-up this machine gives two processes running the rank kernels
(bench/kernel_scaling.py), and the floor of a spearman sample: its kernels alone, on one thread
(bench/rank_floor.py); and the corr bootstrap on the two-worker cluster.

Usage: python -m bench deposit [--samples 64,128] [--rank-samples 2,6]
       [--no-dask | --dask-only | --rank-only | --point-only]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .common import BENCH_DIR, ROOT, print_table
from .deposit_data import ATLASES, NETWORK_FILES, SUBJECTS, deposit_bytes, write_deposit
from .kernel_scaling import scaling_rows
from .rank_floor import floor_rows

DEPOSIT = BENCH_DIR / "deposit"
STUDIES = BENCH_DIR / "deposit-studies"
FULL_SAMPLES = 1000
DEPOSIT_HEADER = ("operation", "time", "memory", "how")


def deposit_files() -> list[Path]:
    """Every RDM file of the generated deposit."""
    names = list(NETWORK_FILES.values()) + [f"MEAN_{a}_CORR_RDMs.h5" for a in ATLASES]
    names += [f"{s}_{a}_CORR_RDMs.h5" for s in SUBJECTS for a in ATLASES]
    return [DEPOSIT / name for name in names]


def ensure_deposit() -> Path:
    """The generated deposit (written once, unless every file is there, whatever else the
    folder holds; refuses to start when the disk is too small)."""
    if not all(path.is_file() for path in deposit_files()):
        DEPOSIT.mkdir(parents=True, exist_ok=True)
        need = deposit_bytes(4916, 2952)
        free = shutil.disk_usage(DEPOSIT).free
        if need * 1.1 > free:
            sys.exit(
                f"error: {DEPOSIT}: the deposit needs {need / 1e9:.0f} GB, {free / 1e9:.0f} GB free"
            )
        print(
            f"generating the deposit-shaped study ({need / 1e9:.0f} GB) in {DEPOSIT} (once)",
            flush=True,
        )
        write_deposit(DEPOSIT)
    return DEPOSIT


def deposit_study(
    name: str,
    subjects: tuple[str, ...],
    atlases: tuple[str, ...],
    group_means: bool,
    method: str = "corr",
    networks: tuple[str, ...] | None = None,
) -> Path:
    """A study over the generated files: the given subjects and atlases, the networks (default:
    all four). It is written beside the results (STUDIES), naming the files by absolute path:
    the deposit's folder may be shared, and is only read."""
    path = STUDIES / f"study-{name}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = DEPOSIT.resolve()
    study = {
        "title": f"SYNTHETIC deposit, {name}",
        "subjects": {
            s: {a: str(folder / f"{s}_{a}_CORR_RDMs.h5") for a in atlases} for s in subjects
        },
        "networks": {
            n: str(folder / f)
            for n, f in NETWORK_FILES.items()
            if networks is None or n in networks
        },
        "method": method,
        "bootstrap": {"samples": 0, "seed": 0},
    }
    if group_means:
        study["group_mean"] = {a: str(folder / f"MEAN_{a}_CORR_RDMs.h5") for a in atlases}
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def run(
    study: Path, out: Path, samples: int, extra: list[str] = (), store: Path | None = None
) -> tuple[float, float, float]:
    """(wall seconds, peak GB, CPU seconds) of one `python -m analysis run` (aligned store:
    `store`, default BENCH_DIR/deposit-store).

    The CPU time (user + system) says what the run costs when the machine is shared: on an idle
    machine with 2 cores the wall time is about half of it for the parallel parts.
    """
    command = [
        sys.executable,
        "-m",
        "analysis",
        "run",
        str(study),
        "--out",
        str(out),
        "--samples",
        str(samples),
        "--store",
        str(store or BENCH_DIR / "deposit-store"),
        *extra,
    ]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"error: benchmark step failed: {' '.join(command)}")
    return seconds, usage.ru_maxrss / 1024**2, usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cluster(workers: int = 2) -> tuple[str, list[subprocess.Popen]]:
    """A Dask scheduler and `workers` one-thread worker processes on the loopback address."""
    dask = Path(sys.executable).with_name("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "cwd": ROOT}
    procs = [
        subprocess.Popen(
            [
                str(dask),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                address.rsplit(":", 1)[1],
                "--no-dashboard",
            ],
            **quiet,
        )
    ]
    for i in range(workers):
        procs.append(
            subprocess.Popen(
                [
                    str(dask),
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--memory-limit",
                    "0",
                    "--name",
                    f"bench{i}",
                ],
                **quiet,
            )
        )
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=120)
    return address, procs


def stop_cluster(procs: list[subprocess.Popen]) -> list[float]:
    """Stop the cluster; the peak RSS (GB) of each process (scheduler first)."""
    for proc in reversed(procs):
        proc.send_signal(signal.SIGINT)
    peaks = []
    for proc in procs:  # wait4, not poll(): poll would reap the process and lose its rusage
        deadline = time.time() + 30
        usage = None
        while usage is None and time.time() < deadline:
            pid, _, found = os.wait4(proc.pid, os.WNOHANG)
            usage = found if pid else None
            if usage is None:
                time.sleep(0.2)
        if usage is None:
            proc.kill()
            _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        peaks.append(usage.ru_maxrss / 1024**2)
    return peaks


def study_files(study: Path) -> list[Path]:
    """The RDM files a study reads."""
    fields = yaml.safe_load(study.read_text())
    names = [f for atlases in fields["subjects"].values() for f in atlases.values()]
    names += list(fields["networks"].values()) + list(fields.get("group_mean", {}).values())
    return sorted({study.parent / n for n in names})


def disk_read_speed(files: list[Path], streams: int = 1, chunk: int = 1 << 24) -> tuple[float, int]:
    """(bytes per second, bytes) of reading `files` once, each sequentially, `streams` files at
    a time (threads), after asking the kernel to drop their cached pages (posix_fadvise
    DONTNEED: clean pages go, so the read is from the disk unless another process holds them)."""
    from concurrent.futures import ThreadPoolExecutor

    drop_cached_pages(files)

    def read(path: Path) -> int:
        total = 0
        buffer = bytearray(chunk)
        with open(path, "rb", buffering=0) as handle:
            while got := handle.readinto(buffer):
                total += got
        return total

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=streams) as pool:
        total = sum(pool.map(read, sorted(files, key=lambda f: -f.stat().st_size)))
    return total / (time.perf_counter() - start), total


def drop_cached_pages(files: list[Path]) -> None:
    """Ask the kernel to drop the files' cached pages (clean pages go: the next read is from
    the disk unless another process holds them)."""
    for path in files:
        with open(path, "rb") as handle:
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def point_rows(csi_by_method: dict[str, Path]) -> list[tuple[str, str, str, str]]:
    """Point estimates of CSI1-3 (corr, cosine), each against the disk's floor for its files:
    reading every byte once at the speed measured on those files, their cached pages dropped
    first (as before each run). corr runs twice: first as a first run (no memoised hash, a new
    aligned store: every input is hashed and every row checked), then as a rerun with --force
    (hashes memoised, store kept), as cosine does."""
    files = study_files(next(iter(csi_by_method.values())))
    speeds = {streams: disk_read_speed(files, streams) for streams in (1, 2)}
    speed, size = max(speeds.values())  # the disk's best: one file at a time, or two at once
    floor = size / speed
    measured = ", ".join(f"{s[0] / 1e6:.0f} MB/s with {n} stream(s)" for n, s in speeds.items())
    folder = BENCH_DIR / "deposit-results" / "point"  # its own hash memo (out.parent), store
    shutil.rmtree(folder, ignore_errors=True)
    runs = [("corr", "first run: hashes + store checks included")]
    runs += [(method, "rerun (--force; hashes memoised)") for method in csi_by_method]
    rows = []
    for method, kind in runs:
        drop_cached_pages(files)
        load = os.getloadavg()[0]
        seconds, peak, cpu = run(
            csi_by_method[method], folder / method, 0, ["--force"], store=folder / "store"
        )
        rows.append(
            (
                f"point estimates ({method}), CSI1-3 × 3 atlases × 4 networks, 4916 images, {kind}",
                f"{seconds:.0f} s wall, {cpu:.0f} s CPU",
                f"peak {peak:.1f} GB",
                f"floor {floor:.0f} s: {size / 1e9:.1f} GB read once at {speed / 1e6:.0f} MB/s "
                f"(measured on these files, cached pages dropped first: {measured}); "
                f"{seconds / floor:.1f}× "
                f"the floor; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after",
            )
        )
        print(rows[-1], flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    return rows


def rank_rows(
    study: Path, samples: tuple[int, int], dask: bool = True
) -> list[tuple[str, str, str, str]]:
    """The spearman dual bootstrap with ceilings over CSI1-3 (its point stage cached first):
    locally at two sample counts, extrapolated to 1000; then on 1 and on 2 Dask workers."""
    low, high = samples
    results = BENCH_DIR / "deposit-results"
    fields = yaml.safe_load(study.read_text())
    shape = (
        f"CSI1-3 × {len(next(iter(fields['subjects'].values())))} atlas(es) × "
        f"{len(fields['networks'])} network(s), 4916 images"
    )
    point = results / f"{study.stem}-point"
    run(study, point, 0)  # the point stage once; every bootstrap run below starts from a copy

    def fresh(name: str) -> Path:
        folder = results / name
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(point, folder)
        return folder

    run(study, fresh(f"{study.stem}-warm-up"), 2)  # sorts every RDM into the store, once
    outs = {count: fresh(f"{study.stem}-{count}") for count in (low, high)}
    timings = {count: run(study, outs[count], count) for count in (low, high)}
    cores = len(os.sched_getaffinity(0))
    cpu_per_sample = (timings[high][2] - timings[low][2]) / (high - low)
    wall_per_sample = (timings[high][0] - timings[low][0]) / (high - low)
    estimate = timings[low][0] + (FULL_SAMPLES - low) * cpu_per_sample / cores
    rows = [
        (
            f"spearman dual bootstrap + ceilings, {shape}, {FULL_SAMPLES} samples, local threads",
            f"{estimate / 3600:.1f} h",
            f"peak {max(timings[low][1], timings[high][1]):.1f} GB",
            f"extrapolated: {timings[low][0]:.0f} s wall at {low} samples (point stage and sorted "
            f"RDMs cached) + {cpu_per_sample:.0f} CPU s per further sample over "
            f"{cores} cores ({wall_per_sample:.0f} s wall per sample measured; "
            f"{timings[high][0]:.0f} s wall at {high})",
        )
    ]
    print(rows[-1], flush=True)
    floor = floor_rows()  # what the same sample's kernels alone cost, against the target
    print(floor, flush=True)
    rows += floor
    if not dask:
        return rows
    walls = {}
    for workers in (1, 2):
        address, procs = start_cluster(workers)
        try:
            dask_outs = {count: fresh(f"{study.stem}-dask{workers}-{count}") for count in outs}
            for count in (low, high):
                walls[workers, count] = run(
                    study, dask_outs[count], count, ["--scheduler", address]
                )
        finally:
            peaks = stop_cluster(procs)
        same = all(
            (outs[count] / f).read_bytes() == (dask_outs[count] / f).read_bytes()
            for count in outs
            for f in sorted(p.name for p in outs[count].glob("*.csv"))
        )
        rows.append(
            (
                f"spearman bootstrap ({low} and {high} samples), {shape}, Dask: {workers} "
                "worker(s) × 1 thread",
                f"{walls[workers, low][0]:.0f} and {walls[workers, high][0]:.0f} s wall",
                f"peak client {walls[workers, high][1]:.1f} GB, workers "
                + ", ".join(f"{p:.1f}" for p in peaks[1:])
                + " GB",
                f"tables byte-identical to the local runs: {same}",
            )
        )
        print(rows[-1], flush=True)
    rows += [
        (
            f"speed-up of the spearman bootstrap, 2 workers against 1, {count} samples",
            f"{walls[1, count][0] / walls[2, count][0]:.2f}×",
            "",
            "whole runs (start-up, the data as they are: a few samples' work in a few tasks, "
            f"the samples); same machine, load average at the end {os.getloadavg()[0]:.1f}",
        )
        for count in (low, high)
    ]
    print(rows[-2:], flush=True)
    return rows + scaling_rows()  # the machine's own bound on any 2-worker speed-up


def bench_deposit(
    samples: tuple[int, int] = (64, 128),
    dask: bool = True,
    local: bool = True,
    rank_samples: tuple[int, int] = (2, 6),
    parts: tuple[str, ...] = ("point", "rank", "corr"),
    rank_subset: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
) -> list[tuple[str, str, str, str]]:
    """Rows (operation, time, memory, how) of the deposit benchmark."""
    ensure_deposit()
    atlases = tuple(ATLASES)
    low, high = samples
    csi_subjects = ("CSI1", "CSI2", "CSI3")
    csi = deposit_study("CSI1-3", csi_subjects, atlases, group_means=False)
    if not local:
        return bench_dask(csi, high)
    rows = []
    if "point" in parts:
        cosine = deposit_study("CSI1-3-cosine", csi_subjects, atlases, False, method="cosine")
        rows += point_rows({"corr": csi, "cosine": cosine})
    if "rank" in parts:
        rank_atlases, rank_networks = rank_subset or (atlases, tuple(NETWORK_FILES))
        name = "CSI1-3-spearman" + ("" if rank_subset is None else "-subset")
        spearman = deposit_study(
            name, csi_subjects, rank_atlases, False, "spearman", networks=rank_networks
        )
        rows += rank_rows(spearman, rank_samples, dask=dask)
    if "corr" not in parts:
        return rows
    whole = deposit_study("whole", ("CSI1", "CSI2", "CSI3", "CSI4"), atlases, group_means=True)
    seconds, peak, cpu = run(whole, BENCH_DIR / "deposit-results" / "whole", 0, ["--force"])
    rows.append(
        (
            "point estimates, whole deposit (CSI1-4 × 3 atlases + MEAN files × 4 networks; "
            "common images: 2952)",
            f"{seconds:.0f} s wall, {cpu:.0f} s CPU",
            f"peak {peak:.1f} GB",
            "measured",
        )
    )
    print(rows[-1], flush=True)
    out = BENCH_DIR / "deposit-results" / "CSI1-3"
    seconds, peak, cpu = run(csi, out, 0, ["--force"])
    rows.append(
        (
            "point estimates, CSI1-3 × 3 atlases × 4 networks, 4916 images",
            f"{seconds:.0f} s wall, {cpu:.0f} s CPU",
            f"peak {peak:.1f} GB",
            "measured",
        )
    )
    print(rows[-1], flush=True)
    timings = {count: run(csi, out, count) for count in (low, high)}  # the point stage is reused
    # Extra samples cost CPU time in the strip tasks, which run on every core: the wall time of
    # 1000 samples is the run at `low` plus the extra samples' CPU time over the cores. (The
    # difference of CPU times is robust when other work shares the machine; wall time is not.)
    cpu_per_sample = (timings[high][2] - timings[low][2]) / (high - low)
    cores = len(os.sched_getaffinity(0))
    estimate = timings[low][0] + (FULL_SAMPLES - low) * cpu_per_sample / cores
    rows.append(
        (
            "corr dual bootstrap + ceilings, float32, CSI1-3 "
            f"× 3 atlases × 4 networks, {FULL_SAMPLES} samples",
            f"{estimate / 60:.0f} min",
            f"peak {max(timings[low][1], timings[high][1]):.1f} GB",
            f"extrapolated: {timings[low][0]:.0f} s wall at {low} samples + {cpu_per_sample:.1f} "
            f"CPU s per further sample over {cores} cores "
            f"({timings[high][0]:.0f} s wall at {high})",
        )
    )
    print(rows[-1], flush=True)
    if dask:
        rows += bench_dask(csi, high)
    return rows


def bench_dask(study: Path, high: int) -> list[tuple[str, str, str, str]]:
    """The CSI1-3 run at `high` samples on a local Dask cluster, against the local run's tables."""
    address, procs = start_cluster(2)
    try:
        out = BENCH_DIR / "deposit-results" / "CSI1-3-dask"
        point = run(study, out, 0, ["--force", "--scheduler", address])
        seconds, peak, _ = run(study, out, high, ["--scheduler", address])
    finally:
        peaks = stop_cluster(procs)
    local = BENCH_DIR / "deposit-results" / "CSI1-3"
    names = sorted(p.name for p in local.glob("*.csv"))
    same = bool(names) and all((local / f).read_bytes() == (out / f).read_bytes() for f in names)
    workers = ", ".join(f"{p:.1f}" for p in peaks[1:])
    rows = [
        (
            "point estimates, CSI1-3, Dask: scheduler + 2 workers × 1 thread on 127.0.0.1",
            f"{point[0]:.0f} s wall",
            f"peak client {point[1]:.1f} GB",
            "measured",
        ),
        (
            f"bootstrap ({high} samples), CSI1-3, same cluster",
            f"{seconds:.0f} s wall",
            f"peak client {peak:.1f} GB, workers {workers} GB (whole cluster life)",
            f"tables byte-identical to the local run: {same}",
        ),
    ]
    for row in rows:
        print(row, flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench deposit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--samples",
        default="64,128",
        help="two sample counts to extrapolate from; below ~64 the products are memory-bound "
        "and the slope underestimates the cost of 1000 samples",
    )
    parser.add_argument(
        "--rank-samples",
        default="2,6",
        help="two sample counts for the spearman bootstrap (about a minute of CPU a sample)",
    )
    parser.add_argument(
        "--rank-subset",
        default=None,
        metavar="ATLASES:NETWORKS",
        help="the spearman rows on a part of CSI1-3, e.g. BOLD5000:AlexNet (default: all)",
    )
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument(
        "--dask-only", action="store_true", help="only the corr Dask run (after a local run)"
    )
    parser.add_argument("--rank-only", action="store_true", help="only the spearman rows")
    parser.add_argument("--point-only", action="store_true", help="only the point rows")
    args = parser.parse_args(argv)
    low, high = (int(v) for v in args.samples.split(","))
    rank_low, rank_high = (int(v) for v in args.rank_samples.split(","))
    parts = ("rank",) if args.rank_only else ("point",) if args.point_only else None
    rows = bench_deposit(
        (low, high),
        dask=not args.no_dask,
        local=not args.dask_only,
        rank_samples=(rank_low, rank_high),
        parts=parts or ("point", "rank", "corr"),
        rank_subset=None
        if args.rank_subset is None
        else tuple(tuple(part.split(",")) for part in args.rank_subset.split(":")),
    )
    print(f"\n{os.cpu_count()} cores.\n")
    print_table(rows, header=DEPOSIT_HEADER)


if __name__ == "__main__":
    main()
