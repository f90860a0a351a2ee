"""cryptopredict.core.dates: formatting, zone handling and epoch conversion (parsing is tested through the API)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptopredict.core.dates import DATE_PATTERN, epoch_of, format_utc, naive_utc, parse_utc

NEW_YEAR = 1_704_067_200  # 2024-01-01T00:00:00Z
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))


@pytest.mark.parametrize(
    "moment",
    [
        NEW_YEAR + 3661,  # epoch seconds, as the forecast table counts
        NEW_YEAR + 3661.75,  # a fraction is cut, not rounded up
        dt.datetime(2024, 1, 1, 1, 1, 1),  # naive is UTC, never local time
        dt.datetime(2024, 1, 1, 3, 1, 1, tzinfo=PLUS_TWO),  # an offset is converted
        pd.Timestamp("2024-01-01 01:01:01"),  # a naive bar time, as pandas holds it
    ],
)
def test_format_utc_writes_every_kind_of_instant_as_iso_with_z(moment: float | dt.datetime) -> None:
    assert format_utc(moment) == "2024-01-01T01:01:01Z"


def test_what_format_utc_writes_parse_utc_reads_back_to_the_same_second() -> None:
    assert parse_utc(format_utc(NEW_YEAR + 3661)).timestamp() == NEW_YEAR + 3661


def test_naive_utc_drops_the_zone_after_converting_and_keeps_the_type() -> None:
    aware = dt.datetime(2024, 1, 1, 2, tzinfo=PLUS_TWO)
    assert naive_utc(aware) == dt.datetime(2024, 1, 1, 0, 0)
    stamp = naive_utc(pd.Timestamp("2024-01-01T02:00:00+02:00"))
    assert isinstance(stamp, pd.Timestamp) and stamp.tzinfo is None  # comparable with a bar column
    assert stamp == pd.Timestamp("2024-01-01 00:00")
    assert naive_utc(dt.datetime(2024, 1, 1, 5)) == dt.datetime(2024, 1, 1, 5)  # already naive UTC


def test_epoch_of_takes_a_naive_instant_as_utc() -> None:
    assert epoch_of(pd.Timestamp("2024-01-01 01:00")) == NEW_YEAR + 3600
    assert epoch_of(dt.datetime(2024, 1, 1, 3, tzinfo=PLUS_TWO)) == NEW_YEAR + 3600
    assert isinstance(epoch_of(pd.Timestamp("2024-01-01 01:00:00.9")), int)


ZONE = re.compile(r"(Z|[-+ ][0-9]{2}:[0-9]{2})$")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(DATE_PATTERN, fullmatch=True))
def test_every_value_of_the_published_pattern_parses_and_no_zone_means_utc(text: str) -> None:
    # The values a client or a fuzzer generates from the OpenAPI pattern: each is a UTC instant, and a date-time
    # without a zone is the same instant as with a Z (never the machine's local time).
    moment = parse_utc(text)
    assert moment.utcoffset() == dt.timedelta(0)
    if len(text) > len("2025-01-01") and not ZONE.search(text):
        assert moment == parse_utc(text + "Z")
        assert moment == dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_a_date_time_without_a_zone_is_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")  # astimezone() on a naive value would read it as New York time
    time.tzset()
    try:
        assert format_utc(parse_utc("2025-01-01T18:30:00")) == "2025-01-01T18:30:00Z"
        assert format_utc(parse_utc("2025-01-01T18:30")) == "2025-01-01T18:30:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()
