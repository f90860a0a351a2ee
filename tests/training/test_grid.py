"""Bars on their timeframe's UTC grid: Alpaca's Chicago-midnight daily bars renamed, anything else off it refused."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from cryptopredict.core.timeframe import DAY, HOUR
from cryptopredict.training import cli as train
from cryptopredict.training.bars import AlpacaOptions, BarsError, align_to_grid
from cryptopredict.training.barstore import sync_bars
from cryptopredict.training.pipeline import TrainSettings, load_bars
from tests.fakes.alpaca import FakeAlpaca, make_daily_bars

UTC = dt.UTC
CHICAGO = "America/Chicago"


def frame(stamps: list[str], closes: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"ds": pd.to_datetime(stamps), "close": closes})


def test_chicago_midnights_become_utc_midnights_and_the_utc_bar_of_a_day_wins() -> None:
    # Chicago midnight is 05:00 UTC in summer time and 06:00 UTC in winter; the switch day exists in both stamps.
    stamps = ["2024-11-02 05:00", "2024-11-03 05:00", "2024-11-04 06:00", "2024-11-05 00:00", "2024-11-05 06:00"]
    mixed = frame([*stamps, "2024-11-06 00:00"], [1.0, 2.0, 3.0, 40.0, 4.0, 50.0])
    aligned = align_to_grid(mixed, DAY)
    assert list(aligned["ds"]) == list(pd.date_range("2024-11-02", "2024-11-06", freq="D"))
    assert list(aligned["close"]) == [1.0, 2.0, 3.0, 40.0, 50.0]  # 2024-11-05: the UTC-stamped bar
    assert aligned.index.tolist() == list(range(5))


def test_bars_already_on_the_grid_are_returned_as_they_are() -> None:
    daily = frame(["2024-01-01", "2024-01-02", "2024-01-04"], [1.0, 2.0, 3.0])  # a gap stays a gap
    pd.testing.assert_frame_equal(align_to_grid(daily, DAY), daily)
    # 05:00 and 06:00 are Chicago midnights, but hourly bars there are simply on the hourly grid.
    hourly = frame(["2024-11-04 05:00", "2024-11-04 06:00", "2024-11-04 07:00"], [1.0, 2.0, 3.0])
    pd.testing.assert_frame_equal(align_to_grid(hourly, HOUR), hourly)


@pytest.mark.parametrize(
    ("timeframe", "stamps", "message"),
    [
        (
            HOUR,
            ["2025-03-01 01:00", "2025-03-01 02:00", "2025-03-01 02:30", "2025-03-01 03:00"],
            "bar 3 starts at 2025-03-01 02:30 UTC, off the 1Hour grid (bars start every hour on the hour in UTC)",
        ),
        (  # noon is no one's midnight
            DAY,
            ["2024-01-01 00:00", "2024-01-02 12:00", "2024-01-03 00:00"],
            "bar 2 starts at 2024-01-02 12:00 UTC, off the 1Day grid (bars start every day on the day in UTC)",
        ),
    ],
)
def test_a_bar_off_the_grid_is_refused_naming_it(timeframe: object, stamps: list[str], message: str) -> None:
    with pytest.raises(BarsError) as raised:
        align_to_grid(frame(stamps, [1.0] * len(stamps)), timeframe)  # type: ignore[arg-type]
    assert str(raised.value) == message


def live_settings(fake: FakeAlpaca, **overrides: object) -> TrainSettings:
    values: dict[str, object] = {
        "source": "alpaca",
        "pairs": ("BTC/USD",),
        "timeframe": DAY,
        "start": dt.date(2024, 10, 1),
        "min_rows": 10,
        "alpaca": AlpacaOptions(url_override=fake.url, retry_attempts=1, retry_wait_seconds=0.01),
    }
    values.update(overrides)
    return TrainSettings(**values)  # type: ignore[arg-type]


# Chicago-stamped bars up to 2024-12-31 and UTC-stamped ones from 2024-12-29 (Alpaca's switch, seen by a fetch
# that straddles it): the days 12-29 to 12-31 come in both conventions, with different closes.
OLD = make_daily_bars(dt.date(2024, 10, 1), 92, zone=CHICAGO)
NEW = make_daily_bars(dt.date(2024, 12, 29), 23, start_price=90_000.0, seed=2)
NOW = dt.datetime(2025, 1, 20, 7, tzinfo=UTC)  # the 2025-01-20 bar closes at midnight: still in progress


def expected_closes() -> pd.Series:
    """One close per UTC day from 2024-10-01 to 2025-01-19: the Chicago bars renamed, the UTC bars where both."""
    closes = {pd.Timestamp(b["t"][:10]): b["c"] for b in OLD}
    closes.update({pd.Timestamp(b["t"][:10]): b["c"] for b in NEW})
    return pd.Series(closes).sort_index().loc[: pd.Timestamp("2025-01-19")]


def check_aligned(bars: pd.DataFrame) -> None:
    expected = expected_closes()
    assert list(bars["ds"]) == list(pd.date_range("2024-10-01", "2025-01-19", freq="D"))  # no gap, no duplicate
    assert list(bars["close"]) == list(expected)


def test_a_fetch_that_mixes_both_stamps_loads_one_bar_per_utc_day(fake_alpaca: FakeAlpaca) -> None:
    fake_alpaca.bars = sorted(OLD + NEW, key=lambda b: b["t"])
    fake_alpaca.page_size = 1_000
    bars, origin = load_bars(live_settings(fake_alpaca), "BTC/USD", NOW)
    assert origin["kind"] == "alpaca"
    check_aligned(bars)


def test_a_bar_store_holding_both_stamps_around_the_switch_loads_one_bar_per_utc_day(
    fake_alpaca: FakeAlpaca, tmp_path: Path
) -> None:
    store = tmp_path / "bars.sqlite"
    fake_alpaca.page_size = 1_000
    fake_alpaca.bars = OLD  # before the switch: Chicago stamps only
    settings = live_settings(fake_alpaca, bar_store=store)
    switch = dt.datetime(2025, 1, 1, 7, tzinfo=UTC)
    sync_bars(store, "BTC/USD", DAY, dt.datetime(2024, 10, 1, tzinfo=UTC), switch, settings.alpaca)
    fake_alpaca.bars = NEW  # after it: UTC stamps; the next run refetches from three bars before the last stored
    bars, _ = load_bars(settings, "BTC/USD", NOW)
    assert fake_alpaca.requests[-1]["start"][0].startswith("2024-12-28T06:00:00")
    with closing(sqlite3.connect(store)) as connection:
        # 92 Chicago-stamped bars and 22 UTC-stamped ones: 2024-12-29 to 2024-12-31 are stored in both stamps.
        assert connection.execute("SELECT COUNT(*) FROM bars").fetchone() == (92 + 22,)
    check_aligned(bars)


def test_training_refuses_an_hourly_bar_off_the_grid_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hours = pd.date_range("2025-01-01", periods=200, freq="h").tolist()
    hours[150] += pd.Timedelta(minutes=30)
    data = tmp_path / "hourly.csv"
    data.write_text("timestamp,close\n" + "".join(f"{t:%Y-%m-%dT%H:%M:%SZ},{100 + i}\n" for i, t in enumerate(hours)))
    args = ["--data", str(data), "--timeframe", "1Hour", "--start", "2025-01-01", "--model-dir", str(tmp_path / "m")]
    assert train.main([*args, "--pairs", "BTC/USD"]) == 1
    first, second = capsys.readouterr().err.splitlines()
    assert first == (
        "train: BTC/USD: bars: bar 151 starts at 2025-01-07 06:30 UTC, off the 1Hour grid "
        "(bars start every hour on the hour in UTC); has no previous model: left out"
    )
    assert second == "train: no pair updated; the current model is unchanged"
