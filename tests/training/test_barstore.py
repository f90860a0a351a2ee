"""The bar store: incremental fetches, late revisions, interruptions that leave it consistent, a progress bar."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cryptopredict.core.timeframe import DAY
from cryptopredict.training.bars import AlpacaOptions, BarsError, fetch_alpaca_bars
from cryptopredict.training.barstore import BATCH_BARS, sync_bars
from tests.fakes.alpaca import PAGE, FakeAlpaca, Hang, make_daily_bars
from tests.servers import ROOT

UTC = dt.UTC
START = dt.datetime(2020, 1, 1, tzinfo=UTC)


def options(fake: FakeAlpaca) -> AlpacaOptions:
    return AlpacaOptions(url_override=fake.url, retry_attempts=1, retry_wait_seconds=0.01, timeout_seconds=5)


def stored(path: Path) -> list[tuple[str, str, int, float]]:
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return connection.execute("SELECT symbol, timeframe, start, close FROM bars ORDER BY 1, 2, 3").fetchall()


def serve_years_in_pages(fake: FakeAlpaca) -> None:
    """2,500 daily bars from START in pages of 400: a 1,000-bar batch takes three pages."""
    fake.bars = make_daily_bars(START.date(), 2_500)
    fake.page_size = 400


def test_a_fresh_store_backfills_in_batches_then_fetches_only_what_is_new(
    fake_alpaca: FakeAlpaca, tmp_path: Path
) -> None:
    store = tmp_path / "bars.sqlite"
    serve_years_in_pages(fake_alpaca)
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    first = sync_bars(store, "BTC/USD", DAY, START, now, options(fake_alpaca))
    assert len(first) == 2_192  # 2020-01-01 .. 2025-12-31: every closed bar
    assert first["ds"].is_monotonic_increasing and first["ds"].is_unique
    batches = [q["start"][0][:10] for q in fake_alpaca.requests if "page_token" not in q]
    assert batches == ["2020-01-01", "2022-09-27", "2025-06-23"]  # 1,000 bars each
    assert len(fake_alpaca.requests) > len(batches)  # and the SDK followed page tokens within each

    fake_alpaca.requests.clear()
    later = dt.datetime(2026, 1, 11, tzinfo=UTC)
    second = sync_bars(store, "BTC/USD", DAY, START, later, options(fake_alpaca))
    assert [q["start"][0][:10] for q in fake_alpaca.requests] == ["2025-12-28"]  # the last stored bar minus 3
    assert len(second) == 2_202
    direct = fetch_alpaca_bars("BTC/USD", DAY, START, later, options(fake_alpaca))
    pd.testing.assert_frame_equal(second[direct.columns], direct)
    rows = stored(store)
    assert len(rows) == len({r[:3] for r in rows}) == 2_202  # no bar twice


def test_pairs_and_timeframes_are_kept_apart(fake_alpaca: FakeAlpaca, tmp_path: Path) -> None:
    store = tmp_path / "bars.sqlite"
    fake_alpaca.bars = make_daily_bars(START.date(), 100)
    fake_alpaca.series = {"ETH/USD": make_daily_bars(START.date(), 100, start_price=2_000.0, seed=7)}
    now = dt.datetime(2020, 4, 1, tzinfo=UTC)
    btc = sync_bars(store, "BTC/USD", DAY, START, now, options(fake_alpaca))
    eth = sync_bars(store, "ETH/USD", DAY, START, now, options(fake_alpaca))
    assert len(btc) == len(eth) == 91
    assert eth["close"].iloc[0] != btc["close"].iloc[0]
    assert {(r[0], r[1]) for r in stored(store)} == {("BTC/USD", DAY.name), ("ETH/USD", DAY.name)}


def test_late_revisions_win_and_nothing_is_duplicated(fake_alpaca: FakeAlpaca, tmp_path: Path) -> None:
    store = tmp_path / "bars.sqlite"
    fake_alpaca.bars = make_daily_bars(START.date(), 200)
    sync_bars(store, "BTC/USD", DAY, START, dt.datetime(2020, 6, 1, tzinfo=UTC), options(fake_alpaca))
    revised = next(b for b in fake_alpaca.bars if b["t"].startswith("2020-05-30"))
    revised["c"] = 12_345.0
    again = sync_bars(store, "BTC/USD", DAY, START, dt.datetime(2020, 6, 2, tzinfo=UTC), options(fake_alpaca))
    assert again.set_index("ds").loc[pd.Timestamp("2020-05-30"), "close"] == 12_345.0
    assert again["ds"].is_unique
    # Running it again changes nothing: upserts are idempotent.
    before = stored(store)
    sync_bars(store, "BTC/USD", DAY, START, dt.datetime(2020, 6, 2, tzinfo=UTC), options(fake_alpaca))
    assert stored(store) == before


def test_a_failure_mid_fetch_keeps_every_finished_batch_and_nothing_of_the_broken_one(
    fake_alpaca: FakeAlpaca, tmp_path: Path
) -> None:
    store = tmp_path / "bars.sqlite"
    serve_years_in_pages(fake_alpaca)
    # Batch 1: three pages; batch 2: its first page, then the server fails for good.
    fake_alpaca.script = [PAGE, PAGE, PAGE, PAGE, *[(503, '{"message": "unavailable"}')] * 5]
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(BarsError, match="failed with HTTP 503"):
        sync_bars(store, "BTC/USD", DAY, START, now, options(fake_alpaca))
    rows = stored(store)
    assert len(rows) == BATCH_BARS  # the first batch, whole; not one bar of the second
    assert rows[-1][2] == int(dt.datetime(2022, 9, 26, tzinfo=UTC).timestamp())
    # The next run resumes just before where the store ends, and completes it.
    fake_alpaca.requests.clear()
    fake_alpaca.script.clear()
    resumed = sync_bars(store, "BTC/USD", DAY, START, now, options(fake_alpaca))
    assert fake_alpaca.requests[0]["start"][0][:10] == "2022-09-23"
    assert len(resumed) == 2_192 and resumed["ds"].is_unique


def test_a_killed_fetch_leaves_the_store_consistent(fake_alpaca: FakeAlpaca, tmp_path: Path) -> None:
    """SIGKILL in the middle of a backfill: no partial batch, no duplicate, and the next run completes it."""
    store = tmp_path / "bars.sqlite"
    serve_years_in_pages(fake_alpaca)
    fake_alpaca.script = [PAGE, PAGE, PAGE, PAGE, Hang(30.0)]  # the second batch stalls on its second page
    code = (
        "import datetime as dt, sys\n"
        "from cryptopredict.training.barstore import sync_bars\n"
        "from cryptopredict.training.bars import AlpacaOptions\n"
        "from cryptopredict.core.timeframe import DAY\n"
        "sync_bars(sys.argv[1], 'BTC/USD', DAY, dt.datetime(2020, 1, 1, tzinfo=dt.UTC),\n"
        "          dt.datetime(2026, 1, 1, tzinfo=dt.UTC),\n"
        "          AlpacaOptions(url_override=sys.argv[2], timeout_seconds=60))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code, str(store), fake_alpaca.url], cwd=ROOT)
    deadline = time.monotonic() + 30
    while len(fake_alpaca.requests) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake_alpaca.requests) == 5, "the fetch did not reach the stalled page"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    rows = stored(store)
    assert len(rows) == BATCH_BARS and len({r[2] for r in rows}) == BATCH_BARS
    fake_alpaca.script.clear()
    resumed = sync_bars(store, "BTC/USD", DAY, START, dt.datetime(2026, 1, 1, tzinfo=UTC), options(fake_alpaca))
    assert len(resumed) == 2_192 and resumed["ds"].is_unique


def test_a_backfill_in_a_terminal_shows_a_progress_bar(fake_alpaca: FakeAlpaca, tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    fake_alpaca.bars = make_daily_bars(START.date(), 2_500)
    code = (
        "import datetime as dt, sys\n"
        "from cryptopredict.training.barstore import sync_bars\n"
        "from cryptopredict.training.bars import AlpacaOptions\n"
        "from cryptopredict.core.timeframe import DAY\n"
        "sync_bars(sys.argv[1], 'BTC/USD', DAY, dt.datetime(2020, 1, 1, tzinfo=dt.UTC),\n"
        "          dt.datetime(2026, 1, 1, tzinfo=dt.UTC), AlpacaOptions(url_override=sys.argv[2]))\n"
    )
    args = [sys.executable, "-c", code, str(tmp_path / "tty.sqlite"), fake_alpaca.url]
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal has a size
    process = subprocess.Popen(args, cwd=ROOT, stderr=secondary, stdout=subprocess.DEVNULL)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=30) == 0
    os.close(primary)
    assert b"BTC/USD 1Day bars: 100%" in output and b"3/3" in output
    # Not a terminal: no progress bar.
    quiet = subprocess.run([*args[:3], str(tmp_path / "pipe.sqlite"), args[4]], cwd=ROOT, capture_output=True)
    assert quiet.returncode == 0 and quiet.stderr == b""


def test_a_pair_listed_after_the_start_is_not_fetched_from_the_start_again(
    fake_alpaca: FakeAlpaca, tmp_path: Path
) -> None:
    store = tmp_path / "bars.sqlite"
    fake_alpaca.bars = make_daily_bars(dt.date(2023, 6, 1), 300)  # nothing before 2023-06-01
    now = dt.datetime(2024, 3, 1, tzinfo=UTC)
    first = sync_bars(store, "BTC/USD", DAY, START, now, options(fake_alpaca))
    assert first["ds"].iloc[0] == pd.Timestamp("2023-06-01")
    fake_alpaca.requests.clear()
    sync_bars(store, "BTC/USD", DAY, START, now + dt.timedelta(days=2), options(fake_alpaca))
    assert [q["start"][0][:10] for q in fake_alpaca.requests] == ["2024-02-26"]
    # An earlier start than ever asked for does go back.
    fake_alpaca.requests.clear()
    sync_bars(store, "BTC/USD", DAY, START - dt.timedelta(days=10), now, options(fake_alpaca))
    assert fake_alpaca.requests[0]["start"][0][:10] == "2019-12-22"
