"""Seeded random walks: series small enough to check the backtest by hand."""

from __future__ import annotations

import math
import random

import pandas as pd

ONE_DAY = pd.Timedelta(days=1)


def walk(bars: int, sigma: float, seed: int, freq: str = "D") -> pd.DataFrame:
    """A seeded geometric random walk of `bars` closes, `sigma` per bar, one bar per `freq` from 2020-01-01."""
    rng = random.Random(seed)
    closes = [30_000.0]
    for _ in range(bars - 1):
        closes.append(closes[-1] * math.exp(rng.gauss(0.0, sigma)))
    return pd.DataFrame({"ds": pd.date_range("2020-01-01", periods=bars, freq=freq), "close": closes})
