"""The conformal band: it recovers a known random walk, widens like one past the calibrated horizon and never
narrows.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from cryptopredict.core.forecast import LEVELS, BandQuantiles
from cryptopredict.core.timeframe import DAY
from cryptopredict.training.backtest import OriginPath, calibrate_band, score
from tests.training.random_walks import ONE_DAY, walk


def test_conformal_band_recovers_a_known_random_walk() -> None:
    sigma, days = 0.02, 2_400
    closes = walk(days, sigma, seed=3)["close"].to_numpy()
    paths = [
        OriginPath(
            i, i, pd.Timestamp("2020-01-01") + ONE_DAY * i, closes[i], np.zeros(30), closes[i + 1 : i + 31], True
        )
        for i in range(days - 31)
    ]
    band = calibrate_band(paths, 0.0, DAY)
    # The normal distribution's quantiles at each level's upper tail: 75th, 90th, 97.5th percentiles.
    z = {50: 0.6745, 80: 1.2816, 95: 1.9600}
    for level in LEVELS:
        # One year of one-day errors pins the tails; longer horizons overlap and are checked by coverage.
        assert band.high[level][0] == pytest.approx(z[level] * sigma, rel=0.2), level
        assert band.low[level][0] == pytest.approx(-z[level] * sigma, rel=0.2), level
    rows = score(paths, 0.1, DAY, 80)
    for row in rows:
        # Overlapping h-day errors are about origins/h independent outcomes: allow 2.5 standard errors of that.
        independent = row["origins"] / row["horizon"]
        tolerance = 2.5 * math.sqrt(0.8 * 0.2 / independent)
        assert row["model"]["coverage"] == pytest.approx(0.8, abs=tolerance)
        assert row["naive"]["mase"] == 1.0
        levels = row["model"]["levels"]
        assert [b["level"] for b in levels] == list(LEVELS)
        assert [b["nominal"] for b in levels] == [0.5, 0.8, 0.95]
        for b in levels:
            nominal = b["nominal"]
            assert b["coverage"] == pytest.approx(nominal, abs=2.5 * math.sqrt(nominal * (1 - nominal) / independent))
        # The served columns' level is the 80 % band, reported twice: as `coverage` and among the levels.
        assert (levels[1]["coverage"], levels[1]["width"]) == (row["model"]["coverage"], row["model"]["width"])
        assert levels[0]["width"] < levels[1]["width"] < levels[2]["width"]
        assert levels[0]["coverage"] <= levels[1]["coverage"] <= levels[2]["coverage"]  # nested bands nest outcomes
    assert rows[0]["origins"] == days - 31


def test_band_widens_like_a_random_walk_past_the_calibrated_horizon() -> None:
    band = BandQuantiles(
        low={50: [-0.005, -0.01], 80: [-0.01, -0.02], 95: [-0.02, -0.04]},
        high={50: [0.005, 0.01], 80: [0.01, 0.02], 95: [0.02, 0.04]},
    )
    assert band.at(2) == (-0.02, 0.02)
    assert band.at(8) == pytest.approx((-0.04, 0.04))
    assert band.at(8, 95) == pytest.approx((-0.08, 0.08))
    assert band.at(8, 50) == pytest.approx((-0.02, 0.02))


def test_the_band_never_narrows_with_the_horizon() -> None:
    closes = walk(800, 0.03, seed=4)["close"].to_numpy()
    paths = [
        OriginPath(
            i, i, pd.Timestamp("2020-01-01") + ONE_DAY * i, closes[i], np.zeros(30), closes[i + 1 : i + 31], True
        )
        for i in range(800 - 31)
    ]
    band = calibrate_band(paths, 0.0, DAY)
    for level in LEVELS:
        assert all(a >= b for a, b in itertools.pairwise(band.low[level]))
        assert all(a <= b for a, b in itertools.pairwise(band.high[level]))
    # And nested at every horizon: the 95 % band around the 80 % one around the 50 % one.
    assert band.problems() == []
    for h in range(30):
        assert band.low[95][h] <= band.low[80][h] <= band.low[50][h] <= 0 <= band.high[50][h]
        assert band.high[50][h] <= band.high[80][h] <= band.high[95][h]
