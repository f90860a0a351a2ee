"""The release versioning the deploy workflow relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from release.next_version import choose_version
from tests.servers import ROOT


def test_the_first_release_is_0_1_0() -> None:
    assert choose_version([], []) == ("0.1.0", True)


def test_an_untagged_commit_gets_the_next_patch_of_the_highest_tag() -> None:
    tags = ["v0.1.9", "v0.1.10", "v0.2.0", "not-a-version", "v1.0.0-rc1"]
    assert choose_version([], tags) == ("0.2.1", True)


def test_a_commit_that_has_a_version_keeps_it_in_reruns_and_scheduled_runs() -> None:
    assert choose_version(["v0.1.3"], ["v0.1.3", "v0.1.4"]) == ("0.1.3", False)


def test_a_scheduled_run_that_replaced_a_pending_push_run_ships_a_new_version(tmp_path: Path) -> None:
    """Push A (tagged v0.1.0), then push B whose run is still pending when the schedule fires: GitHub replaces the
    pending run, and the scheduled run checks out B. B must not ship as 0.1.0, A's version."""
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "A"], check=True)
    subprocess.run([*git, "tag", "-a", "v0.1.0", "-m", "v0.1.0"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "B"], check=True)
    script = [sys.executable, "-m", "release.next_version", "--tag"]  # in the repository under test, from ours
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.run(script, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert first.stdout == "version=0.1.1\ncreated=true\n", first.stderr
    again = subprocess.run(script, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.stdout == "version=0.1.1\ncreated=false\n"  # a rerun of that run keeps it


def test_the_job_summary_model_card(trained_model_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "release.model_card", str(trained_model_dir / "manifest.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    manifest = json.loads((trained_model_dir / "manifest.json").read_text())
    lines = result.stdout.splitlines()
    assert lines[0] == f"## Artifact {manifest['model_version']}: BTC/USD, ETH/USD"
    assert "Updated: BTC/USD, ETH/USD." in lines
    for symbol, card in manifest["pairs"].items():
        assert f"### {symbol} 1Day: model {card['model_version']}" in lines
    assert result.stdout.count("gate passed") == 2
    # The backtest tables (each pair's track-record table, another table, follows its own).
    backtest_rows, in_backtest = [], False
    for line in lines:
        if line.startswith("| horizon |"):
            in_backtest = line.startswith("| horizon | model MAPE | naive MAPE | ratio |")
        elif in_backtest and line.startswith("| ") and not line.startswith("|---"):
            backtest_rows.append(line.split("|")[1].strip())
        elif not line.startswith("|"):
            in_backtest = False
    assert backtest_rows == ["1 day", "7 days", "30 days"] * 2
    # The summary step runs on a bare runner: the script must not need the training dependencies.
    probe = "import runpy, sys; sys.modules['plotly'] = None; sys.modules['pandas'] = None\n"
    probe += f"sys.argv = ['model_card', {str(trained_model_dir / 'manifest.json')!r}]\n"
    probe += "runpy.run_module('release.model_card', run_name='__main__')"
    assert subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True).returncode == 0
