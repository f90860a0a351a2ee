"""The hourly backtest: 720-hour paths from origins every six hours, its four horizons, the gate naming a failed
row and the band calibrated 720 hours ahead.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from cryptopredict.core.timeframe import HOUR
from cryptopredict.training.backtest import BacktestPlan, OriginPath, calibrate_band, run_origins, score
from cryptopredict.training.gate import GateThresholds, find_failures
from tests.training.random_walks import walk


@dataclass(frozen=True)
class FlatForecaster:
    """Unanchored: always forecasts exp(level) = 100, whatever the last close."""

    name: str = "flat"
    anchored: bool = False

    def fit(self, seen: pd.DataFrame) -> Callable[[pd.DatetimeIndex], np.ndarray]:
        return lambda times: np.full(len(times), math.log(100.0))


ONE_HOUR = pd.Timedelta(hours=1)


HOURLY_SIGMA = 0.02 / math.sqrt(24)  # 2 % a day


def test_hourly_origins_close_on_the_six_hour_grid_with_720_bar_paths() -> None:
    bars = walk(1_500, HOURLY_SIGMA, seed=6, freq="h")
    plan = BacktestPlan(scored=24, warmup=4, span_days=20)
    paths = run_origins(bars, FlatForecaster(), HOUR, plan, workers=1)
    assert len({p.fit for p in paths}) == 28
    closes_at = {(p.origin + ONE_HOUR).hour for p in paths}
    assert closes_at == {0, 6, 12, 18}  # the closes a six-hourly retrain anchors at, and only those
    assert all((p.origin + ONE_HOUR) == (p.origin + ONE_HOUR).floor("6h") for p in paths)
    # Every such close from the first refit on is an origin, each forecast by the latest fit made at or before it.
    positions = [p.position for p in paths]
    assert all(b - a == HOUR.origin_every for a, b in itertools.pairwise(positions))
    assert all(p.fit <= p.position < p.fit + 6 * 24 for p in paths)
    for p in paths:
        assert len(p.drift) == len(p.actual) == HOUR.calibrated_bars == 720
        assert p.close == bars["close"].iloc[p.position]
        assert list(p.actual) == list(bars["close"].iloc[p.position + 1 : p.position + 721])  # all 720 outcomes


def hourly_paths(bars: int, drift_at_720: float, seed: int) -> list[OriginPath]:
    """Naive forecasts (zero drift) from every six-hour close of an hourly walk, except `drift_at_720` 720 h out."""
    closes = walk(bars, HOURLY_SIGMA, seed=seed, freq="h")["close"].to_numpy()
    drift = np.zeros(720)
    drift[-1] = drift_at_720
    return [
        OriginPath(i, i, pd.Timestamp("2020-01-01") + ONE_HOUR * i, closes[i], drift, closes[i + 1 : i + 721], True)
        for i in range(5, bars - 720, HOUR.origin_every)
    ]


def test_hourly_scores_the_four_horizons_and_the_gate_names_the_720_hour_row() -> None:
    # The model is the naive forecast up to 168 h and 65 % too high at 720 h: only that row fails.
    paths = hourly_paths(6_000, drift_at_720=0.5, seed=7)
    rows = score(paths, 1.0, HOUR, 80)
    assert [(r["horizon"], r["unit"]) for r in rows] == [(1, "hour"), (24, "hour"), (168, "hour"), (720, "hour")]
    assert [r["mape_ratio"] for r in rows[:3]] == [1.0, 1.0, 1.0]
    assert rows[3]["mape_ratio"] > 2
    assert all(r["origins"] == len(paths) for r in rows)
    assert all(r["model"]["coverage"] is not None for r in rows)  # enough earlier errors at every horizon
    failures = find_failures(rows, GateThresholds(min_coverage=0.0, max_coverage=1.0, max_coverage_gap=1.0))
    assert failures == [f"{HOUR.horizon_label(720)}: MAPE ratio to naive {rows[3]['mape_ratio']:.3f} > 1.10"]


def test_the_hourly_band_is_calibrated_720_hours_ahead_and_never_narrows() -> None:
    paths = hourly_paths(6_000, drift_at_720=0.0, seed=8)
    band = calibrate_band(paths, 0.0, HOUR)
    assert band.problems() == []  # every level, 720 steps each, nested
    low, high = band.low[80], band.high[80]
    assert len(low) == len(high) == 720
    assert all(a >= b for a, b in itertools.pairwise(low))
    assert all(a <= b for a, b in itertools.pairwise(high))
    z = 1.2816  # the normal distribution's 90th percentile
    assert high[0] == pytest.approx(z * HOURLY_SIGMA, rel=0.2)
    assert low[0] == pytest.approx(-z * HOURLY_SIGMA, rel=0.2)
    assert high[-1] > 10 * high[0]  # 720 hours of a random walk: about sqrt(720) = 27 times as wide
    assert band.at(721)[1] > high[-1]  # and past the calibrated horizon it keeps widening
