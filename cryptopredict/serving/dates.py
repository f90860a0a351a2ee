"""Parsing the `date` query value: a calendar day or an ISO 8601 date-time with Z or an offset."""

from __future__ import annotations

import datetime as dt
import re

FORMAT_HINT = (
    "expected YYYY-MM-DD or an ISO 8601 date-time with Z or an offset, e.g. 2025-01-01 or 2025-01-01T12:00:00Z"
)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MOMENT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_LONGEST = len("2025-01-01T00:00:00.000000+00:00")


def parse_utc(text: str) -> dt.datetime:
    """Return an aware UTC datetime, or raise ValueError with a message a client can act on."""
    if len(text) > _LONGEST or not (_DAY.fullmatch(text) or _MOMENT.fullmatch(text)):
        raise ValueError(FORMAT_HINT)
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{text} is not a valid date-time ({exc}); {FORMAT_HINT}") from None
