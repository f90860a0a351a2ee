"""Bars in: one pair's bars from Alpaca (through the bar store, if there is one), a CSV file or the embedded
history, cut to the run's window, checked, and with a record of where they came from."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from cryptopredict.core.artifact import sha256_hex
from cryptopredict.core.dates import naive_utc
from cryptopredict.core.manifest import Source
from cryptopredict.core.timeframe import DAY
from cryptopredict.core.typed_json import build
from cryptopredict.training.bars import (
    BarsError,
    align_to_grid,
    coarsen,
    drop_incomplete,
    embedded_path,
    fetch_alpaca_bars,
    read_csv_bars,
    read_embedded_bars,
    validate_bars,
)
from cryptopredict.training.barstore import sync_bars
from cryptopredict.training.settings import TrainSettings

# train.py refuses --data with other than one pair as an option error; fit_all keeps the check for other callers.
ONE_PAIR_PER_FILE = "a CSV file holds one pair's bars: give exactly one pair with --pairs, e.g. --pairs BTC/USD"


def load_bars(settings: TrainSettings, symbol: str, now: dt.datetime) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One pair's bars from the chosen source from `settings.start` on, validated, with their origin."""
    start = dt.datetime.combine(settings.start, dt.time(), tzinfo=dt.UTC)
    timeframe = settings.bar_timeframe
    if settings.source == "alpaca":
        frame, origin = _alpaca_bars(settings, symbol, start, now)
        staleness_now: dt.datetime | None = now
    else:
        frame, origin = _file_bars(settings, symbol)
        staleness_now = None
    frame = drop_incomplete(frame[frame["ds"] >= naive_utc(start)], timeframe, now)
    frame = align_to_grid(frame, timeframe)
    # Without a floor of its own, one bar: how many the backtest needs is fit_plan's to say, in its own words.
    min_rows = settings.min_rows if settings.min_rows is not None else 1
    return validate_bars(frame, timeframe=timeframe, min_rows=min_rows, now=staleness_now), origin


def _alpaca_bars(
    settings: TrainSettings, symbol: str, start: dt.datetime, now: dt.datetime
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Alpaca's bars, through the bar store when the run keeps one."""
    timeframe = settings.bar_timeframe
    if settings.bar_store:
        frame = sync_bars(settings.bar_store, symbol, timeframe, start, now, settings.alpaca)
        if frame.empty:
            raise BarsError(f"Alpaca returned no {timeframe} bars for {symbol} since {start:%Y-%m-%d}")
    else:
        frame = fetch_alpaca_bars(symbol, timeframe, start, now, settings.alpaca)
    return frame, build(Source, kind="alpaca", feed="us", url=settings.alpaca.url_override or "default")


def _file_bars(settings: TrainSettings, symbol: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A CSV file's bars or the embedded history's, at the run's bar length, with the file's checksum."""
    timeframe = settings.bar_timeframe
    if settings.source == "csv":
        if settings.data_path is None:
            raise BarsError("the csv source needs a file: --data PATH")
        path = Path(settings.data_path)
        frame = read_csv_bars(path)
    elif timeframe is not DAY:
        raise BarsError("the embedded history has daily bars only; use --timeframe 1Day or --source alpaca")
    else:
        path = embedded_path(symbol, timeframe)
        frame = read_embedded_bars(symbol, timeframe)
    frame = coarsen(frame, timeframe)
    return frame, build(Source, kind=settings.source, path=path.name, sha256=sha256_hex(path.read_bytes()))
