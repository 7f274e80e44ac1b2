"""Where block-parallel work runs: threads of this process, or tasks on a Dask cluster.

Both executors yield results in the order of the items, so a caller that adds them up in that
order gets the same bytes whichever one ran the work: every task runs with single-threaded
BLAS, and a task's result does not depend on where it ran. Dask reruns the tasks of a worker
that dies, so a lost worker costs time, not results.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from threadpoolctl import threadpool_limits

from .errors import AnalysisError
from .runtime import worker_count

CONNECT_SECONDS = 30
_BLAS_LIMIT: list = []


class Executor(Protocol):
    """Maps a picklable function over items; results come back in item order."""

    @property
    def slots(self) -> int: ...

    @property
    def process_threads(self) -> int: ...

    def map(
        self, function: Callable[..., Any], items: Sequence[Any], **shared: Any
    ) -> Iterator[Any]: ...

    def release(self, function: Callable[[], Any]) -> None: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Tasks on threads of this process (numpy releases the GIL in the heavy parts)."""

    def __init__(self, threads: int | None = None):
        self.threads = threads or worker_count()

    @property
    def slots(self) -> int:
        """How many tasks run at once."""
        return self.threads

    @property
    def process_threads(self) -> int:
        """How many tasks share one process's memory at once."""
        return self.threads

    def map(
        self, function: Callable[..., Any], items: Sequence[Any], **shared: Any
    ) -> Iterator[Any]:
        """function(item, **shared) for every item, in item order."""
        # threadpoolctl's limit is process-wide: set once here, not per task (that would race).
        with (
            threadpool_limits(limits=1, user_api="blas"),
            ThreadPoolExecutor(max_workers=self.threads) as pool,
        ):
            yield from pool.map(lambda item: function(item, **shared), items)

    def release(self, function: Callable[[], Any]) -> None:
        """Run a clean-up function (e.g. dropping cached arrays) where tasks ran: here."""
        function()

    def close(self) -> None:
        """Nothing to release."""


def _one_blas_thread(function: Callable[..., Any], item: Any, **shared: Any) -> Any:
    """Run a task on a Dask worker with one BLAS thread, set once per worker process and kept."""
    if not _BLAS_LIMIT:
        _BLAS_LIMIT.append(threadpool_limits(limits=1, user_api="blas"))
    return function(item, **shared)


class DaskExecutor:
    """Tasks on a dask.distributed cluster; `shared` arguments go to every worker once."""

    def __init__(self, address: str, timeout: float = CONNECT_SECONDS):
        try:
            from distributed import Client
        except ImportError:
            raise AnalysisError(
                "--scheduler", "needs dask.distributed: pip install 'dask[distributed]'"
            ) from None
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            raise AnalysisError(
                "--scheduler", f"cannot reach a Dask scheduler at {address} ({err})"
            ) from None
        self.address = address

    @property
    def slots(self) -> int:
        """How many tasks run at once: the cluster's worker threads now."""
        workers = self.client.scheduler_info().get("workers", {})
        return max(1, sum(w.get("nthreads", 1) for w in workers.values()))

    @property
    def process_threads(self) -> int:
        """How many tasks share one worker's memory at once (the most threads of any worker)."""
        workers = self.client.scheduler_info().get("workers", {})
        return max([1, *(w.get("nthreads", 1) for w in workers.values())])

    def map(
        self, function: Callable[..., Any], items: Sequence[Any], **shared: Any
    ) -> Iterator[Any]:
        """function(item, **shared) for every item as Dask tasks, results in item order."""
        scattered = {
            k: self.client.scatter([v], broadcast=True, hash=False)[0] for k, v in shared.items()
        }
        futures = self.client.map(
            _one_blas_thread, [function] * len(items), list(items), pure=False, **scattered
        )
        try:
            for future in futures:
                yield future.result()
                future.release()
        finally:
            self.client.cancel(futures)
            self.client.cancel(list(scattered.values()))

    def release(self, function: Callable[[], Any]) -> None:
        """Run a clean-up function (e.g. dropping cached arrays) on every worker."""
        self.client.run(function)

    def close(self) -> None:
        """Disconnect from the scheduler (the cluster keeps running)."""
        self.client.close()


def make_executor(scheduler: str | None) -> LocalExecutor | DaskExecutor:
    """A Dask executor when a scheduler address is given, else threads in this process."""
    return DaskExecutor(scheduler) if scheduler else LocalExecutor()


class RunProgress:
    """One progress bar for a whole run (tqdm, on terminals only), with the time left.

    A run announces its phases with their estimated costs up front; each phase then reports the
    fraction of itself that is done, so the bar moves in proportion to the expected time and
    tqdm's estimate of the time left covers the whole run.
    """

    def __init__(self, costs: dict[str, float], enabled: bool = True):
        self.costs = {phase: max(cost, 1e-9) for phase, cost in costs.items()}
        total = sum(self.costs.values())
        self.bar = None
        if enabled and total > 0:
            from tqdm import tqdm

            self.bar = tqdm(
                total=1000,
                desc="analysis",
                unit="‰",
                leave=False,
                disable=None,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} elapsed, {remaining} left",
            )
        self.total = total
        self.done = 0.0
        self.shown = 0

    def advance(self, phase: str, fraction: float) -> None:
        """Record that `fraction` of `phase` has just been done."""
        self.done += fraction * self.costs.get(phase, 0.0)
        if self.bar is not None:
            target = min(1000, int(1000 * self.done / self.total))
            if target > self.shown:
                self.bar.update(target - self.shown)
                self.shown = target

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class RunContext:
    """How the current run does its heavy work: the executor and the run's progress bar."""

    executor: Executor
    progress: RunProgress | None = None

    def advance(self, phase: str) -> Callable[[float], None]:
        """A callback that reports progress within `phase`."""
        return lambda fraction: self.progress.advance(phase, fraction) if self.progress else None


_CONTEXT: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "run_context", default=None
)


@contextlib.contextmanager
def running(context: RunContext) -> Iterator[RunContext]:
    """Within this block, heavy work goes to `context.executor` and reports to its progress bar."""
    token = _CONTEXT.set(context)
    try:
        yield context
    finally:
        _CONTEXT.reset(token)


def current() -> RunContext:
    """The active run context (threads of this process, no bar, outside `running`)."""
    return _CONTEXT.get() or RunContext(LocalExecutor())
