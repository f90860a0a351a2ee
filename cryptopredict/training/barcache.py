"""A cache of fetched bars, so a retrain asks Alpaca only for what is new.

One CSV file per symbol and timeframe. A fetch starts a few bars before the last cached one (to pick up late
revisions), the overlap is replaced by the fresh bars, and the file is rewritten atomically only after the
whole fetch succeeded: an interrupted or failed fetch leaves the cache as it was.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from cryptopredict.files import write_atomically
from cryptopredict.settings import timeframe_seconds
from cryptopredict.training.bars import AlpacaOptions, fetch_alpaca_bars, naive_utc, read_csv_bars

OVERLAP_BARS = 3


def cache_path(folder: Path, symbol: str, timeframe: str) -> Path:
    return Path(folder) / f"{symbol.replace('/', '-').lower()}-{timeframe}.csv"


def render_csv(frame: pd.DataFrame) -> str:
    """Bars in the CSV form `read_csv_bars` reads: `timestamp` first, as ISO 8601 UTC."""
    out = frame.assign(timestamp=frame["ds"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).drop(columns="ds")
    return out[["timestamp", *[c for c in out.columns if c != "timestamp"]]].to_csv(index=False)


def fetch_with_cache(
    folder: Path, symbol: str, timeframe: str, start: dt.datetime, now: dt.datetime, options: AlpacaOptions
) -> pd.DataFrame:
    """Bars from `start` to `now`: the cached ones, plus a fetch of what is new (with a small overlap)."""
    path = cache_path(folder, symbol, timeframe)
    cached = read_csv_bars(path) if path.is_file() else None
    fetch_from = start
    if cached is not None and not cached.empty and cached["ds"].iloc[0] <= naive_utc(start):
        overlap = pd.Timedelta(seconds=timeframe_seconds(timeframe) * OVERLAP_BARS)
        resume = (cached["ds"].iloc[-1] - overlap).tz_localize("UTC").to_pydatetime()
        fetch_from = max(start, resume)
    fresh = fetch_alpaca_bars(symbol, timeframe, fetch_from, now, options)
    if fresh.empty and cached is not None:
        merged = cached
    elif fetch_from != start and cached is not None:
        # Fresh bars replace cached ones at the same time (late revisions); older cached bars are kept.
        kept = cached[cached["ds"] < fresh["ds"].iloc[0]]
        merged = pd.concat([kept, fresh], ignore_index=True)
    else:
        merged = fresh
    merged = merged.drop_duplicates("ds", keep="last").sort_values("ds").reset_index(drop=True)
    write_atomically(path, render_csv(merged))
    return merged[merged["ds"] >= naive_utc(start)].reset_index(drop=True)
