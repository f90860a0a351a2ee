"""Training on a Dask cluster: the same files as the local pool, a killed worker replaced, a lost cluster refused.

Every test starts a real `LocalCluster` on loopback (a scheduler in this process, worker processes beside it) and runs
train.py against it as a separate process, as the workflow would; the cluster is closed when the test ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest
from distributed import Client, LocalCluster

from cryptopredict.core.artifact import pair_files
from tests.fakes.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ("BTC/USD", "ETH/USD")
# The embedded daily history from 2024 with the small backtest plan: 36 refits a pair, a few seconds a run. --until
# fixes the bars; --refit-after-hours 0 refits even over a previous model.
RUN = ["--pairs", ",".join(PAIRS), "--start", "2024-01-01", "--horizon-days", "60", "--backtest-refits", "24",
       "--backtest-span-days", "120", "--until", "2024-11-04", "--refit-after-hours", "0"]  # fmt: skip
# What the card holds beyond timestamps: the backtest's scores, the gate's verdict, the model settings.
SCORED = ("backtest", "gate", "model", "rows", "first_bar", "fit_last_bar", "last_bar")

pytestmark = pytest.mark.slow


def run_train(model_dir: Path, *options: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "train.py", "--model-dir", str(model_dir), *RUN, *options]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)


def start_train(model_dir: Path, *options: str) -> subprocess.Popen[str]:
    command = [sys.executable, "train.py", "--model-dir", str(model_dir), *RUN, *options]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def published(model_dir: Path) -> dict[str, object]:
    """The artifact minus timestamps: every pair's three files, byte for byte, and its card's scores."""
    manifest = json.loads((model_dir / "manifest.json").read_text())
    result: dict[str, object] = {}
    for symbol in PAIRS:
        for name in pair_files(symbol).all():
            result[name] = (model_dir / name).read_bytes()
        result[symbol] = {field: manifest["pairs"][symbol][field] for field in SCORED}
    return result


def snapshot(model_dir: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(model_dir.iterdir())}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The reference: the same run on the local process pool."""
    model_dir = tmp_path_factory.mktemp("local") / "model"
    finished = run_train(model_dir, "--workers", "2")
    assert finished.returncode == 0, finished.stderr
    return published(model_dir)


def start_cluster(workers: int = 2) -> LocalCluster:
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # a free port: never one another process holds
    )


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    with start_cluster() as running:
        yield running


def kill_a_worker_running_a_refit(client: Client, train: subprocess.Popen[str]) -> int:
    """SIGKILL the process of a worker busy with a backtest refit while train.py waits on it; its PID."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and train.poll() is None:
        busy = [worker for worker, keys in client.processing().items() if any(k.startswith("refit-") for k in keys)]
        if busy:
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.02)
    raise AssertionError(f"no refit was seen running; train.py: {train.communicate()}")


def test_a_cluster_run_publishes_the_same_files_as_the_local_pool(
    cluster: LocalCluster, local_run: dict[str, object], tmp_path: Path
) -> None:
    with Client(cluster, set_as_default=False) as client:
        client.get_task_stream()  # starts the scheduler's record of tasks
        # The address from the environment, as a runner configured for a cluster would give it.
        finished = run_train(tmp_path / "model", DASK_SCHEDULER_ADDRESS=cluster.scheduler_address)
        assert finished.returncode == 0, finished.stderr
        tasks = client.get_task_stream()
    assert published(tmp_path / "model") == local_run
    # The fan-out ran there, both levels of it, on both workers: a task per pair, each pair's 36 refits as tasks.
    keys = [str(task["key"]) for task in tasks]
    assert sum(key.startswith("pair-") for key in keys) == len(PAIRS)
    assert sum(key.startswith("refit-") for key in keys) == 36 * len(PAIRS)
    assert {task["worker"] for task in tasks} == set(cluster.scheduler_info["workers"])


def test_a_worker_killed_mid_run_is_replaced_and_its_task_runs_again(
    cluster: LocalCluster, local_run: dict[str, object], tmp_path: Path
) -> None:
    with Client(cluster, set_as_default=False) as client:
        train = start_train(tmp_path / "model", "--scheduler", cluster.scheduler_address)
        killed = kill_a_worker_running_a_refit(client, train)
        _, err = train.communicate(timeout=600)
        assert train.returncode == 0, err
        client.wait_for_workers(2, timeout=60)  # the nanny started a new worker process in its place
        assert killed not in client.run(os.getpid).values()
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)
    assert published(tmp_path / "model") == local_run


def test_a_cluster_that_loses_a_task_fails_the_run_in_one_line_and_keeps_the_model(
    model_dir: Path,
) -> None:
    before = snapshot(model_dir)
    # The scheduler reads the setting when it starts: this cluster gives up on a task at its first lost worker.
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        start_cluster() as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        train = start_train(model_dir, "--scheduler", cluster.scheduler_address)
        kill_a_worker_running_a_refit(client, train)
        out, err = train.communicate(timeout=600)
    assert train.returncode == 1, (out, err)
    lines = [line for line in err.splitlines() if line.startswith("train:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("train: the Dask workers running task ")
    assert lines[0].endswith("; the current model is unchanged")
    assert snapshot(model_dir) == before


def test_an_unreachable_scheduler_fails_the_run_in_one_line_and_keeps_the_model(model_dir: Path) -> None:
    before = snapshot(model_dir)
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    finished = run_train(model_dir, "--scheduler", address, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")
    assert finished.returncode == 1
    assert finished.stderr.startswith(f"train: cannot reach the Dask scheduler at {address}: ")
    assert finished.stderr.rstrip().endswith("; the current model is unchanged")
    assert len(finished.stderr.strip().splitlines()) == 1, finished.stderr
    assert snapshot(model_dir) == before
