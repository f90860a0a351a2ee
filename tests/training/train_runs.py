"""train.py's arguments for a small, quick run and what a run leaves behind: shared by the test_train_* modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import SMALL_PLAN, SMALL_START

SMALL = [
    "--start", SMALL_START.isoformat(), "--horizon-days", "30",  # keep these two first: some tests drop them
    "--backtest-refits", str(SMALL_PLAN.scored), "--backtest-span-days", str(SMALL_PLAN.span_days),
]  # fmt: skip
BTC_ONLY = ["--pairs", "BTC/USD"]
DAILY_ALPACA = ["--source", "alpaca", "--timeframe", "1Day"]  # live training defaults to hourly bars
# On the bars the stored model saw, no refit is due: force one where the test is about the backtest or the gate.
REFIT = ["--refit-after-hours", "0"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def read_manifest(model_dir: Path) -> dict[str, Any]:
    return dict(json.loads((model_dir / "manifest.json").read_text()))
