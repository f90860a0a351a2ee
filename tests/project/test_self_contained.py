"""A clone stands on its own: no file names a path outside the project, and every tool that needs an input it
lacks says so and fails, never passes quietly."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cryptopredict.training.bars import HOURLY_BTC_USD, read_csv_bars
from tests.conftest import ROOT

# What is not the project's own: tools' caches, the venv, models and outputs a run leaves behind (all ignored by git).
NOT_THE_PROJECT = {".git", ".venv", ".pytest_cache", ".ruff_cache", "__pycache__", "model", "test-output", "cache"}
TEXT_SUFFIXES = {".py", ".md", ".txt", ".toml", ".yml", ".yaml", ".sh", ".js", ".html", ".css", ".json", ".ipynb"}
TEXT_NAMES = {"Makefile", "Dockerfile", "run", ".dockerignore", ".gitignore"}
# A relative path that climbs out of its folder: ../x, ../../x (not the ellipsis of GET .../forecast).
CLIMBING = re.compile(r"(?<![\w.])(?:\.\./)+[\w.-]+")
# Strings that look like such paths and are not the project's: what they are for.
NOT_PATHS = {
    ("tests/core/test_artifact.py", "../escape.json"): "a file name in a manifest, which the loader must refuse"
}
# Python that climbs above the repository's root.
ABOVE_ROOT = re.compile(r"ROOT\.parent|ROOT\s*/\s*[\"']\.\.[\"']|parents\[[3-9]\]")


def project_files() -> list[Path]:
    """Every text file of the project, found by walking the tree (a test container may have no git)."""
    found = []
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [s for s in subfolders if s not in NOT_THE_PROJECT and not s.startswith(".model")]
        for name in names:
            path = Path(folder, name)
            if path.suffix in TEXT_SUFFIXES or name in TEXT_NAMES:
                found.append(path)
    return found


LINKING = {".md", ".html", ".ipynb"}  # their relative links start at the file's folder; commands run from the root


def paths_outside(path: Path, text: str) -> list[str]:
    """The relative paths in `text` that lead outside the project."""
    base = path.parent if path.suffix in LINKING else ROOT
    outside = [
        match.group() for match in CLIMBING.finditer(text) if not (base / match.group()).resolve().is_relative_to(ROOT)
    ]
    outside += [match.group() for match in ABOVE_ROOT.finditer(text)]
    return outside


def test_no_file_names_a_path_outside_the_project() -> None:
    files = project_files()
    assert len(files) > 100 and ROOT / "Makefile" in files and Path(__file__) in files
    offenders = {}
    for path in files:
        if path == Path(__file__):
            continue  # this file names such paths to look for them
        name = str(path.relative_to(ROOT))
        found = [t for t in paths_outside(path, path.read_text(errors="replace")) if (name, t) not in NOT_PATHS]
        if found:
            offenders[name] = sorted(set(found))
    assert offenders == {}


@pytest.mark.parametrize(
    ("name", "text", "outside"),
    [
        ("Makefile", "DATA ?= ../elsewhere/data/bars.csv", ["../elsewhere"]),
        ("tests/conftest.py", "data = '../elsewhere/data/bars.csv'", ["../elsewhere"]),
        ("benchmarks.serving", 'HOURLY = ROOT.parent / "elsewhere" / "data"', ["ROOT.parent"]),
        ("cryptopredict/training/bars.py", 'DIR = Path(__file__).resolve().parents[3] / "data"', ["parents[3]"]),
        ("docs/training.md", "see [the README](../README.md) and data/PROVENANCE.md", []),
        ("docs/training.md", "[x](../../elsewhere/SOURCES.md)", ["../../elsewhere"]),
        ("cryptopredict/core/timeframe.py", "GET .../forecast's default range", []),
    ],
)
def test_the_guard_sees_paths_that_leave_the_tree(name: str, text: str, outside: list[str]) -> None:
    assert paths_outside(ROOT / name, text) == outside


def test_the_hourly_history_ships_compressed_with_its_provenance() -> None:
    assert HOURLY_BTC_USD.parent == ROOT / "data"
    size = HOURLY_BTC_USD.stat().st_size
    assert size < 1_200_000, size
    with gzip.open(HOURLY_BTC_USD, "rt") as handle:
        assert handle.readline() == "timestamp,close\n"
    bars = read_csv_bars(HOURLY_BTC_USD)
    assert len(bars) == 52_669
    assert (str(bars["ds"].iloc[0]), str(bars["ds"].iloc[-1])) == ("2019-11-20 11:00:00", "2025-11-22 23:00:00")
    assert (bars["ds"].diff().dropna() == bars["ds"].diff().iloc[1]).all()  # every hour, no gap
    provenance = (ROOT / "data" / "PROVENANCE.md").read_text()
    for fact in (HOURLY_BTC_USD.name, "1c1132e70a3cffb3e590ea83d81a04f54aacded0", "MIT", "Mouad Jaouhari"):
        assert fact in provenance


# Each tool, told to read a file that is not there: the Make target's module with its data option.
HOURLY_BARS = "hourly BTC/USD bars"
TOOLS = [
    ("bench", "benchmarks.serving", HOURLY_BARS),
    ("pairs-bench", "benchmarks.pairs", HOURLY_BARS),
    ("bench-scale", "benchmarks.scale", HOURLY_BARS),
    ("bench-track", "benchmarks.track", HOURLY_BARS),
    ("freshness", "benchmarks.freshness", HOURLY_BARS),
    ("quality", "benchmarks.quality", "a CSV history"),
    ("release rehearsal", "rehearsals.release_steps", HOURLY_BARS),
]


@pytest.mark.parametrize(("tool", "module", "what"), TOOLS, ids=[tool for tool, _, _ in TOOLS])
def test_a_tool_without_its_input_fails_in_one_line(tool: str, module: str, what: str, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-bars.csv.gz"
    finished = subprocess.run(
        [sys.executable, "-m", module, "--data", str(missing)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert (finished.returncode, finished.stdout) == (2, ""), finished.stderr
    assert finished.stderr.splitlines() == [f"{tool}: missing input: {missing} ({what}) not found"]


def test_the_workflow_rehearsal_without_its_pinned_actions_fails_in_one_line(tmp_path: Path) -> None:
    # The folder of pinned actions is a parameter: the project names none, and its absence is said, not skipped.
    missing = tmp_path / "actions"
    finished = subprocess.run(
        [sys.executable, "-m", "rehearsals.workflow", "--actions-dir", str(missing)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (finished.returncode, finished.stdout) == (2, ""), finished.stderr
    assert finished.stderr.splitlines() == [f"workflow rehearsal: missing input: ACTIONS_DIR {missing} is not a folder"]
    made = subprocess.run(["make", "-s", "workflow-rehearsal"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert made.returncode != 0
    assert "workflow-rehearsal: set ACTIONS_DIR to the folder of the pinned actions" in made.stderr
