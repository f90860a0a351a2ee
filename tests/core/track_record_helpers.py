"""What the track record's test modules share: the pair, an app client, figures recomputed from points,
train.py's options and synthetic records.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptopredict.core.timeframe import HOUR
from cryptopredict.core.track import DriftRules, Run, TrackRecord, empty_record
from cryptopredict.serving.app import create_app
from tests.conftest import HOURLY_BTC_USD, SMALL_HOURLY_START

BTC = "BTC/USD"


def client_of(model_dir: Path) -> Any:
    return create_app({"MODEL_DIR": str(model_dir), "TESTING": True, "ACCESS_LOG": False}).test_client()


def fsum_share(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def recompute(points: list[dict[str, Any]]) -> dict[str, Any]:
    """A Figures block recomputed from listed points (naive = the close of the serving model's newest bar)."""
    if not points:
        return {"points": 0, "mape": None, "naive_mape": None, "mape_ratio": None, "coverage": None}
    errors = [abs(p["prediction"] - p["actual"]) / p["actual"] for p in points]
    naive = [abs(p["naive"] - p["actual"]) / p["actual"] for p in points]
    return {
        "points": len(points),
        "mape": fsum_share(errors),
        "naive_mape": fsum_share(naive),
        "mape_ratio": math.fsum(errors) / math.fsum(naive),
        "coverage": sum(p["prediction_low"] <= p["actual"] <= p["prediction_high"] for p in points) / len(points),
    }


def cli_args(model_dir: Path, until: str) -> list[str]:
    """train.py's options for small_hourly_settings."""
    return [
        "--data", str(HOURLY_BTC_USD), "--pairs", BTC, "--timeframe", "1Hour",
        "--start", SMALL_HOURLY_START.isoformat(),
        "--until", until, "--model-dir", str(model_dir), "--backtest-refits", "12", "--backtest-span-days", "120",
        "--gate-min-coverage", "0", "--gate-max-coverage", "1", "--gate-max-coverage-gap", "1",
    ]  # fmt: skip


Batch = tuple[Run, list[tuple[int, float, float, float, float]]]


def synthetic_batches(days: int, seed: int = 16, coverage: float = 0.8, away: bool = False) -> list[Batch]:
    """Six-hourly runs over `days` days of hourly bars: a random walk, served the naive forecast (or one that moves
    away from what happens), with a band holding the close a share `coverage` of the time. Fixed seed."""
    rng = random.Random(seed)
    start = 1_700_000_000 // 3600 * 3600
    price, batches = 60_000.0, []
    for run in range(days * 4):
        anchor = start + run * 6 * 3600
        rows = []
        for h in range(1, 7):
            actual = round(price * math.exp(rng.gauss(0, 0.004 * math.sqrt(h))), 2)
            prediction = round(2 * price - actual, 2) if away else price
            if rng.random() < coverage:
                low, high = round(min(prediction, actual) * 0.99, 2), round(max(prediction, actual) * 1.01, 2)
            else:
                low, high = round(actual * 1.01, 2), round(actual * 1.02, 2)
            rows.append((anchor + h * 3600, prediction, low, high, actual))
        batches.append((Run(f"v{run // 28}", anchor, price), rows))
        price = rows[-1][4]
    return batches


def synthetic_record(days: int, **options: Any) -> TrackRecord:
    record = empty_record(BTC, HOUR.name, 80, DriftRules())
    for run, rows in synthetic_batches(days, **options):
        record = record.extended(run, rows)
    return record
