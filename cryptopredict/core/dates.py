"""Time in one place: UTC instants read from text, written as text, and counted in epoch seconds.

Every instant the service reads or writes is UTC. `parse_utc` reads a calendar day (midnight UTC) or an ISO 8601
date-time with Z, an offset or no zone (then UTC): the API's `date`, train.py's `--until` and the manifest's instants.
`format_utc` writes ISO 8601 with a Z, to the second. A datetime without a zone is UTC (pandas' naive timestamps, as
Prophet wants them), never the server's local time. Standard library only (both sides).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TypeVar

Moment = TypeVar("Moment", bound=dt.datetime)  # a datetime or a subclass (pandas' Timestamp), kept as it is

FORMAT_HINT = (
    "expected YYYY-MM-DD or an ISO 8601 date-time, UTC unless it carries an offset (Z or ±HH:MM), "
    "e.g. 2025-01-01, 2025-01-01T12:00:00 or 2025-01-01T14:00:00+02:00"
)

# Exactly the values that parse, as one regular expression: the OpenAPI document publishes it, so clients and
# fuzzers know what a valid date is (calendar rules included), and the parser checks the same one.
_YEAR = "(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"  # 31-day months
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"  # 30-day months
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"  # February; the 29th only in leap years, below
)
_LEAP_DAY = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
_HOUR_MINUTE = "(?:[01][0-9]|2[0-3]):[0-5][0-9]"
# The offset's sign may be a space: an unencoded `+` in a query string (as curl and browsers send it) arrives
# decoded as one, and means `+`. Only in that position, so the pattern stays one definition with the parser.
_OFFSET_SIGN = "[-+ ]"
# The zone is optional: a date-time without one is UTC, as everywhere in this service (never the server's zone).
_TIME = f"T{_HOUR_MINUTE}(?::[0-5][0-9](?:\\.[0-9]{{1,6}})?)?(?:Z|{_OFFSET_SIGN}{_HOUR_MINUTE})?"
DATE_PATTERN = f"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})(?:{_TIME})?$"
_DATE = re.compile(DATE_PATTERN)
MAX_LENGTH = len("2025-01-01T00:00:00.000000+00:00")
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)
_LATEST = dt.datetime.max.replace(microsecond=0, tzinfo=dt.UTC)  # whole seconds: it is printed back


def parse_utc(text: str) -> dt.datetime:
    """Return an aware UTC datetime, or raise ValueError with a message a client can act on."""
    if len(text) > MAX_LENGTH or not _DATE.fullmatch(text):  # fullmatch: `$` alone allows a final newline
        raise ValueError(_explain(text))
    if len(text) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
    moment = dt.datetime.fromisoformat(_with_plus(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:  # no zone: UTC (astimezone would take it as the server's local time)
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except (OverflowError, ValueError):  # CPython raises either, depending on the direction
        # 0001-01-01T00:00+01:00 is a valid date-time before the first representable UTC instant (or after the
        # last): it is out of any model's range, which the caller reports as such.
        return _EARLIEST if moment.year == 1 else _LATEST


# The shape alone, without the calendar: a value of this shape that does not parse breaks a calendar rule,
# and Python's own message names it (month must be in 1..12, day is out of range for month, ...).
_SHAPE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    rf"(Z|{_OFFSET_SIGN}[0-9]{{2}}:[0-9]{{2}})?)?"
)


def _with_plus(text: str) -> str:
    """The value with a space read as the offset's `+`: the pattern allows a space nowhere else."""
    return text.replace(" ", "+")


def _explain(text: str) -> str:
    """Say what is wrong with a value that does not match: which calendar rule it breaks, if that is the reason."""
    if len(text) <= MAX_LENGTH and _SHAPE.fullmatch(text):
        try:
            dt.datetime.fromisoformat(_with_plus(text).replace("Z", "+00:00"))
        except ValueError as exc:
            return f"{text} is not a valid date-time ({exc}); {FORMAT_HINT}"
    return FORMAT_HINT


def as_utc(moment: Moment) -> Moment:
    """An aware UTC datetime; one without a zone is taken to be UTC already."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def naive_utc(moment: Moment) -> Moment:
    """The same instant without a zone, in UTC: how bars and Prophet count time."""
    return as_utc(moment).replace(tzinfo=None)


def epoch_of(moment: dt.datetime) -> int:
    """Whole Unix seconds of an instant (one without a zone is UTC)."""
    return int(as_utc(moment).timestamp())


def format_utc(moment: float | dt.datetime) -> str:
    """An instant (Unix seconds, or a datetime: one without a zone is UTC) as ISO 8601 UTC with a Z, to the second."""
    aware = dt.datetime.fromtimestamp(moment, tz=dt.UTC) if isinstance(moment, int | float) else as_utc(moment)
    return aware.strftime("%Y-%m-%dT%H:%M:%SZ")
