"""The timeframe value type: one value per bar length, and which one a training run picks by default."""

from __future__ import annotations

import datetime as dt

import pytest

from cryptopredict.core.settings import SettingsError
from cryptopredict.core.timeframe import DAY, HOUR, TIMEFRAMES, timeframe_of
from cryptopredict.training.pipeline import TrainSettings

MIDNIGHT = dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp()


def test_names_map_to_the_values() -> None:
    assert timeframe_of("1Day") is DAY and timeframe_of("1Hour") is HOUR
    assert list(TIMEFRAMES) == ["1Day", "1Hour"]
    with pytest.raises(SettingsError, match=r"^unknown timeframe '1Min'; use one of 1Day, 1Hour$"):
        timeframe_of("1Min")


def test_the_band_is_calibrated_to_the_last_reported_horizon() -> None:
    assert (DAY.horizons, DAY.calibrated_bars) == ((1, 7, 30), 30)
    assert (HOUR.horizons, HOUR.calibrated_bars) == ((1, 24, 168, 720), 720)  # 30 days of hours


def test_a_bar_closes_one_length_after_it_starts_and_starts_on_the_grid() -> None:
    assert HOUR.closes_at(MIDNIGHT) == MIDNIGHT + 3_600
    assert DAY.closes_at(MIDNIGHT) == MIDNIGHT + 86_400
    assert DAY.on_grid(MIDNIGHT) and HOUR.on_grid(MIDNIGHT + 5 * 3_600)
    assert not DAY.on_grid(MIDNIGHT + 6 * 3_600)  # Chicago midnight in winter
    assert not HOUR.on_grid(MIDNIGHT + 1_800)


def test_the_alpaca_timeframe_matches_the_bar_length() -> None:
    assert (str(DAY.alpaca().value), str(HOUR.alpaca().value)) == ("1Day", "1Hour")


@pytest.mark.parametrize(("source", "expected"), [("alpaca", HOUR), ("embedded", DAY), ("csv", DAY)])
def test_live_training_defaults_to_hourly_bars_and_files_to_daily_ones(source: str, expected: object) -> None:
    assert TrainSettings(source=source).timeframe is expected  # type: ignore[arg-type]
    assert TrainSettings(source=source, timeframe=DAY).timeframe is DAY  # type: ignore[arg-type]
