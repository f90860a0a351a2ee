"""Property-based fuzzing of the running Waitress server from its own /openapi.json, every Schemathesis check on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT, running_api

pytestmark = pytest.mark.slow
CONFIG = ROOT / "tests" / "schemathesis.toml"
MIN_CASES = 500


def test_schemathesis_finds_nothing(trained_model_dir: Path, tmp_path: Path) -> None:
    report = tmp_path / "schemathesis.json"
    with running_api(trained_model_dir) as base:
        command = [
            str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG),
            "run", f"{base}/openapi.json",
            "--checks", "all",
            "--max-examples", "300",  # per operation; the ones without parameters need only a few
            "--seed", "20261123",
            "--workers", "1",
            "--request-timeout", "10",
            "--report", "json", "--report-json-path", str(report),
        ]  # fmt: skip
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    summary = json.loads(report.read_text())
    assert result.returncode == 0, result.stdout[-5000:]
    assert summary["complete"] and summary["exit_code"] == 0
    assert summary["operations"]["tested"] == summary["operations"]["total"] >= 5
    assert {name: phase["status"] for name, phase in summary["phases"].items()} == {
        "examples": "success",
        "coverage": "success",
        "fuzzing": "success",
        "stateful": "success",  # request chains Schemathesis infers from the schema
    }
    cases = summary["test_cases"]
    assert cases["generated"] >= MIN_CASES, cases
    assert (cases["with_failures"], cases["errored"], cases["without_checks"]) == (0, 0, 0), summary["failures"]
    print(f"schemathesis: {cases['generated']} cases against {summary['operations']['total']} operations, 0 failures")
