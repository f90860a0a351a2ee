"""A workflow run as the release rehearsal plays it, the clock both rehearsals' runs keep, and the small calls
they check with: git, a JSON read, a wait."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIRST_RUN = dt.datetime(2025, 10, 1, 6, 17, 42, tzinfo=dt.UTC)  # inside the hourly bars, at a run's usual minute
SIX_HOURS = dt.timedelta(hours=6)


@dataclass
class Run:
    """One workflow run as the rehearsal played it."""

    name: str
    failed_step: str | None = None
    message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return self.outputs.get("image", "").rpartition("@")[2]

    @property
    def pairs(self) -> list[str]:
        """The pairs its model serves."""
        return sorted(self.manifest.get("pairs", {}))


def read_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT's `key=value` lines and `key<<EOF` heredocs."""
    values: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    while lines:
        line = lines.pop(0)
        if "<<" in line and "=" not in line.split("<<")[0]:
            key, marker = line.split("<<", 1)
            body = []
            while lines and lines[0] != marker:
                body.append(lines.pop(0))
            lines.pop(0)
            values[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


class StepFailed(Exception):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step, self.message = step, message


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def http_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read() or b"{}")
    except (OSError, ValueError):
        return None


def wait_for(ready: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {seconds:.0f} s")
        time.sleep(0.3)
