"""What the benchmarks and rehearsals share to run: the input check, loopback ports, server processes, a model."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def require_file(path: Path, tool: str, what: str = "hourly BTC/USD bars") -> None:
    """Stop a benchmark or rehearsal whose input is missing: exit 2 with one line naming it, never a quiet pass."""
    if not Path(path).is_file():
        print(f"{tool}: missing input: {path} ({what}) not found", file=sys.stderr)
        raise SystemExit(2)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except OSError:
        return 0


def start_server(
    command: list[str], env: dict[str, str], probe: str, log: Path, timeout: float = 60
) -> tuple[subprocess.Popen[bytes], float]:
    """Start a server, its output going to `log` (never to an unread pipe, which blocks it when full),
    and return it with the seconds until `probe` first answered 200."""
    began = time.perf_counter()
    with open(log, "ab") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink)
    while time.perf_counter() - began < timeout:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        if status_of(probe) == 200:
            return process, time.perf_counter() - began
        time.sleep(0.005)
    process.kill()
    raise SystemExit(f"server did not answer {probe} within {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def prepare_model(model_dir: Path | None, work: Path, train_args: Sequence[str] = ()) -> Path:
    """A model in `work` to serve: a copy of `model_dir` (which is never changed), or one trained by train.py with
    `train_args` (by default on the embedded history)."""
    target = work / "model"
    if model_dir is None:
        subprocess.run([sys.executable, "train.py", "--model-dir", str(target), *train_args], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    else:
        shutil.copytree(model_dir, target)
    return target
