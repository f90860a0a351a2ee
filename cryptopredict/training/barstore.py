"""The bar store: every fetched bar in one SQLite file, so a retrain asks Alpaca only for what is new.

Bars are keyed by (symbol, timeframe, bar start). A fetch starts a few bars before the last stored one, to pick
up late revisions, and goes forward in batches of BATCH_BARS bars; each batch is upserted in its own transaction,
so an interrupted fetch leaves every batch before it stored (the next run resumes there) and nothing of the batch
it was in: never a partial or duplicated bar. A fresh store backfills from the start, with a progress bar when
stderr is a terminal.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import pandas as pd

from cryptopredict.core.timeframe import Timeframe
from cryptopredict.training.bars import BAR_COLUMNS, AlpacaOptions, fetch_alpaca_bars

OVERLAP_BARS = 3
BATCH_BARS = 1_000  # per transaction; Alpaca pages are up to 10,000 bars, the SDK follows them within a batch
SCHEMA = """
CREATE TABLE IF NOT EXISTS bars (
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    start INTEGER NOT NULL,  -- bar start, epoch seconds UTC
    open REAL, high REAL, low REAL,
    close REAL NOT NULL,
    volume REAL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (symbol, timeframe, start)
) WITHOUT ROWID;
-- How far back the store has asked: a pair listed after `start` has no bars before its first one, and that
-- must not send every run back to fetch the whole history again.
CREATE TABLE IF NOT EXISTS coverage (
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    covered_from INTEGER NOT NULL,  -- epoch seconds: every bar since then that Alpaca had is stored
    PRIMARY KEY (symbol, timeframe)
) WITHOUT ROWID;
"""


def connect(path: Path) -> sqlite3.Connection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)  # transactions are explicit below
    connection.executescript(SCHEMA)
    return connection


def stored_span(connection: sqlite3.Connection, symbol: str, timeframe: Timeframe) -> tuple[int, int] | None:
    """Since when the store holds every bar of a pair, and its last bar; None if it has none."""
    covered, last = connection.execute(
        "SELECT (SELECT covered_from FROM coverage WHERE symbol = ?1 AND timeframe = ?2), MAX(start) "
        "FROM bars WHERE symbol = ?1 AND timeframe = ?2",
        (symbol, timeframe.name),
    ).fetchone()
    return None if covered is None or last is None else (int(covered), int(last))


def upsert(
    connection: sqlite3.Connection, symbol: str, timeframe: Timeframe, frame: pd.DataFrame, covered_from: int
) -> None:
    """Insert bars, or replace the stored ones at the same start (revisions win), and record that every bar
    since `covered_from` is now stored: all in one transaction."""
    fetched_at = int(dt.datetime.now(dt.UTC).timestamp())
    starts = (frame["ds"].astype("datetime64[s]").astype("int64")).tolist()
    columns = {c: frame[c].tolist() if c in frame else [None] * len(frame) for c in BAR_COLUMNS}
    rows = [
        (symbol, timeframe.name, start, *(columns[c][i] for c in BAR_COLUMNS), fetched_at)
        for i, start in enumerate(starts)
    ]
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.executemany(
            "INSERT INTO bars (symbol, timeframe, start, open, high, low, close, volume, fetched_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (symbol, timeframe, start) DO UPDATE SET "
            "open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, "
            "volume = excluded.volume, fetched_at = excluded.fetched_at",
            rows,
        )
        connection.execute(
            "INSERT INTO coverage (symbol, timeframe, covered_from) VALUES (?, ?, ?) ON CONFLICT (symbol, timeframe) "
            "DO UPDATE SET covered_from = MIN(covered_from, excluded.covered_from)",
            (symbol, timeframe.name, covered_from),
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def read_stored(connection: sqlite3.Connection, symbol: str, timeframe: Timeframe, start: dt.datetime) -> pd.DataFrame:
    """The stored bars of a pair from `start` on, oldest first."""
    frame = pd.read_sql_query(
        "SELECT start, open, high, low, close, volume FROM bars "
        "WHERE symbol = ? AND timeframe = ? AND start >= ? ORDER BY start",
        connection,
        params=(symbol, timeframe.name, int(start.timestamp())),
    )
    frame.insert(0, "ds", pd.to_datetime(frame.pop("start"), unit="s").astype("datetime64[ns]"))
    return frame


def fetch_batches(start: dt.datetime, now: dt.datetime, timeframe: Timeframe) -> list[tuple[dt.datetime, dt.datetime]]:
    """The [from, to] spans of BATCH_BARS bars each that cover `start` to `now`, oldest first."""
    length = dt.timedelta(seconds=timeframe.seconds * BATCH_BARS)
    batches = []
    while start < now:
        batches.append((start, min(start + length, now)))
        start += length
    return batches


def sync_bars(
    path: Path,
    symbol: str,
    timeframe: Timeframe,
    start: dt.datetime,
    now: dt.datetime,
    options: AlpacaOptions,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Bring the store up to `now` for one pair and return its bars from `start` on.

    The fetch begins OVERLAP_BARS before the last stored bar, or at `start` when the store does not reach back
    that far (a new pair, or an earlier `start` than before). Batches are fetched oldest first, so what is stored
    is always everything from the first batch's start up to some bar. `progress` (default: stderr is a
    terminal) shows a progress bar, one step per batch.
    """
    from tqdm import tqdm

    bar = dt.timedelta(seconds=timeframe.seconds)
    with closing(connect(path)) as connection:
        span = stored_span(connection, symbol, timeframe)
        fetch_from = start
        if span is not None and span[0] <= start.timestamp():
            fetch_from = max(start, dt.datetime.fromtimestamp(span[1], dt.UTC) - OVERLAP_BARS * bar)
        batches = fetch_batches(fetch_from, now, timeframe)
        show = sys.stderr.isatty() if progress is None else progress
        covered_from = int(fetch_from.timestamp())
        for batch_start, batch_end in tqdm(batches, desc=f"{symbol} {timeframe} bars", unit="batch", disable=not show):
            # Only bars closed by the batch's end come back, so a bar at the boundary is the next batch's.
            fresh = fetch_alpaca_bars(symbol, timeframe, batch_start, batch_end, options, allow_empty=True)
            if not fresh.empty:
                upsert(connection, symbol, timeframe, fresh, covered_from)
        return read_stored(connection, symbol, timeframe, start)
