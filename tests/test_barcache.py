"""The bar cache: a second fetch asks only for what is new, revisions win, and a failed fetch changes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from cryptopredict.training.barcache import cache_path, fetch_with_cache
from cryptopredict.training.bars import AlpacaOptions, BarsError, fetch_alpaca_bars
from tests.fake_alpaca import FakeAlpaca, make_daily_bars

UTC = dt.UTC
START = dt.datetime(2024, 1, 1, tzinfo=UTC)


def options(fake: FakeAlpaca) -> AlpacaOptions:
    return AlpacaOptions(url_override=fake.url, retry_attempts=1, retry_wait_seconds=0.01)


def test_a_second_fetch_asks_only_for_new_bars(fake_alpaca: FakeAlpaca, tmp_path: Path) -> None:
    fake_alpaca.bars = make_daily_bars(dt.date(2024, 1, 1), 200)
    first = fetch_with_cache(
        tmp_path, "BTC/USD", "1Day", START, dt.datetime(2024, 6, 1, tzinfo=UTC), options(fake_alpaca)
    )
    assert first["ds"].iloc[-1] == pd.Timestamp("2024-05-31")
    assert fake_alpaca.requests[0]["start"][0].startswith("2024-01-01")

    fake_alpaca.requests.clear()
    later = dt.datetime(2024, 7, 1, tzinfo=UTC)
    second = fetch_with_cache(tmp_path, "BTC/USD", "1Day", START, later, options(fake_alpaca))
    assert fake_alpaca.requests[0]["start"][0].startswith("2024-05-28")  # the last cached bar minus 3 bars
    assert len(fake_alpaca.requests) == 1  # 34 bars: one page
    direct = fetch_alpaca_bars("BTC/USD", "1Day", START, later, options(fake_alpaca))
    pd.testing.assert_frame_equal(second[direct.columns], direct)


def test_late_revisions_replace_cached_bars(fake_alpaca: FakeAlpaca, tmp_path: Path) -> None:
    fake_alpaca.bars = make_daily_bars(dt.date(2024, 1, 1), 200)
    fetch_with_cache(tmp_path, "BTC/USD", "1Day", START, dt.datetime(2024, 6, 1, tzinfo=UTC), options(fake_alpaca))
    revised = next(b for b in fake_alpaca.bars if b["t"].startswith("2024-05-31"))
    revised["c"] = 12_345.0
    again = fetch_with_cache(
        tmp_path, "BTC/USD", "1Day", START, dt.datetime(2024, 6, 2, tzinfo=UTC), options(fake_alpaca)
    )
    assert again.set_index("ds").loc[pd.Timestamp("2024-05-31"), "close"] == 12_345.0
    assert again["ds"].is_unique


def test_a_failed_fetch_leaves_the_cache_as_it_was(fake_alpaca: FakeAlpaca, tmp_path: Path) -> None:
    fake_alpaca.bars = make_daily_bars(dt.date(2024, 1, 1), 200)
    fake_alpaca.page_size = 50
    fetch_with_cache(tmp_path, "BTC/USD", "1Day", START, dt.datetime(2024, 6, 1, tzinfo=UTC), options(fake_alpaca))
    path = cache_path(tmp_path, "BTC/USD", "1Day")
    before = path.read_bytes()
    # The new fetch gets its first page, then the server fails mid-pagination.
    fake_alpaca.requests.clear()
    fake_alpaca.page_size = 20
    real_page = fake_alpaca.page
    calls = 0

    def failing_page(query: dict[str, list[str]]) -> dict[str, object]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("connection reset")
        return real_page(query)

    fake_alpaca.page = failing_page  # type: ignore[method-assign]
    fake_alpaca.script = []
    with pytest.raises(BarsError):
        fetch_with_cache(tmp_path, "BTC/USD", "1Day", START, dt.datetime(2024, 7, 20, tzinfo=UTC), options(fake_alpaca))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary files left
