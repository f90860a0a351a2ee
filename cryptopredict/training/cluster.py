"""Where training's fan-out runs: in this process, in a local process pool, or on a Dask cluster.

Two places fan out: the pairs (`pipeline.fit_all`) and one pair's backtest refits (`backtest.run_origins`). A local
pool cannot nest (its processes are daemons), so locally several pairs run in parallel with their refits one by one,
or a single refitted pair spreads its refits. On a Dask cluster both fan out: each pair is a task, and from its worker
it submits its refits as tasks of their own (`worker_client`: the pair task gives up its thread while it waits), so
every pair's refits spread over every worker. The results are the same wherever they run: every task is a pure
function of its arguments, and results come back in the order of the inputs.

A worker that dies mid-run is replaced by its nanny, and the scheduler runs its tasks again on a live worker (up to
the scheduler's `distributed.scheduler.allowed-failures`, 3 by default). Past that, or when the scheduler cannot be
reached (within `distributed.comm.timeouts.connect`, 30 s by default), the run fails with a ClusterError: nothing is
published and the model being served stays as it was.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptopredict.core.settings import DEFAULT_WORKERS

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"  # the variable Dask's own tools read, so one setting serves both
IN_TASK = "the cluster running this task"  # Fanout.scheduler for a fan-out started inside a Dask task
T = TypeVar("T")
R = TypeVar("R")


class ClusterError(RuntimeError):
    """The Dask cluster could not be reached, or lost a task more often than it may."""


@dataclass(frozen=True)
class Fanout:
    """Where a fan-out runs: `workers` local processes, or the Dask scheduler at `scheduler` (then `workers` is unused:
    the cluster has the workers it has)."""

    workers: int = DEFAULT_WORKERS
    scheduler: str | None = None

    @property
    def is_local(self) -> bool:
        return self.scheduler is None

    def map(self, fn: Callable[[T], R], items: Sequence[T], label: str, chunksize: int = 1) -> list[R]:
        """`fn` of every item, in order. `label` names the tasks on a cluster (`refit`, `pair`), for its task stream."""
        if not items:
            return []
        if self.scheduler is not None:
            return map_on_cluster(self.scheduler, fn, items, label)
        if self.workers == 1 or len(items) == 1:
            return [fn(item) for item in items]
        with ProcessPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(fn, items, chunksize=chunksize))


def find_fanout(workers: int) -> Fanout:
    """How a fan-out started here runs: on the cluster when this code runs in a Dask task (its worker cannot start a
    process pool, and the cluster has room), else with `workers` local processes."""
    return Fanout(workers, scheduler=IN_TASK) if in_dask_task() else Fanout(workers)


def in_dask_task() -> bool:
    """Whether this code runs inside a task on a Dask worker."""
    if "distributed" not in sys.modules:  # never imported: not a worker (and importing it costs half a second)
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def map_on_cluster(address: str, fn: Callable[[T], R], items: Sequence[T], label: str) -> list[R]:
    """Run `fn` over `items` as Dask tasks: from the driver through a client of the scheduler at `address`; from
    inside a task (`address` is IN_TASK) through its worker's client, the task seceding from the worker's threads
    while it waits."""
    from distributed import Client, KilledWorker, get_worker, worker_client
    from distributed.comm.core import CommClosedError

    token = uuid.uuid4().hex[:8]
    try:
        if address == IN_TASK:
            parent = get_worker().get_current_task()
            with worker_client() as client:
                keys = [f"{label}-{i}-{token}@{parent}" for i in range(len(items))]
                return _submit_and_gather(client, fn, items, keys)
        try:
            client = Client(address, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        with client:
            return _submit_and_gather(client, fn, items, [f"{label}-{i}-{token}" for i in range(len(items))])
    except KilledWorker as exc:
        last = getattr(exc.last_worker, "address", exc.last_worker)
        raise ClusterError(
            f"the Dask workers running task {exc.task} died {exc.allowed_failures + 1} times (the last was {last}); "
            "the scheduler gives up on it after that"
        ) from None
    except (CancelledError, CommClosedError) as exc:
        raise ClusterError(f"the Dask cluster failed mid-run: {type(exc).__name__}: {exc}") from None


def _submit_and_gather(client: Any, fn: Callable[[T], R], items: Sequence[T], keys: list[str]) -> list[R]:
    # pure=False: a retried run must compute again, never reuse a result the scheduler still holds under a hash.
    futures = client.map(fn, list(items), key=keys, pure=False)
    return list(client.gather(futures))
