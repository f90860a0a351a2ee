"""Training fan-out benchmark: ten hourly pairs serially, on the local pool, and on Dask with one and two workers.

Usage: python -m benchmarks.scale [--pairs 10] [--until 2025-10-01T00:00:00Z]
                                     [--data data/btc-usd-1h.csv.gz] [--json bench-scale.json]

train.py runs as the workflow runs it (`--source alpaca --bar-store FILE --until INSTANT`, hourly bars, the default
backtest plan) against a fake Alpaca market-data server on 127.0.0.1, every pair refitted (a fresh model folder each
run; the bar store is filled once beforehand, so the runs time training, not fetching). Four runs:
  serial     --workers 1: one process, every refit one after another;
  local      --workers 2: the local process pool (pairs in parallel, each pair's backtest in its process);
  dask-1     --scheduler: a LocalCluster on loopback, one worker process with one thread;
  dask-2     the same with two workers.
It prints the speedups as ratios (target: two workers at least 1.7 times one), checks that every run published the
same forecasts byte for byte, and models how the wall time grows with N workers from what the one-worker run
measured (the scheduler's task stream): the work W (every task's compute time, a pair task's own part without the
time it waited for its refits), the critical path (the longest pair: its own part plus its longest refit), the
scheduler's cost per task (timed on no-op tasks) and the fixed cost outside the fan-out (start, imports, bars,
publishing). T(N) = fixed + max(W / N, critical path) + tasks x cost per task.

Every pair is served the hourly BTC/USD bars in data/, scaled to another price level and relabelled (a refit costs
the same whatever the series). A benchmark, not a test: it exits 0 whatever the ratios; without its input it exits
2. Everything it starts (the fake Alpaca, the clusters and their worker processes, train.py) is stopped before it
exits; each train.py run is bounded by --timeout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT, require_file
from benchmarks.market import TRAIN_START, alpaca_env, serve_scaled_bars
from cryptopredict.core.artifact import pair_files
from cryptopredict.core.dates import format_utc, parse_utc
from cryptopredict.core.timeframe import HOUR
from cryptopredict.training.bars import HOURLY_BTC_USD, AlpacaOptions
from cryptopredict.training.barstore import sync_bars
from tests.fakes.alpaca import FakeAlpaca

# Ten pairs Alpaca lists, each a copy of the BTC/USD series scaled to a price level roughly its own.
SCALES = {
    "BTC/USD": 1.0,
    "ETH/USD": 0.04,
    "SOL/USD": 0.002,
    "LTC/USD": 0.001,
    "LINK/USD": 0.0002,
    "AVAX/USD": 0.0003,
    "DOGE/USD": 0.000002,
    "DOT/USD": 0.0001,
    "UNI/USD": 0.00009,
    "AAVE/USD": 0.003,
}
DEFAULT_UNTIL = "2025-10-01T00:00:00Z"
TARGET_TWO_WORKERS = 1.7
MODEL_WORKERS = (1, 2, 4, 8, 16)
NOOP_TASKS = 500


@dataclass
class Run:
    """One train.py run and what it did."""

    name: str
    seconds: float
    exit_code: int
    digest: str  # sha256 of every pair's forecast, Prophet and band files: equal digests, equal forecasts
    tasks: list[dict[str, Any]] = field(default_factory=list)  # the Dask task stream: key, worker, start, stop
    output: str = ""


def noop(value: int) -> int:
    """A task that does nothing: what the scheduler costs per task."""
    return value


def digest_of(model_dir: Path, pairs: list[str]) -> str:
    hashed = hashlib.sha256()
    for symbol in pairs:
        for name in pair_files(symbol).all():
            path = model_dir / name
            hashed.update(path.read_bytes() if path.is_file() else b"missing")
    return hashed.hexdigest()


def run_train(name: str, folder: Path, pairs: list[str], store: Path, fake: FakeAlpaca, until: str,
              timeout: float, *options: str) -> Run:  # fmt: skip
    """train.py as the workflow runs it, into a fresh model folder, timed from process start to exit."""
    model_dir = folder / name / "model"
    env = alpaca_env(fake)
    env.pop("DASK_SCHEDULER_ADDRESS", None)  # each run says where it runs
    command = [sys.executable, "train.py", "--source", "alpaca", "--pairs", ",".join(pairs), "--bar-store", str(store),
               "--model-dir", str(model_dir), "--until", until, *options]  # fmt: skip
    began = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - began
    output = finished.stdout + finished.stderr
    return Run(name, seconds, finished.returncode, digest_of(model_dir, pairs), output=output)


def run_on_cluster(workers: int, *args: Any) -> tuple[Run, float]:
    """A run on a fresh LocalCluster of `workers` single-threaded worker processes on loopback, with its task stream;
    and the scheduler's cost per task, timed on no-op tasks."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # a free port: never one another process holds
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        client.get_task_stream()  # starts the scheduler's record of tasks
        run = run_train(f"dask-{workers}", *args, "--scheduler", cluster.scheduler_address)
        run.tasks = [
            {"key": str(task["key"]), "worker": task["worker"], "start": span["start"], "stop": span["stop"]}
            for task in client.get_task_stream()
            for span in task["startstops"]
            if span["action"] == "compute"
        ]
        began = time.perf_counter()
        client.gather(client.map(noop, range(NOOP_TASKS), pure=False))
        per_task = (time.perf_counter() - began) / NOOP_TASKS
    return run, per_task


def model_scaling(run: Run, per_task: float) -> dict[str, Any]:
    """Work, critical path and fixed cost from a one-worker run's task stream, and the wall time they predict."""
    pairs = {t["key"]: t for t in run.tasks if t["key"].startswith("pair-")}
    refits: dict[str, list[dict[str, Any]]] = {key: [] for key in pairs}
    for task in run.tasks:
        if task["key"].startswith("refit-"):
            refits[task["key"].partition("@")[2]].append(task)
    own: dict[str, float] = {}
    for key, pair in pairs.items():
        # The pair task waited (seceded) from before its first refit started until after its last one ended.
        waited = max(t["stop"] for t in refits[key]) - min(t["start"] for t in refits[key]) if refits[key] else 0.0
        own[key] = pair["stop"] - pair["start"] - waited
    refit_seconds = [t["stop"] - t["start"] for ts in refits.values() for t in ts]
    work = sum(refit_seconds) + sum(own.values())
    critical = max(own[key] + max((t["stop"] - t["start"] for t in refits[key]), default=0.0) for key in pairs)
    span = max(t["stop"] for t in run.tasks) - min(t["start"] for t in run.tasks)
    fixed = run.seconds - span
    tasks = len(run.tasks)

    def predict(workers: int) -> float:
        return fixed + max(work / workers, critical) + tasks * per_task

    return {
        "tasks": tasks,
        "refits": len(refit_seconds),
        "refit_seconds_median": sorted(refit_seconds)[len(refit_seconds) // 2],
        "refit_seconds_max": max(refit_seconds),
        "pair_own_seconds_max": max(own.values()),
        "work_seconds": work,
        "critical_path_seconds": critical,
        "fixed_seconds": fixed,
        "scheduler_seconds_per_task": per_task,
        "predicted": {str(n): predict(n) for n in MODEL_WORKERS},
    }


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10, choices=range(1, len(SCALES) + 1), help="how many (10)")
    parser.add_argument("--until", default=DEFAULT_UNTIL, metavar="INSTANT", help=f"runs' instant ({DEFAULT_UNTIL})")
    parser.add_argument("--data", type=Path, default=HOURLY_BTC_USD, metavar="CSV", help="hourly BTC/USD bars to serve")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one train.py run may take (1800)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args()


def run_all(pairs: list[str], fake: FakeAlpaca, until: str, timeout: float) -> tuple[list[Run], dict[str, float]]:
    """The four runs on one bar store filled beforehand, and the scheduler's cost per task on each cluster."""
    runs: list[Run] = []
    per_task: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        store = folder / "bars.sqlite"
        options = AlpacaOptions(url_override=fake.url, retry_wait_seconds=0.1)
        for symbol in pairs:  # filled once: every run then asks only for the last few bars
            sync_bars(store, symbol, HOUR, TRAIN_START, parse_utc(until), options)
        shared = (folder, pairs, store, fake, until, timeout)
        runs.append(run_train("serial", *shared, "--workers", "1"))
        runs.append(run_train("local", *shared, "--workers", "2"))
        for workers in (1, 2):
            run, per_task[run.name] = run_on_cluster(workers, *shared)
            runs.append(run)
    return runs, per_task


def report_runs(runs: list[Run], reference: str, wall: dict[str, float]) -> dict[str, float]:
    """Each run's wall time and whether its forecasts are the serial run's (`reference`); the speedups, printed and
    returned."""
    print(f"{'run':<8} {'wall':>9}  exit  forecasts")
    for run in runs:
        same = "identical to serial" if run.digest == reference else "DIFFER from serial"
        print(f"{run.name:<8} {run.seconds:7.1f} s  {run.exit_code:>4}  {same}")
    ratios = {
        "local pool (2 processes) ÷ serial, speedup": wall["serial"] / wall["local"],
        "Dask, 1 worker ÷ serial, speedup (below 1: the cluster's overhead)": wall["serial"] / wall["dask-1"],
        "Dask, 2 workers ÷ 1 worker, speedup": wall["dask-1"] / wall["dask-2"],
        "Dask, 2 workers ÷ local pool, speedup": wall["local"] / wall["dask-2"],
    }
    for text, ratio in ratios.items():
        print(f"  {text}: {ratio:.2f}")
    two = ratios["Dask, 2 workers ÷ 1 worker, speedup"]
    verdict = "pass" if two >= TARGET_TWO_WORKERS else "FAIL"
    print(f"  two workers ÷ one: {two:.2f} (target ≥ {TARGET_TWO_WORKERS}): {verdict}")
    return ratios


def report_model(model: dict[str, Any], wall: dict[str, float]) -> None:
    """The scaling model's inputs, and the wall time it predicts for each number of workers against the measured."""
    print(
        f"From the one-worker run's task stream: {model['tasks']} tasks ({model['refits']} backtest refits, "
        f"median {model['refit_seconds_median']:.2f} s, longest {model['refit_seconds_max']:.2f} s; a pair task's "
        f"own part up to {model['pair_own_seconds_max']:.1f} s), work W = {model['work_seconds']:.0f} s, "
        f"critical path {model['critical_path_seconds']:.1f} s, fixed cost outside the fan-out "
        f"{model['fixed_seconds']:.1f} s, scheduler {1000 * model['scheduler_seconds_per_task']:.1f} ms a task"
    )
    print("workers  predicted wall  speedup over 1  measured")
    one = model["predicted"]["1"]
    for n in MODEL_WORKERS:
        predicted = model["predicted"][str(n)]
        measured = f"{wall[f'dask-{n}']:.1f} s" if f"dask-{n}" in wall else ""
        print(f"{n:>7}  {predicted:12.1f} s  {one / predicted:14.2f}  {measured:>8}")
    print(
        f"  past W / critical path = {model['work_seconds'] / model['critical_path_seconds']:.0f} workers the "
        "longest pair bounds the wall time: more workers only help with more pairs"
    )


def main() -> int:
    args = parse_arguments()
    require_file(args.data, "bench-scale")
    pairs = list(SCALES)[: args.pairs]
    until = format_utc(parse_utc(args.until))
    began = time.perf_counter()
    load = os.getloadavg()[0]
    fake = serve_scaled_bars(args.data, SCALES, pairs, until)
    try:
        runs, per_task = run_all(pairs, fake, until, args.timeout)
    finally:
        fake.close()
    by_name = {run.name: run for run in runs}
    failed = [run for run in runs if run.exit_code != 0]
    for run in failed:
        print(run.output[-3000:])
    print(
        f"{len(pairs)} hourly pairs ({', '.join(pairs)}), bars {TRAIN_START:%Y-%m-%d} to {until}, every pair refitted "
        f"(default hourly backtest plan); fake Alpaca on loopback; {os.cpu_count()} cores, load average {load:.1f} at "
        f"the start (other work on the machine makes wall times noisy)"
    )
    wall = {run.name: run.seconds for run in runs}
    ratios = report_runs(runs, by_name["serial"].digest, wall)
    model = model_scaling(by_name["dask-1"], per_task["dask-1"]) if not failed else None
    if model:
        report_model(model, wall)
    elapsed = time.perf_counter() - began
    print(f"bench-scale took {elapsed:.0f} s")
    if args.json:
        result = {
            "pairs": pairs,
            "until": until,
            "cores": os.cpu_count(),
            "load_average_at_start": load,
            "runs": [{k: v for k, v in asdict(run).items() if k not in ("output", "tasks")} for run in runs],
            "ratios": ratios,
            "target_two_workers": TARGET_TWO_WORKERS,
            "model": model,
            "seconds": elapsed,
        }
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
