"""GET /bitcoin: the predicted price and its band at a date, looked up in the materialised forecast.

The query and response schemas and the lookups here serve /predict/{pair} as well (see pairs.py).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar, Literal, NoReturn

import marshmallow as ma
from flask import Response, current_app
from flask_smorest import abort

from cryptopredict.core.artifact import Artifact, PairModel, pair_name
from cryptopredict.core.dates import DATE_PATTERN, FORMAT_HINT, MAX_LENGTH, format_utc, parse_utc
from cryptopredict.core.forecast import DEFAULT_LEVEL, LEVELS, OutOfRange, coverage_of, levels_text
from cryptopredict.core.settings import BITCOIN, LIVE_TRAINING_COMMAND
from cryptopredict.core.timeframe import TIMEFRAMES
from cryptopredict.serving.http import ErrorSchema, StrictBlueprint

blp = StrictBlueprint("bitcoin", __name__, url_prefix="/bitcoin", description="Bitcoin price predictions")


class UtcDateTime(ma.fields.Field):
    """A date or an ISO 8601 date-time, loaded as an aware UTC datetime."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "required": f"is required; {FORMAT_HINT}",
        "invalid": FORMAT_HINT,
    }

    # What the pattern allows that a reader might not guess: every date parameter's description says it.
    NO_ZONE_IS_UTC = "A date-time without a zone (2025-01-01T18:30:00) is UTC, never the server's local time."
    SPACE_AS_PLUS = (
        "A space in place of the offset's `+` is read as `+`: an unencoded `+` in a query string "
        "(2025-01-01T18:30:00+02:00, as curl and browsers send it) arrives as a space."
    )

    def __init__(self, **kwargs: Any) -> None:
        # The OpenAPI document gets the exact syntax the parser accepts.
        metadata = {"type": "string", "pattern": DATE_PATTERN, "maxLength": MAX_LENGTH, **kwargs.pop("metadata", {})}
        notes = f"{self.NO_ZONE_IS_UTC} {self.SPACE_AS_PLUS}"
        metadata["description"] = f"{metadata.get('description', '')}. {notes}".lstrip(". ")
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return parse_utc(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


class Level(ma.fields.Field):
    """The band's level: exactly one of LEVELS as written (`80`; not `80.0`, `080` or ` 80`), or the default."""

    ALLOWED: ClassVar[dict[str, int]] = {str(level): level for level in LEVELS}
    MESSAGE = f"must be one of {', '.join(ALLOWED)}: the band's nominal coverage in percent (default {DEFAULT_LEVEL})"

    def __init__(self) -> None:
        super().__init__(
            load_default=DEFAULT_LEVEL,
            metadata={
                "type": "integer",
                "enum": list(LEVELS),
                "default": DEFAULT_LEVEL,
                "description": (
                    f"The band's level: its nominal coverage in percent, {levels_text()}. `prediction_low` and "
                    f"`prediction_high` are that band, calibrated on the backtest's errors, and `interval` its "
                    f"nominal coverage (0.5, 0.8, 0.95); the bands are nested"
                ),
            },
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and value in self.ALLOWED:
            return self.ALLOWED[value]
        raise ma.ValidationError(f"{self.MESSAGE}, not {value!r:.40}")


class PredictionQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # cache-busters and tracking parameters are harmless

    date = UtcDateTime(
        required=True,
        metadata={
            "description": "A UTC day (YYYY-MM-DD) or an ISO 8601 date-time with Z, an offset or no zone",
            "example": "2025-01-01",
        },
    )
    level = Level()


class Prediction(ma.Schema):
    date = ma.fields.String(
        required=True, metadata={"format": "date-time", "description": "The moment predicted for, in UTC"}
    )
    prediction = ma.fields.Float(required=True, metadata={"description": "Predicted close in the quote currency"})
    prediction_low = ma.fields.Float(required=True, metadata={"description": "Lower end of the band"})
    prediction_high = ma.fields.Float(required=True, metadata={"description": "Upper end of the band"})
    symbol = ma.fields.String(required=True, metadata={"example": "BTC/USD"})
    interval = ma.fields.Float(
        required=True,
        metadata={"description": "Nominal coverage of the band: the `level` asked for, as a share", "example": 0.8},
    )
    model_version = ma.fields.String(required=True)


MAX_POINTS = 1_000


def default_bound(side: Literal["before", "after"]) -> str:
    """GET .../forecast's default start ("before") or end ("after") in words, for every bar length."""
    spans = ", ".join(
        f"{tf.name}: {tf.horizon_label(tf.range_before_bars if side == 'before' else tf.range_after_bars)}"
        for tf in TIMEFRAMES.values()
    )
    return f"{spans} {side} the last bar, by the pair's timeframe"


FORECAST_DESCRIPTION = (
    "The default range follows the pair's bar length (its `timeframe` in GET /pairs): "
    + "; ".join(
        f"{tf.name} bars, {tf.horizon_label(tf.range_before_bars)} before the last bar to "
        f"{tf.horizon_label(tf.range_after_bars)} after it"
        for tf in TIMEFRAMES.values()
    )
    + f". At most {MAX_POINTS:,} points; a wider range is a 422 whose message suggests an `end` that fits."
)


HISTORICAL_SOURCES = {"embedded": "the embedded history", "csv": "a CSV file"}  # by the card's source.kind


def span_words(seconds: float) -> str:
    """A span for people, rounded down: hours up to two days, days after that ("5 hours", "752 days")."""
    if seconds < 2 * 86_400:
        hours = max(0, int(seconds // 3_600))
        return f"{hours} hour{'' if hours == 1 else 's'}"
    days = int(seconds // 86_400)
    return f"{days} days"


def data_story(pair: PairModel) -> str:
    """Why the range ends where it does: the pair's data, its age, and for historical data how to get current dates."""
    table = pair.forecast
    newest = format_utc(pair.newest_close)
    age = span_words(pair.data_age_seconds())
    if pair.live:
        return (
            f"its newest bar closed {age} ago ({newest}) and the range ends "
            f"{span_words(table.end - table.last_bar)} after that bar; each retraining moves it forward"
        )
    source = HISTORICAL_SOURCES.get(pair.source_kind, f"{pair.source_kind} data")
    return (
        f"this model was trained on {source}, whose newest price is from {newest} ({age} old); "
        f"train on live data for current dates: {LIVE_TRAINING_COMMAND}"
    )


def abort_out_of_range(pair: PairModel, name: str, moment: float) -> NoReturn:
    """422 naming the range; past its end, also where the data ends, how old it is and how to get current dates."""
    table = pair.forecast
    message = (
        f"{name} {format_utc(moment)} is outside the range this model answers: "
        f"{format_utc(table.start)} to {format_utc(table.end)} "
        f"(last bar {format_utc(table.last_bar)} plus the forecast horizon)"
    )
    if moment > table.end:
        message += f"; {data_story(pair)}"
    abort(422, message=message)


def find_pair(artifact: Artifact, name: str) -> PairModel:
    """The pair's model, or a 404 that lists the pairs this service predicts."""
    pair = artifact.find(name)
    if pair is None:
        known = [pair_name(symbol) for symbol in artifact.pairs]
        abort(
            404,
            message=f"no model for the pair {name}; this service predicts {', '.join(known)} (see GET /pairs)",
            errors={"pair": {"unknown": name, "known": known}},
        )
    return pair


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


@blp.route("")
@blp.arguments(PredictionQuery(), location="query", error_status_code=400)
@blp.response(200, Prediction())
@blp.alt_response(422, schema=ErrorSchema, description="The date is outside the range the model answers")
def get_prediction(query: dict[str, Any]) -> Response:
    """Predicted price at a date, with its band

    Between two bars the values are interpolated linearly. The same date always gets the same answer
    from the same model version.
    """
    artifact = current_app.extensions["artifact"]
    return encode(predict_at(find_pair(artifact, BITCOIN), query["date"], query["level"]))


def encode(body: dict[str, Any]) -> Response:
    """JSON without a marshmallow dump: the bodies already have the documented shape (the tests check them
    against the schemas), and skipping the dump matters on the hot path."""
    return Response(json.dumps(body, separators=(",", ":")), mimetype="application/json")


class ForecastQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    start = UtcDateTime(
        metadata={
            "description": f"First moment of the range, same format as `date` (default: {default_bound('before')})",
            "example": "2024-09-01",
        }
    )
    end = UtcDateTime(
        metadata={
            "description": f"Last moment of the range (default: {default_bound('after')})",
            "example": "2024-12-01",
        }
    )
    level = Level()


class ForecastPoint(ma.Schema):
    date = ma.fields.String(required=True, metadata={"format": "date-time"})
    prediction = ma.fields.Float(required=True)
    prediction_low = ma.fields.Float(required=True)
    prediction_high = ma.fields.Float(required=True)
    actual = ma.fields.Float(
        required=True, allow_none=True, metadata={"description": "The observed close; null in a gap or the future"}
    )


class ForecastRange(ma.Schema):
    symbol = ma.fields.String(required=True)
    timeframe = ma.fields.String(required=True)
    interval = ma.fields.Float(
        required=True, metadata={"description": "Nominal coverage of the points' band: the `level` asked for"}
    )
    model_version = ma.fields.String(required=True)
    last_bar = ma.fields.String(required=True, metadata={"format": "date-time"})
    points = ma.fields.List(ma.fields.Nested(ForecastPoint), required=True, metadata={"maxItems": MAX_POINTS})


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


def abort_reversed(first: float, first_default: str | None, last: float, last_default: str | None) -> NoReturn:
    """422 for a start after the end. A defaulted side (its words given) is named as the default, with how it was
    chosen and how to change it: a client that gave only `start` never wrote the end it is told about."""
    if last_default is not None:
        message = (
            f"start {format_utc(first)} is after the default end {format_utc(last)} ({last_default}); "
            "pass an end at or after the start"
        )
    elif first_default is not None:
        message = (
            f"the default start {format_utc(first)} ({first_default}) is after end {format_utc(last)}; "
            "pass a start at or before the end"
        )
    else:
        message = f"start {format_utc(first)} is after end {format_utc(last)}"
    abort(422, message=message)


def forecast_between(
    pair: PairModel, start: dt.datetime | None, end: dt.datetime | None, level: int = DEFAULT_LEVEL
) -> dict[str, Any]:
    """Every bar from `start` to `end` with its forecast, the band of `level` and the observed close; 422 when too
    many or outside.

    Missing ends default to the pair's timeframe's range around the last bar, clipped to the table."""
    table = pair.forecast
    timeframe = pair.timeframe
    # A given side has no default words: an error message names only defaults as such.
    first, first_default = (start.timestamp(), None) if start else default_start(pair)
    last, last_default = (end.timestamp(), None) if end else default_end(pair)
    for name, moment in (("start", first), ("end", last)):
        try:
            table.require_inside(moment)
        except OutOfRange:
            abort_out_of_range(pair, name, moment)
    if first > last:
        abort_reversed(first, first_default, last, last_default)
    rows = table.rows_between(first, last)
    if len(rows) > MAX_POINTS:
        # The last bar that still fits: on the grid, inside the table, and exactly MAX_POINTS from `start`.
        widest = format_utc(table.time_of(rows[MAX_POINTS - 1]))
        abort(
            422,
            message=(
                f"the range holds {len(rows):,} bars of {timeframe.horizon_label(1)}; at most {MAX_POINTS:,} are "
                f"returned at once: narrow it, for example end={widest}"
            ),
        )
    points = []
    for row in rows:
        low, high = table.band_at(row, level)
        points.append(
            {
                "date": format_utc(table.time_of(row)),
                "prediction": table.prediction[row],
                "prediction_low": low,
                "prediction_high": high,
                "actual": table.actual[row],
            }
        )
    return {
        "symbol": table.symbol,
        "timeframe": table.timeframe,
        "interval": coverage_of(level),
        "model_version": pair.version,
        "last_bar": format_utc(table.last_bar),
        "points": points,
    }


@blp.route("/forecast")
@blp.arguments(ForecastQuery(), location="query", error_status_code=400)
@blp.response(200, ForecastRange())
@blp.alt_response(422, schema=ErrorSchema, description=f"Outside the model's range, or more than {MAX_POINTS:,} bars")
@blp.doc(description=FORECAST_DESCRIPTION)
def get_forecast(query: dict[str, Any]) -> Response:
    """The forecast over a range, one point per bar"""
    pair = find_pair(current_app.extensions["artifact"], BITCOIN)
    return encode(forecast_between(pair, query.get("start"), query.get("end"), query["level"]))
