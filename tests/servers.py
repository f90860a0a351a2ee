"""Starting the real server (api.py under Waitress) on a free loopback port, for the tests that need one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tests.fakes.loopback import free_port

ROOT = Path(__file__).resolve().parent.parent


def get(url: str) -> tuple[int, dict[str, object], dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error), dict(error.headers)


def wait_until_up(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.communicate()}")
        try:
            get(f"{base}/health")
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not come up")


def start(
    command: list[str],
    model_dir: Path,
    port: int,
    stdout: IO[str] | int = subprocess.DEVNULL,
    **env: str,
) -> subprocess.Popen[str]:
    """Start a server process. Its stdout (one access-log line per request) goes to `stdout`, never to an unread
    pipe, which would fill up and stall the server under load; stderr is kept for the tests to read."""
    environ = {**os.environ, "MODEL_DIR": str(model_dir), "PORT": str(port), "HOST": "127.0.0.1", "THREADS": "4"}
    return subprocess.Popen(command, cwd=ROOT, env={**environ, **env}, stdout=stdout, stderr=subprocess.PIPE, text=True)


@contextmanager
def running_api(model_dir: Path, stdout: IO[str] | int = subprocess.DEVNULL, **env: str) -> Iterator[str]:
    """`python api.py` on a free port; yields its base URL and stops it with SIGTERM, which must exit 0."""
    port = free_port()
    process = start([sys.executable, "api.py"], model_dir, port, stdout, **env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
