"""The load generator the serving benchmarks drive: wrk on loopback, bounded in time, and what it printed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def run_wrk(url: str, seconds: float, connections: int, script: Path | None = None) -> str:
    """Run wrk on loopback for `seconds` (it stops by itself) and return what it printed."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "5s"]
    if script:
        command += ["-s", str(script)]
    return subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60).stdout


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, request count, socket errors, non-2xx answers and latency percentiles (ms) from wrk's output."""
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()  # type: ignore[union-attr]
        return float(value) * units[unit]

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def measure_with_wrk(url: str, seconds: float, connections: int, script: Path | None = None) -> dict[str, float]:
    return parse_wrk(run_wrk(url, seconds, connections, script))
