"""Finding a pair's model and answering a date or a range from its forecast table, with the checks that refuse one.

A pair reaches the API in a path, as the path form (ETH-USD, any case) or the symbol (ETH/USD); `require_known_pair`
turns it into the pair's model before the view runs, and past that point a pair is its model and its symbol. The
path form (core.artifact.pair_name) is only written out again: where an answer, a link or a metric names a pair.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

from flask import Flask, current_app, g, request
from flask_smorest import Api, abort
from werkzeug.routing import BaseConverter

from cryptopredict.core.artifact import Artifact, PairModel, pair_name
from cryptopredict.core.dates import format_utc
from cryptopredict.core.forecast import DEFAULT_LEVEL, ForecastTable, OutOfRange, coverage_of
from cryptopredict.serving.messages import (
    describe_out_of_range,
    describe_reversed_range,
    describe_too_many_points,
    describe_unknown_pair,
)
from cryptopredict.serving.schemas import MAX_POINTS

EXAMPLE_PAIR = "ETH-USD"


class PairConverter(BaseConverter):
    """A pair in a path, written BASE-QUOTE (ETH-USD), the documented form, or BASE/QUOTE: the symbol the API
    returns, slash encoded (ETH%2FUSD), which WSGI decodes to a slash before routing. Any segment (or two) matches,
    so an unknown pair gets the API's own 404 naming the known ones; each app subclasses it with the pairs it
    serves, for the OpenAPI enum."""

    # A slash in the regex makes Werkzeug match it across segments (part_isolating is then False).
    regex = r"[^/]+(?:/[^/]+)?"
    known: tuple[str, ...] = ()


def install_pair_converter(app: Flask, api: Api, artifact: Artifact) -> None:
    """Make `<pair:...>` routes match, and document them with this artifact's pairs (before routes register)."""
    known = tuple(pair_name(symbol) for symbol in artifact.pairs)
    app.url_map.converters["pair"] = type("ServedPairConverter", (PairConverter,), {"known": known})
    api.register_converter(
        PairConverter,
        lambda converter: {
            "type": "string",
            "enum": list(converter.known),
            "example": EXAMPLE_PAIR if EXAMPLE_PAIR in converter.known else converter.known[0],
        },
    )


def find_pair(artifact: Artifact, given: str) -> PairModel:
    """The model of the pair a path gives, or a 404 that lists the pairs this service predicts."""
    pair = artifact.find(given)
    if pair is None:
        known = [pair_name(symbol) for symbol in artifact.pairs]
        abort(404, message=describe_unknown_pair(given, known), errors={"pair": {"unknown": given, "known": known}})
    return pair


def require_known_pair() -> None:
    """A blueprint's hook: an unknown pair is a 404 before anything else about the request (its date, say) is judged;
    a known one is `g.pair` for the view."""
    given = (request.view_args or {}).get("pair")
    if given is not None:
        g.pair = find_pair(current_app.extensions["artifact"], given)


def abort_out_of_range(pair: PairModel, parameter: str, moment: float) -> NoReturn:
    """422 naming the range; past its end, also where the data ends, how old it is and how to get current dates."""
    abort(422, message=describe_out_of_range(pair, parameter, moment))


def predict_at(pair: PairModel, moment: dt.datetime, level: int = DEFAULT_LEVEL) -> dict[str, Any]:
    """Look one moment up with the band of `level`, or abort with 422 naming the range the model answers."""
    table = pair.forecast
    try:
        point = table.lookup(moment.timestamp(), level)
    except OutOfRange:
        abort_out_of_range(pair, "date", moment.timestamp())
    return {
        "date": format_utc(point.epoch),
        "prediction": point.prediction,
        "prediction_low": point.low,
        "prediction_high": point.high,
        "symbol": table.symbol,
        "interval": coverage_of(level),
        "model_version": pair.version,
    }


def default_start(pair: PairModel) -> tuple[float, str]:
    """GET .../forecast's start when none is given, and how it was chosen, in words for an error message."""
    table, timeframe = pair.forecast, pair.timeframe
    wanted = table.last_bar - timeframe.range_before_bars * timeframe.seconds
    if wanted < table.start:  # a short history: the range starts where the table does
        return table.start, "the first date this model answers"
    span = timeframe.horizon_label(timeframe.range_before_bars)
    return wanted, f"{span} before the last bar, {format_utc(table.last_bar)}"


def default_end(pair: PairModel) -> tuple[float, str]:
    """GET .../forecast's end when none is given, and how it was chosen, in words for an error message."""
    table, timeframe = pair.forecast, pair.timeframe
    wanted = table.last_bar + timeframe.range_after_bars * timeframe.seconds
    if wanted > table.end:  # a short horizon: the range ends where the table does
        return table.end, "the last date this model answers"
    span = timeframe.horizon_label(timeframe.range_after_bars)
    return wanted, f"{span} after the last bar, {format_utc(table.last_bar)}"


def resolve_range(pair: PairModel, start: dt.datetime | None, end: dt.datetime | None) -> tuple[float, float]:
    """The range's first and last moments, given or defaulted to the pair's timeframe's range around the last bar
    (clipped to the table); 422 when either is outside the table or they are reversed."""
    # A given side has no default words: an error message names only defaults as such.
    first, first_default = (start.timestamp(), None) if start else default_start(pair)
    last, last_default = (end.timestamp(), None) if end else default_end(pair)
    for parameter, moment in (("start", first), ("end", last)):
        try:
            pair.forecast.require_inside(moment)
        except OutOfRange:
            abort_out_of_range(pair, parameter, moment)
    if first > last:
        abort(422, message=describe_reversed_range(first, first_default, last, last_default))
    return first, last


def rows_within_cap(pair: PairModel, first: float, last: float) -> range:
    """The table's rows from `first` to `last`; 422 when they are more than one answer holds."""
    table = pair.forecast
    rows = table.rows_between(first, last)
    if len(rows) > MAX_POINTS:
        # The last bar that still fits: on the grid, inside the table, and exactly MAX_POINTS from `start`.
        widest = format_utc(table.time_of(rows[MAX_POINTS - 1]))
        abort(422, message=describe_too_many_points(len(rows), pair.timeframe.horizon_label(1), MAX_POINTS, widest))
    return rows


def forecast_point(table: ForecastTable, row: int, level: int) -> dict[str, Any]:
    """One bar of a forecast range: its forecast, the band of `level` and the observed close."""
    low, high = table.band_at(row, level)
    return {
        "date": format_utc(table.time_of(row)),
        "prediction": table.prediction[row],
        "prediction_low": low,
        "prediction_high": high,
        "actual": table.actual[row],
    }


def forecast_between(
    pair: PairModel, start: dt.datetime | None, end: dt.datetime | None, level: int = DEFAULT_LEVEL
) -> dict[str, Any]:
    """Every bar from `start` to `end` with its forecast, the band of `level` and the observed close; 422 when too
    many or outside."""
    table = pair.forecast
    first, last = resolve_range(pair, start, end)
    return {
        "symbol": table.symbol,
        "timeframe": table.timeframe,
        "interval": coverage_of(level),
        "model_version": pair.version,
        "last_bar": format_utc(table.last_bar),
        "points": [forecast_point(table, row, level) for row in rows_within_cap(pair, first, last)],
    }
