"""Bars from CSV files and from Alpaca (through the real SDK, against a fake server), and their validation."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from cryptopredict.core.dates import naive_utc
from cryptopredict.core.timeframe import DAY
from cryptopredict.training.bars import (
    AlpacaOptions,
    BarsError,
    fetch_alpaca_bars,
    network_cause,
    read_csv_bars,
    read_embedded_bars,
    to_naive_utc_series,
    validate_bars,
)
from tests.fakes.alpaca import FakeAlpaca, make_daily_bars

UTC = dt.UTC
FAST = {"retry_attempts": 3, "retry_wait_seconds": 0.01}


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text(text)
    return path


def daily_frame(count: int, first: str = "2024-01-01") -> pd.DataFrame:
    return pd.DataFrame(
        {"ds": pd.date_range(first, periods=count, freq="D"), "close": [100.0 + i for i in range(count)]}
    )


# --- CSV -------------------------------------------------------------------------------------------


def test_csv_with_offsets_becomes_naive_utc(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "timestamp,close,volume\n2024-01-01T02:00:00+02:00,10,1\n2024-01-02T00:00:00Z,11,2\n")
    frame = read_csv_bars(path)
    assert frame["ds"].dt.tz is None
    assert list(frame["ds"]) == [pd.Timestamp("2024-01-01 00:00"), pd.Timestamp("2024-01-02 00:00")]
    assert list(frame.columns) == ["ds", "close", "volume"]


def test_the_column_converter_agrees_with_dates_naive_utc_value_by_value() -> None:
    values = [
        dt.datetime(2024, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(2024, 1, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        dt.datetime(2024, 3, 31, 3, tzinfo=UTC),
    ]
    column = to_naive_utc_series(pd.Series(values))
    assert column.dtype == "datetime64[ns]"
    expected = [dt.datetime(2024, 1, 1, 0), dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 3, 31, 3)]
    assert [naive_utc(v) for v in values] == expected
    assert list(column) == expected


def test_csv_without_close_names_the_missing_column(tmp_path: Path) -> None:
    with pytest.raises(BarsError, match="missing column\\(s\\) close; need timestamp,close"):
        read_csv_bars(write_csv(tmp_path, "timestamp,price\n2024-01-01,1\n"))


def test_csv_with_a_bad_timestamp_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BarsError, match='line 3: timestamp "yesterday" is not a date-time'):
        read_csv_bars(write_csv(tmp_path, "timestamp,close\n2024-01-01,1\nyesterday,2\n"))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        # The header is line 1: the fourth data row is line 5.
        (
            ["2024-01-01,1", "2024-01-02,2", "2024-01-03,3", "2024-01-04,-28680.54"],
            "line 5 (2024-01-04 00:00): close -28680.54 is not a finite positive number",
        ),
        (["2024-01-01,1", "2024-01-02,"], "line 3 (2024-01-02 00:00): close is empty"),
        (["2024-01-01,1", "2024-01-02,abc"], 'line 3 (2024-01-02 00:00): close "abc" is not a number'),
        (["2024-01-01,1", ",2"], "line 3: timestamp is empty"),
        (["2024-01-01,1", "2024-01-02,2", "2024-01-02,3"], "strictly increasing: line 4 repeats 2024-01-02"),
        (
            ["2024-01-01,1", "2024-01-02T00:00:00Z,2"],
            'mixes date-time formats: write every one like line 2\'s "2024-01-01"',
        ),
    ],
)
def test_csv_errors_name_the_file_line_and_the_value_as_written(tmp_path: Path, rows: list[str], message: str) -> None:
    with pytest.raises(BarsError) as caught:
        read_csv_bars(write_csv(tmp_path, "timestamp,close\n" + "\n".join(rows) + "\n"))
    text = str(caught.value)
    assert message in text
    assert "np." not in text and "float64" not in text and "nan" not in text.lower()
    assert "\n" not in text


def test_missing_csv_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(BarsError, match="no such file"):
        read_csv_bars(tmp_path / "absent.csv")


def test_embedded_history_is_daily_and_gap_preserving() -> None:
    frame = read_embedded_bars("BTC/USD", DAY)
    assert frame["ds"].iloc[0] == pd.Timestamp("2010-07-17")
    assert frame["ds"].iloc[-1] == pd.Timestamp("2024-11-03")
    days = pd.date_range(frame["ds"].iloc[0], frame["ds"].iloc[-1], freq="D")
    assert len(days) - len(frame) == 11  # documented gaps in data/PROVENANCE.md, kept as gaps
    assert frame["ds"].is_unique and frame["ds"].is_monotonic_increasing


def test_embedded_history_is_small() -> None:
    from cryptopredict.training.bars import embedded_path

    assert embedded_path("BTC/USD", DAY).stat().st_size < 300_000


# --- validation ------------------------------------------------------------------------------------


def test_too_few_rows() -> None:
    with pytest.raises(BarsError, match="only 5 bars, need at least 10"):
        validate_bars(daily_frame(5), timeframe=DAY, min_rows=10)


def test_repeated_timestamp() -> None:
    frame = daily_frame(12)
    frame.loc[5, "ds"] = frame.loc[4, "ds"]
    with pytest.raises(BarsError, match="strictly increasing: bar 6 repeats 2024-01-05"):
        validate_bars(frame, timeframe=DAY, min_rows=10)


def test_timestamps_going_back() -> None:
    frame = daily_frame(12)
    frame.loc[5, "ds"] = pd.Timestamp("2023-06-01")
    with pytest.raises(BarsError, match="bar 6 goes back in time at 2023-06-01"):
        validate_bars(frame, timeframe=DAY, min_rows=10)


@pytest.mark.parametrize("bad", [0.0, -3.0, float("nan"), float("inf")])
def test_prices_must_be_finite_and_positive(bad: float) -> None:
    frame = daily_frame(12)
    frame.loc[7, "close"] = bad
    with pytest.raises(BarsError, match="finite positive price: bar 8 \\(2024-01-08 00:00\\) has ") as caught:
        validate_bars(frame, timeframe=DAY, min_rows=10)
    # The number as a person writes it, never numpy's repr.
    assert "np." not in str(caught.value) and str(caught.value).endswith(
        "no close" if bad != bad else f"close {bad:.15g}"
    )


def test_a_close_from_numpy_is_shown_as_a_plain_number() -> None:
    frame = daily_frame(12)
    frame["close"] = frame["close"].astype("float64")
    frame.loc[3, "close"] = -28680.54
    with pytest.raises(BarsError) as caught:
        validate_bars(frame, timeframe=DAY, min_rows=10)
    assert str(caught.value).endswith("bar 4 (2024-01-04 00:00) has close -28680.54")


def test_stale_live_data_is_refused() -> None:
    frame = daily_frame(12)  # last bar 2024-01-12
    with pytest.raises(BarsError, match="older than two bar lengths"):
        validate_bars(frame, timeframe=DAY, min_rows=10, now=dt.datetime(2024, 1, 14, 1, tzinfo=UTC))
    validate_bars(frame, timeframe=DAY, min_rows=10, now=dt.datetime(2024, 1, 13, 23, tzinfo=UTC))


# --- Alpaca through the real SDK ---------------------------------------------------------------------


def test_alpaca_pages_are_followed_and_timestamps_made_naive_utc(fake_alpaca: FakeAlpaca) -> None:
    fake_alpaca.bars = make_daily_bars(dt.date(2024, 1, 1), 250)
    fake_alpaca.page_size = 100
    now = dt.datetime(2024, 9, 7, 12, tzinfo=UTC)
    frame = fetch_alpaca_bars(
        "BTC/USD", DAY, dt.datetime(2024, 1, 1, tzinfo=UTC), now, AlpacaOptions(url_override=fake_alpaca.url)
    )
    assert len(fake_alpaca.requests) == 3  # 100 + 100 + 50
    assert [q.get("page_token") for q in fake_alpaca.requests] == [None, ["100"], ["200"]]
    assert fake_alpaca.requests[0]["symbols"] == ["BTC/USD"]
    assert fake_alpaca.requests[0]["timeframe"] == ["1Day"]
    assert len(frame) == 250
    assert frame["ds"].dt.tz is None
    assert frame["ds"].iloc[0] == pd.Timestamp("2024-01-01 00:00")
    assert frame["close"].iloc[-1] == fake_alpaca.bars[-1]["c"]


def test_the_bar_still_in_progress_is_dropped(fake_alpaca: FakeAlpaca) -> None:
    fake_alpaca.bars = make_daily_bars(dt.date(2024, 1, 1), 10)  # through 2024-01-10
    now = dt.datetime(2024, 1, 10, 15, tzinfo=UTC)  # the 2024-01-10 bar closes at midnight
    frame = fetch_alpaca_bars(
        "BTC/USD", DAY, dt.datetime(2024, 1, 1, tzinfo=UTC), now, AlpacaOptions(url_override=fake_alpaca.url)
    )
    assert frame["ds"].iloc[-1] == pd.Timestamp("2024-01-09")


def test_a_429_is_retried_then_succeeds(fake_alpaca: FakeAlpaca) -> None:
    fake_alpaca.bars = make_daily_bars(dt.date(2024, 1, 1), 20)
    fake_alpaca.script = [(429, '{"message": "too many requests"}')]
    frame = fetch_alpaca_bars(
        "BTC/USD",
        DAY,
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        dt.datetime(2024, 2, 1, tzinfo=UTC),
        AlpacaOptions(url_override=fake_alpaca.url, **FAST),
    )
    assert len(frame) == 20
    assert len(fake_alpaca.requests) == 2


def test_repeated_5xx_fails_with_a_clear_message(fake_alpaca: FakeAlpaca) -> None:
    fake_alpaca.script = [(503, '{"message": "unavailable"}')] * 10
    with pytest.raises(BarsError, match="Alpaca bars request for BTC/USD failed with HTTP 503"):
        fetch_alpaca_bars(
            "BTC/USD",
            DAY,
            dt.datetime(2024, 1, 1, tzinfo=UTC),
            dt.datetime(2024, 2, 1, tzinfo=UTC),
            AlpacaOptions(url_override=fake_alpaca.url, **FAST),
        )
    assert len(fake_alpaca.requests) == 4  # the first try and three retries


def test_an_empty_result_is_an_error(fake_alpaca: FakeAlpaca) -> None:
    with pytest.raises(BarsError, match="Alpaca returned no 1Day bars for BTC/USD from 2024-01-01"):
        fetch_alpaca_bars(
            "BTC/USD",
            DAY,
            dt.datetime(2024, 1, 1, tzinfo=UTC),
            dt.datetime(2024, 2, 1, tzinfo=UTC),
            AlpacaOptions(url_override=fake_alpaca.url),
        )


def test_keys_are_sent_when_set(fake_alpaca: FakeAlpaca) -> None:
    fake_alpaca.bars = make_daily_bars(dt.date(2024, 1, 1), 5)
    seen: list[str | None] = []
    handler_class = fake_alpaca.server.RequestHandlerClass
    original = handler_class.do_GET

    def capture(self: object) -> None:
        seen.append(self.headers.get("APCA-API-KEY-ID"))  # type: ignore[attr-defined]
        original(self)  # type: ignore[arg-type]

    handler_class.do_GET = capture  # type: ignore[method-assign]
    fetch_alpaca_bars(
        "BTC/USD",
        DAY,
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        dt.datetime(2024, 2, 1, tzinfo=UTC),
        AlpacaOptions(url_override=fake_alpaca.url, api_key="key-id", secret_key="secret"),
    )
    assert seen == ["key-id"]


# --- network faults: the cause in words ------------------------------------------------------------------


def fetch_from(url: str) -> BarsError:
    with pytest.raises(BarsError) as caught:
        fetch_alpaca_bars(
            "BTC/USD",
            DAY,
            dt.datetime(2024, 1, 1, tzinfo=UTC),
            dt.datetime(2024, 2, 1, tzinfo=UTC),
            AlpacaOptions(url_override=url, **FAST),
        )
    return caught.value


def closed_loopback_port() -> int:
    """A port nothing listens on: bound, then closed (the kernel does not hand it out again at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unresolvable_host_is_named() -> None:
    # .invalid never resolves (RFC 6761): no traffic leaves the machine.
    message = str(fetch_from("http://nonexistent.invalid"))
    assert message == (
        "Alpaca bars request for BTC/USD failed: could not resolve the host nonexistent.invalid (no network or DNS?)"
    )


def test_a_refused_connection_is_named() -> None:
    port = closed_loopback_port()
    message = str(fetch_from(f"http://127.0.0.1:{port}"))
    assert message.startswith(f"Alpaca bars request for BTC/USD failed: connection refused by 127.0.0.1:{port}")
    assert "HTTPConnectionPool" not in message and "Max retries" not in message


def test_a_failed_tls_handshake_is_named(fake_alpaca: FakeAlpaca) -> None:
    # The fake speaks plain HTTP: a TLS client's handshake fails against it.
    url = fake_alpaca.url.replace("http://", "https://")
    message = str(fetch_from(url))
    port = urlsplit(url).port
    assert (
        message
        == f"Alpaca bars request for BTC/USD failed: TLS handshake with 127.0.0.1:{port} failed: wrong version number"
    )
    assert "HTTPSConnectionPool" not in message


def test_the_cause_is_found_anywhere_in_the_exception_chain() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    wrapper = OSError("new connection failed")
    wrapper.__cause__ = refused
    outer = ValueError(wrapper)  # as requests' ConnectionError holds urllib3's MaxRetryError in its args
    assert (
        network_cause(outer, "https://data.example:8443", 30)
        == "connection refused by data.example:8443 (is anything listening there?)"
    )
    timed_out = ValueError(TimeoutError("read timed out"))
    assert network_cause(timed_out, "https://data.example", 30) == "timed out after 30 s reaching data.example:443"
    assert network_cause(ValueError("bad"), "https://data.example", 30) is None
