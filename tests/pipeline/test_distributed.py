"""A Dask cluster on the loopback address gives the
same bytes as a local run, even when a worker dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from analysis.demo import write_demo  # noqa: E402
from analysis.deposit_demo import write_deposit_demo  # noqa: E402
from analysis.errors import AnalysisError  # noqa: E402
from analysis.executor import DaskExecutor, LocalExecutor  # noqa: E402
from analysis.inference import strips  # noqa: E402
from analysis.pipeline.run import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60


def _dask(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("dask")), *args]


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture()
def cluster(tmp_path: Path):
    """A scheduler and two one-thread worker processes, all on 127.0.0.1; stopped afterwards."""
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    quiet = {
        "env": env,
        "cwd": tmp_path,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
    }
    procs = [
        subprocess.Popen(
            _dask(
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ),
            **quiet,
        )
    ]
    try:
        deadline = time.time() + START_SECONDS
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert scheduler_file.exists(), "the Dask scheduler did not start"
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    _dask(
                        "worker",
                        "--scheduler-file",
                        str(scheduler_file),
                        "--host",
                        "127.0.0.1",
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--name",
                        f"test-worker-{i}",
                    ),
                    **quiet,
                )
            )
        with distributed.Client(
            scheduler_file=str(scheduler_file), timeout=START_SECONDS
        ) as client:
            client.wait_for_workers(2, timeout=START_SECONDS)
            address = client.scheduler.address
        assert address.startswith("tcp://127.0.0.1:")
        yield address, procs
    finally:
        _stop(procs)


def _local_and_remote(study: Path, tmp_path: Path, address: str, samples: int, seed: int):
    """The same run locally and on the cluster (its aligned RDMs in tmp_path/store)."""
    local = run(study, tmp_path / "local" / "out", samples=samples, seed=seed, progress=False)
    remote = run(
        study,
        tmp_path / "remote" / "out",
        samples=samples,
        seed=seed,
        scheduler=address,
        store=tmp_path / "store",
        progress=False,
    )
    return local, remote


@pytest.mark.parametrize("shape", ["resnet", "deposit"])
def test_run_on_a_cluster_gives_the_same_bytes_as_a_local_run(
    tmp_path: Path, cluster, shape: str
) -> None:
    address, _ = cluster
    study = (
        write_demo(tmp_path / "study", n_images=60, seed=3)
        if shape == "resnet"
        else write_deposit_demo(tmp_path / "study", n_images=60, seed=3)
    )  # atlases, group means, CSI4
    local, remote = _local_and_remote(study, tmp_path, address, 40, 1)
    assert any((tmp_path / "store").iterdir()), "with a scheduler the aligned RDMs go to the store"
    tables = sorted(p.name for p in local.out.glob("*.csv"))
    assert "inference.csv" in tables
    for name in tables:
        assert (local.out / name).read_bytes() == (remote.out / name).read_bytes(), name


def test_whitened_bootstrap_on_a_cluster_from_the_store_gives_the_same_bytes(
    tmp_path: Path, cluster
) -> None:
    """corr_cov's G·c tasks read stored rows on the
    workers; the tables are the local run's bytes."""
    import yaml

    address, _ = cluster
    study = write_demo(tmp_path / "study", n_images=60, seed=5)
    fields = yaml.safe_load(study.read_text())
    study.write_text(yaml.safe_dump({**fields, "method": "corr_cov"}, sort_keys=False))
    local, remote = _local_and_remote(study, tmp_path, address, 30, 2)
    assert "corr_cov" in (local.out / "inference.csv").read_text()
    for name in sorted(p.name for p in local.out.glob("*.csv")):
        assert (local.out / name).read_bytes() == (remote.out / name).read_bytes(), name


def test_a_worker_killed_mid_run_costs_time_not_results(cluster) -> None:
    address, procs = cluster
    rng = np.random.default_rng(0)
    n, rows = 240, 6
    vectors = [rng.random(n * (n - 1) // 2) for _ in range(rows)]
    left, right = rng.integers(0, rows + 1, 60), rng.integers(0, rows + 1, 60)
    counts = rng.multinomial(n, np.full(n, 1 / n), size=60)
    expected = strips.pair_sums(vectors, left, right, counts, block=16, executor=LocalExecutor())
    victim = procs[1]

    def kill_after_first_result(_fraction: float) -> None:
        if victim.poll() is None:
            victim.kill()
            victim.wait(timeout=10)

    executor = DaskExecutor(address)
    try:
        got = strips.pair_sums(
            vectors,
            left,
            right,
            counts,
            block=16,
            executor=executor,
            advance=kill_after_first_result,
        )
    finally:
        executor.close()
    assert victim.poll() is not None, "the worker was killed during the run"
    assert np.array_equal(got, expected)


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path: Path) -> None:
    from analysis.errors import AnalysisError

    with pytest.raises(AnalysisError, match="cannot reach a Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", timeout=2)


@pytest.mark.parametrize(
    ("method", "shape"), [("spearman", "resnet"), ("rho-a", "resnet"), ("spearman", "deposit")]
)
def test_rank_bootstrap_on_a_cluster_gives_the_same_bytes(
    tmp_path: Path, cluster, method: str, shape: str
) -> None:
    """Blocks of samples run as tasks on the workers, the sorted RDMs shared through the store;
    with several networks (deposit shape) the cross-validated comparison's fold ranks come from
    the same tasks' walks."""
    import yaml

    address, _ = cluster
    study = (
        write_demo(tmp_path / "study", n_images=50, seed=4)
        if shape == "resnet"
        else write_deposit_demo(tmp_path / "study", n_images=50, seed=4)
    )
    fields = yaml.safe_load(study.read_text())
    study.write_text(yaml.safe_dump({**fields, "method": method}, sort_keys=False))
    local, remote = _local_and_remote(study, tmp_path, address, 24, 3)
    assert method in (local.out / "inference.csv").read_text()
    tables = sorted(p.name for p in local.out.glob("*.csv"))
    assert "noise_ceiling.csv" in tables
    if shape == "deposit":
        assert "network_comparison.csv" in tables
    for name in tables:
        assert (local.out / name).read_bytes() == (remote.out / name).read_bytes(), name
    if shape == "resnet":
        sorted_orders = list((tmp_path / "store" / "rank-sorted").glob("*.npy"))
        assert len(sorted_orders) == 10 * 3 + 5, "each RDM's sort order is kept in the store once"


def test_a_worker_killed_mid_rank_bootstrap_costs_time_not_results(
    tmp_path: Path, cluster, monkeypatch
) -> None:
    from analysis.executor import RunContext, running
    from analysis.inference import rank_bootstrap as rb
    from analysis.inference.resampling import draw_resampling
    from analysis.reading.store import AlignedStore, storing
    from tests.helpers import random_study

    address, procs = cluster
    subjects, models = random_study(40, 3, 3, 2, seed=8)
    rows = [list(roi) for roi in subjects]
    resampling = draw_resampling(40, 3, 30, seed=5)
    args = (rows, list(models), resampling.image_counts, resampling.subject_counts, "spearman")
    expected = rb.rank_dual_bootstrap(*args)
    victim = procs[1]

    class KillOnFirstBlock:
        def update(self, _n: int) -> None:
            if victim.poll() is None:
                victim.kill()
                victim.wait(timeout=10)

        def close(self) -> None: ...

    monkeypatch.setattr(rb, "progress_bar", lambda *_a: KillOnFirstBlock())
    executor = DaskExecutor(address)
    try:
        with (
            storing(AlignedStore(tmp_path / "store", {})),
            running(RunContext(executor)),
        ):
            got = rb.rank_dual_bootstrap(*args)
    finally:
        executor.close()
    assert victim.poll() is not None, "the worker was killed during the run"
    for ours, theirs in zip(got, expected, strict=True):
        assert np.array_equal(ours, theirs)


def test_a_bad_rdm_in_a_rank_bootstrap_on_a_cluster_is_one_clear_error(
    tmp_path: Path, cluster
) -> None:
    """The values are checked in the sort tasks on the workers (not read first on the client):
    a constant RDM still reaches the client as the one AnalysisError."""
    from analysis.executor import RunContext, running
    from analysis.inference import rank_bootstrap as rb
    from analysis.inference.resampling import draw_resampling
    from tests.helpers import random_study

    address, _ = cluster
    subjects, models = random_study(20, 2, 3, 2, seed=8)
    models[1] = 0.5
    resampling = draw_resampling(20, 3, 8, seed=5)
    executor = DaskExecutor(address)
    try:
        with running(RunContext(executor)), pytest.raises(AnalysisError, match="constant"):
            rb.rank_dual_bootstrap(
                [list(roi) for roi in subjects],
                list(models),
                resampling.image_counts,
                resampling.subject_counts,
                "spearman",
            )
    finally:
        executor.close()
