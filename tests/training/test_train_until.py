"""train.py's --until: a day or an instant, training on exactly the bars closed by it, bounding the live request;
and hourly bars by default from Alpaca."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cryptopredict.core.dates import FORMAT_HINT
from cryptopredict.core.forecast import ForecastTable
from cryptopredict.training import cli as train
from cryptopredict.training.bars import read_csv_bars
from tests.conftest import HOURLY_BTC_USD, SMALL_HOURLY_START, SMALL_PLAN
from tests.fakes.alpaca import FakeAlpaca, bars_from_csv, make_daily_bars
from tests.training.train_runs import BTC_ONLY, DAILY_ALPACA, SMALL, read_manifest


def test_until_trains_as_if_it_were_that_day(tmp_path: Path) -> None:
    assert train.main([*SMALL, *BTC_ONLY, "--until", "2024-10-01", "--model-dir", str(tmp_path / "m")]) == 0
    card = read_manifest(tmp_path / "m")["pairs"]["BTC/USD"]
    assert card["timeframe"] == "1Day"  # the embedded history's default
    assert card["last_bar"] == "2024-09-30T00:00:00Z"  # the last bar that had closed by midnight
    assert card["trained_until"] == "2024-10-01T00:00:00Z"
    assert card["backtest"]["last_origin"] < "2024-09-01"


def test_until_bounds_the_live_request(
    fake_alpaca: FakeAlpaca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_alpaca.bars = make_daily_bars(dt.date(2022, 1, 1), 1000)
    monkeypatch.setenv("ALPACA_DATA_URL", fake_alpaca.url)
    args = [*DAILY_ALPACA, "--start", "2022-01-01", "--until", "2024-01-01", "--backtest-span-days", "365"]
    args += ["--backtest-refits", str(SMALL_PLAN.scored)]  # the request is the point here, not the backtest
    assert train.main([*args, *BTC_ONLY, "--model-dir", str(tmp_path / "m")]) == 0
    assert fake_alpaca.requests[0]["end"][0].startswith("2024-01-01T00:00:00")
    assert read_manifest(tmp_path / "m")["pairs"]["BTC/USD"]["last_bar"] == "2023-12-31T00:00:00Z"


def hourly_run(hourly_model_dir: Path, tmp_path: Path, *source: str) -> list[str]:
    """train.py's arguments for a run on a copy of the session's hourly model (bars to 2025-03-01T06:00Z): a run
    up to a day later re-anchors that fit, so it takes a second rather than a refit."""
    model_dir = shutil.copytree(hourly_model_dir, tmp_path / "model")
    return [*source, *BTC_ONLY, "--start", SMALL_HOURLY_START.isoformat(), "--model-dir", str(model_dir)]


@pytest.mark.parametrize(
    ("until", "instant", "last_bar"),
    [
        pytest.param("2025-03-02", "2025-03-02T00:00:00Z", "2025-03-01T23:00:00Z", id="day"),
        pytest.param("2025-03-01T12:00:00Z", "2025-03-01T12:00:00Z", "2025-03-01T11:00:00Z", id="Z"),
        pytest.param("2025-03-01T14:00:00+02:00", "2025-03-01T12:00:00Z", "2025-03-01T11:00:00Z", id="offset"),
        pytest.param("2025-03-01T12:59:59Z", "2025-03-01T12:59:59Z", "2025-03-01T11:00:00Z", id="a second short"),
    ],
)
def test_until_is_an_instant_and_training_uses_exactly_the_bars_closed_by_it(
    until: str, instant: str, last_bar: str, hourly_model_dir: Path, tmp_path: Path
) -> None:
    args = hourly_run(hourly_model_dir, tmp_path, "--data", str(HOURLY_BTC_USD), "--timeframe", "1Hour")
    assert train.main([*args, "--until", until]) == 0
    card = read_manifest(tmp_path / "model")["pairs"]["BTC/USD"]
    assert card["trained_until"] == instant
    # The bar that closes exactly at the instant is the newest; the one closing an hour later is left out.
    assert card["last_bar"] == last_bar
    table = ForecastTable.from_json((tmp_path / "model" / "btc-usd.forecast.json").read_bytes())
    closes = read_csv_bars(HOURLY_BTC_USD).set_index("ds")["close"]
    assert table.actual[table.last_row] == closes[pd.Timestamp(last_bar.removesuffix("Z"))]
    assert table.actual[table.last_row + 1] is None


@pytest.mark.parametrize("until", ["2025-03-01T12:00:00+25:00", "2025-02-30", "yesterday"])
def test_a_malformed_until_is_refused_in_one_line(until: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--until", until])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert "error: argument --until: " in last and last.endswith(FORMAT_HINT)


def test_an_until_without_a_zone_is_utc() -> None:
    parse = train.build_parser().parse_args
    assert parse(["--until", "2025-03-01T12:00:00"]).until == parse(["--until", "2025-03-01T12:00:00Z"]).until
    assert parse(["--until", "2025-03-01T12:00"]).until == dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)


def test_live_training_defaults_to_hourly_bars(
    fake_alpaca: FakeAlpaca, hourly_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real hourly bars, served by the fake Alpaca up to an hour past --until.
    fake_alpaca.bars = bars_from_csv(HOURLY_BTC_USD, SMALL_HOURLY_START.isoformat(), "2025-03-01T13:00:00Z")
    fake_alpaca.page_size = 10_000
    monkeypatch.setenv("ALPACA_DATA_URL", fake_alpaca.url)
    args = hourly_run(hourly_model_dir, tmp_path, "--source", "alpaca")
    assert train.main([*args, "--until", "2025-03-01T12:00:00Z"]) == 0
    assert {q["timeframe"][0] for q in fake_alpaca.requests} == {"1Hour"}
    card = read_manifest(tmp_path / "model")["pairs"]["BTC/USD"]
    assert (card["timeframe"], card["source"]["kind"]) == ("1Hour", "alpaca")
    assert card["last_bar"] == "2025-03-01T11:00:00Z" and card["update"] == "reanchor"
