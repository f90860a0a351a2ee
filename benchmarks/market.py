"""The market the training benchmarks give train.py: the hourly BTC/USD bars, scaled per pair, from a fake Alpaca."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from cryptopredict.core.dates import format_utc
from cryptopredict.core.settings import DEFAULT_START
from tests.fakes.alpaca import FakeAlpaca, bars_from_csv

TRAIN_START = dt.datetime.combine(DEFAULT_START, dt.time(), tzinfo=dt.UTC)  # train.py's default --start


def scaled(bars: list[dict[str, Any]], scale: float) -> list[dict[str, Any]]:
    """The same bars at another price level (the same value traded)."""
    prices = ("o", "h", "l", "c", "vw")
    return [{**bar, **{k: bar[k] * scale for k in prices}, "v": bar["v"] / scale} for bar in bars]


def serve_scaled_bars(data: Path, scales: dict[str, float], pairs: list[str], until: str) -> FakeAlpaca:
    """A fake Alpaca serving each pair the CSV's bars from TRAIN_START to `until`, scaled by the pair's scale."""
    fake = FakeAlpaca(page_size=10_000)  # Alpaca's largest page
    bars = bars_from_csv(data, format_utc(TRAIN_START), until)
    fake.series = {symbol: scaled(bars, scales[symbol]) for symbol in pairs}
    return fake


def alpaca_env(fake: FakeAlpaca) -> dict[str, str]:
    """train.py's environment, its Alpaca client pointed at `fake`."""
    return {**os.environ, "ALPACA_DATA_URL": fake.url, "ALPACA_RETRY_WAIT_SECONDS": "0.1"}
