"""The backtest's scores by hand: the naive forecast, the damped drift, and an unanchored forecaster scored on its
own level.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from cryptopredict.core.timeframe import DAY
from cryptopredict.training import backtest_scores
from cryptopredict.training.backtest import BacktestPlan, OriginPath, run_origins, score
from tests.training.random_walks import ONE_DAY, walk


def path(position: int, close: float, actual: list[float], drift: list[float] | None = None) -> OriginPath:
    return OriginPath(
        position=position,
        fit=position,
        origin=pd.Timestamp("2024-01-01") + ONE_DAY * position,
        close=close,
        drift=np.array(drift or [0.0] * len(actual)),
        actual=np.array(actual, dtype=float),
        scored=True,
    )


def test_naive_scores_by_hand() -> None:
    paths = [path(0, 100.0, [110.0]), path(1, 200.0, [190.0])]
    [scores] = [backtest_scores._score(paths, None, 1, calibration_size=365)]
    assert scores["mape"] == pytest.approx((0.10 / 1.10 + 0.10 / 1.90) / 2)  # |100-110|/110, |200-190|/190
    assert scores["mae"] == pytest.approx(10.0)
    assert scores["origins"] == 2
    assert scores["coverage"] == {50: None, 80: None, 95: None}  # too few earlier errors to calibrate a band


def test_model_forecast_applies_the_damped_drift() -> None:
    # Prophet expects +log(1.21) over one bar; damped by half that is exactly +10 %: 100 -> 110, a perfect hit.
    paths = [path(0, 100.0, [110.0], drift=[math.log(1.21)])]
    assert backtest_scores._score(paths, 0.5, 1, calibration_size=365)["mape"] == pytest.approx(0.0, abs=1e-12)
    assert backtest_scores._score(paths, 1.0, 1, calibration_size=365)["mape"] == pytest.approx(0.1)  # 121 vs 110


@dataclass(frozen=True)
class LineForecaster:
    """Unanchored: forecasts 100 * exp(0.001 * days since 2020-01-01) for any time, whatever the last close."""

    name: str = "line"
    anchored: bool = False

    def fit(self, seen: pd.DataFrame) -> Callable[[pd.DatetimeIndex], np.ndarray]:
        return lambda times: math.log(100.0) + 0.001 * ((times - pd.Timestamp("2020-01-01")) / ONE_DAY).to_numpy()


def test_an_unanchored_forecaster_is_scored_on_its_own_level() -> None:
    bars = walk(400, 0.02, seed=5)  # daily from 2020-01-01: bar i is day i
    closes = bars["close"].to_numpy()
    paths = run_origins(bars, LineForecaster(), DAY, BacktestPlan(scored=24, warmup=6, span_days=150), workers=1)
    scored = [p for p in paths if p.scored]
    assert len(scored) > 100
    rows = score(paths, 1.0, DAY, 80)  # undamped: the forecaster's own forecast
    for h, row in zip(DAY.horizons, rows, strict=True):
        # By hand: the forecast for day i + h is the line's value on that day, not a move from the close on day i.
        forecasts = [100.0 * math.exp(0.001 * (p.position + h)) for p in scored]
        actuals = [closes[p.position + h] for p in scored]
        for p, forecast in zip(scored, forecasts, strict=True):
            assert p.close * math.exp(p.drift[h - 1]) == pytest.approx(forecast, rel=1e-12)
        mape = np.mean([abs(f - a) / a for f, a in zip(forecasts, actuals, strict=True)])
        naive = np.mean([abs(closes[p.position] - a) / a for p, a in zip(scored, actuals, strict=True)])
        assert row["origins"] == len(scored)
        assert row["model"]["mape"] == pytest.approx(mape, rel=1e-12)
        assert row["naive"]["mape"] == pytest.approx(naive, rel=1e-12)
        assert row["mape_ratio"] == pytest.approx(mape / naive, rel=1e-12)
