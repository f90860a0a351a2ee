"""The command the project tells a user for current forecasts works as printed, from a clone of the project."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from cryptopredict.core.settings import LIVE_TRAINING_COMMAND
from tests.conftest import ROOT

# What a clone does not have: git's folder, the venv and whatever runs leave behind.
LEFT_BEHIND = shutil.ignore_patterns(".git", ".venv", "model", "model-*", ".model*", "__pycache__", "*_cache", "cache")


def closed_port() -> int:
    """A loopback port nobody listens on: the offline stand-in for Alpaca's endpoint."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_live_training_command_runs_from_a_clone_and_fails_only_on_the_network(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=LEFT_BEHIND)  # copies keep their times, so make sees the venv up to date
    # The venv `make serve` installed on the user's machine (`make` installs it first on a fresh clone).
    (clone / ".venv").symlink_to(ROOT / ".venv")
    port = closed_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ALPACA_", "PAIRS", "MODEL_DIR"))}
    env |= {"ALPACA_DATA_URL": f"http://127.0.0.1:{port}", "ALPACA_RETRY_WAIT_SECONDS": "0"}
    finished = subprocess.run(
        LIVE_TRAINING_COMMAND, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=300
    )
    assert finished.returncode != 0
    assert "ModuleNotFoundError" not in finished.stderr and "Traceback" not in finished.stderr, finished.stderr
    for pair in ("BTC/USD", "ETH/USD"):  # the default pairs, each failing on the network
        assert (
            f"train: {pair}: bars: Alpaca bars request for {pair} failed: connection refused by 127.0.0.1:{port}"
            in (finished.stderr)
        )
    assert "train: no pair updated; the current model is unchanged" in finished.stderr
    assert not (clone / "model").exists()
