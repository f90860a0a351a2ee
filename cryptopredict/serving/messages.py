"""What the answers say in words: the refusals' messages, the notes, and the service's description.

Each text is written once, here: the schemas quote the notes in their enums, the lookups and routes send them, and
the chart page shows the track record's note as the API answers it.
"""

from __future__ import annotations

from cryptopredict.core.artifact import Artifact, PairModel, pair_name
from cryptopredict.core.dates import format_utc
from cryptopredict.core.settings import LIVE_TRAINING_COMMAND

HISTORICAL_SOURCES = {"embedded": "the embedded history", "csv": "a CSV file"}  # by the card's source.kind
LIVE_NOTE = "live data: /ready answers 503 once its newest bar closed longer ago than MAX_DATA_AGE_SECONDS"
HISTORICAL_NOTE = "historical data: not kept current"
# Why a record is empty, in the API's answer and on the chart page (which shows this note).
NOTHING_SCORED = (
    "nothing scored yet (each retraining scores the forecasts served since the last one, so the first points come "
    "with a second training run on bars that closed after the first run's newest bar)"
)

HOW_TO_GET_CURRENT_DATES = f"train on live data for current dates: {LIVE_TRAINING_COMMAND}"


def describe_span(seconds: float) -> str:
    """A span for people, rounded down: hours up to two days, days after that ("5 hours", "752 days")."""
    if seconds < 2 * 86_400:
        hours = max(0, int(seconds // 3_600))
        return f"{hours} hour{'' if hours == 1 else 's'}"
    days = int(seconds // 86_400)
    return f"{days} days"


def describe_source(kind: str) -> str:
    """Where historical bars came from, by the card's source.kind: "the embedded history", "a CSV file"."""
    return HISTORICAL_SOURCES.get(kind, f"{kind} data")


def explain_range_end(pair: PairModel) -> str:
    """Why the range ends where it does: the pair's data, its age, and for historical data how to get current dates."""
    table = pair.forecast
    newest = format_utc(pair.newest_close)
    age = describe_span(pair.data_age_seconds())
    if pair.live:
        return (
            f"its newest bar closed {age} ago ({newest}) and the range ends "
            f"{describe_span(table.end - table.last_bar)} after that bar; each retraining moves it forward"
        )
    return (
        f"this model was trained on {describe_source(pair.source_kind)}, whose newest price is from {newest} "
        f"({age} old); {HOW_TO_GET_CURRENT_DATES}"
    )


def describe_out_of_range(pair: PairModel, parameter: str, moment: float) -> str:
    """The range a model answers; past its end, also where the data ends, how old it is and how to get current dates."""
    table = pair.forecast
    message = (
        f"{parameter} {format_utc(moment)} is outside the range this model answers: "
        f"{format_utc(table.start)} to {format_utc(table.end)} "
        f"(last bar {format_utc(table.last_bar)} plus the forecast horizon)"
    )
    if moment > table.end:
        message += f"; {explain_range_end(pair)}"
    return message


def describe_reversed_range(first: float, first_default: str | None, last: float, last_default: str | None) -> str:
    """A start after the end. A defaulted side (its words given) is named as the default, with how it was chosen and
    how to change it: a client that gave only `start` never wrote the end it is told about."""
    if last_default is not None:
        return (
            f"start {format_utc(first)} is after the default end {format_utc(last)} ({last_default}); "
            "pass an end at or after the start"
        )
    if first_default is not None:
        return (
            f"the default start {format_utc(first)} ({first_default}) is after end {format_utc(last)}; "
            "pass a start at or before the end"
        )
    return f"start {format_utc(first)} is after end {format_utc(last)}"


def describe_too_many_points(bars: int, bar_length: str, cap: int, widest_end: str) -> str:
    """A range of more bars than one answer holds, with the widest `end` that fits."""
    return (
        f"the range holds {bars:,} bars of {bar_length}; at most {cap:,} are returned at once: narrow it, "
        f"for example end={widest_end}"
    )


def describe_unknown_pair(given: str, known: list[str]) -> str:
    """No model for the pair the path names; the ones served, as paths spell them."""
    return f"no model for the pair {given}; this service predicts {', '.join(known)} (see GET /pairs)"


def describe_service(artifact: Artifact) -> str:
    """The OpenAPI description: where each pair's data comes from, and whether it is retrained or ends somewhere."""
    live: list[str] = []
    historical: dict[tuple[str, int, int], list[str]] = {}  # pairs trained together share source and dates
    for pair in artifact.pairs.values():
        if pair.live:
            live.append(pair_name(pair.symbol))
        else:
            key = (pair.source_kind, pair.forecast.last_bar, pair.forecast.end)
            historical.setdefault(key, []).append(pair_name(pair.symbol))
    parts = [f"{', '.join(live)}: retrained every six hours on live Alpaca bars"] if live else []
    for (kind, last_bar, end), names in historical.items():
        parts.append(
            f"{', '.join(names)}: trained on historical data ({describe_source(kind)}) ending "
            f"{format_utc(last_bar)[:10]}; not retrained, so dates after {format_utc(end)} are refused "
            f"({HOW_TO_GET_CURRENT_DATES})"
        )
    return "Price predictions with a calibrated band. " + ". ".join(parts) + "."
