"""The API's contract, declared once: the query parameters, every answer's shape and what the OpenAPI document says
of them. The routes name these; nothing here answers a request.

Each schema class becomes the OpenAPI component of its name; card fields restated by /pairs and /ready are generated
from the kernel's typed declarations (records.py), so the document says what the declaration says.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

import marshmallow as ma

from cryptopredict.core.dates import DATE_PATTERN, FORMAT_HINT, MAX_LENGTH, parse_utc
from cryptopredict.core.forecast import DEFAULT_LEVEL, LEVELS, levels_text
from cryptopredict.core.manifest import Gate, Manifest, PairCard, Source
from cryptopredict.core.timeframe import TIMEFRAMES
from cryptopredict.core.track import Drift, TrackPoint, TrackSummary
from cryptopredict.core.typed_json import fields_of
from cryptopredict.serving.messages import HISTORICAL_NOTE, LIVE_NOTE, NOTHING_SCORED
from cryptopredict.serving.records import field_of, schema_of

MAX_POINTS = 1_000  # the most points one forecast range answers
DEFAULT_LIMIT = 100  # track-record points per page when `limit` is not given
MAX_LIMIT = 1_000


class ErrorSchema(ma.Schema):
    """Every error the API returns has this shape."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP status name"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong and how to fix it"})
    errors = ma.fields.Dict(metadata={"description": "Per-parameter messages, for invalid parameters"})


# --- the query parameters ---------------------------------------------------------------------------------------


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
    """The band's level: exactly one of LEVELS as written (`80`; not `80.0`, `080` or ` 80`), or the default.

    The level is the band's name everywhere in the code; answers carry it as a share in `interval` (coverage_of)."""

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


class Limit(ma.fields.Field):
    """How many points: digits only (`100`; not `1e2`, `100.0` or ` 100`), 1 to MAX_LIMIT."""

    MESSAGE = f"must be a whole number from 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"
    default_error_messages: ClassVar[dict[str, str]] = {"invalid": MESSAGE}

    def __init__(self) -> None:
        super().__init__(
            load_default=DEFAULT_LIMIT,
            metadata={
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
                "description": "At most this many points, newest first",
            },
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_LIMIT:
            return int(value)
        raise ma.ValidationError(f"{self.MESSAGE}, not {value!r:.40}")


def default_bound(side: Literal["before", "after"]) -> str:
    """GET .../forecast's default start ("before") or end ("after") in words, for every bar length."""
    spans = ", ".join(
        f"{tf.name}: {tf.horizon_label(tf.range_before_bars if side == 'before' else tf.range_after_bars)}"
        for tf in TIMEFRAMES.values()
    )
    return f"{spans} {side} the last bar, by the pair's timeframe"


class Query(ma.Schema):
    """A query string: parameters it does not name are ignored."""

    class Meta:
        unknown = ma.EXCLUDE  # cache-busters and tracking parameters are harmless


class PredictionQuery(Query):
    date = UtcDateTime(
        required=True,
        metadata={
            "description": "A UTC day (YYYY-MM-DD) or an ISO 8601 date-time with Z, an offset or no zone",
            "example": "2025-01-01",
        },
    )
    level = Level()


class ForecastQuery(Query):
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


class TrackRecordQuery(Query):
    limit = Limit()
    before = UtcDateTime(
        metadata={
            "description": (
                "Only points for bars before this moment (same format as `date`): pass the `date` of the oldest point "
                "of a page, or follow `next`, to page back"
            ),
            "example": "2025-03-01T12:00:00Z",
        }
    )


# --- the predictions --------------------------------------------------------------------------------------------

FORECAST_DESCRIPTION = (
    "The default range follows the pair's bar length (its `timeframe` in GET /pairs): "
    + "; ".join(
        f"{tf.name} bars, {tf.horizon_label(tf.range_before_bars)} before the last bar to "
        f"{tf.horizon_label(tf.range_after_bars)} after it"
        for tf in TIMEFRAMES.values()
    )
    + f". At most {MAX_POINTS:,} points; a wider range is a 422 whose message suggests an `end` that fits."
)
# The refusals the routes document, each said the same way wherever it can happen.
UNKNOWN_PAIR = "No model for this pair; the message lists the known ones"
DATE_OUTSIDE = "The date is outside the range the model answers"
RANGE_REFUSED = f"Outside the model's range, or more than {MAX_POINTS:,} bars"


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


# --- the pairs and their freshness ------------------------------------------------------------------------------


class Freshness(ma.Schema):
    """Where a pair's bars came from and how old its data and its model are (freshness.py fills it)."""

    class Meta:
        description = "Where a pair's bars came from and how old its data and its model are"

    source = field_of(fields_of(Source)["kind"])  # the card's source.kind
    live = ma.fields.Boolean(
        required=True,
        metadata={"description": "Trained on live data (alpaca), which /ready expects to be current"},
    )
    last_bar = field_of(fields_of(PairCard)["last_bar"])
    newest_close = ma.fields.String(
        required=True,
        metadata={"format": "date-time", "description": "When the newest bar closed: the newest price the model knows"},
    )
    data_age_seconds = ma.fields.Integer(
        required=True, metadata={"description": "Now minus newest_close, in seconds: how old the newest price is"}
    )
    model_age_seconds = ma.fields.Integer(
        required=True, metadata={"description": "Seconds since this pair's forecast was made (its trained_at)"}
    )
    note = ma.fields.String(
        required=True,
        metadata={
            "enum": [LIVE_NOTE, HISTORICAL_NOTE],
            "description": "For embedded or csv data, that it is historical and not kept current",
        },
    )


class PairSummary(Freshness):
    """A pair served: its model, the dates it answers, and how fresh its data and model are (see Freshness)."""

    class Meta:
        description = "A pair served: its model, bar length, the dates it answers, and how fresh its data and model are"

    pair = ma.fields.String(required=True, metadata={"example": "ETH-USD", "description": "The form used in paths"})
    symbol = field_of(fields_of(PairCard)["symbol"], example="ETH/USD")
    model_version = field_of(fields_of(PairCard)["model_version"])
    trained_at = field_of(fields_of(PairCard)["trained_at"])
    timeframe = field_of(fields_of(PairCard)["timeframe"])
    bar_seconds = ma.fields.Integer(
        required=True, metadata={"description": "The bar length in seconds: the step between forecast rows"}
    )
    interval = field_of(fields_of(PairCard)["interval"])
    first_date = ma.fields.String(required=True, metadata={"format": "date-time", "description": "Earliest date"})
    last_date = ma.fields.String(required=True, metadata={"format": "date-time", "description": "Latest date"})
    gate_passed = field_of(fields_of(Gate)["passed"])  # the card's gate.passed
    predict = ma.fields.String(required=True, metadata={"example": "/predict/ETH-USD"})
    degraded = field_of(fields_of(Drift)["degraded"])  # its track record's drift verdict
    track_record = ma.fields.String(required=True, metadata={"example": "/pairs/ETH-USD/track-record"})


class PairList(ma.Schema):
    model_version = field_of(fields_of(Manifest)["model_version"])
    pairs = ma.fields.List(ma.fields.Nested(PairSummary), required=True)


# --- the service's status ---------------------------------------------------------------------------------------

READINESS_RULE = (
    "Ready while every pair's model is younger than MAX_MODEL_AGE_SECONDS and every live pair's newest bar (source "
    "alpaca) closed less than MAX_DATA_AGE_SECONDS ago; otherwise 503, naming each stale pair and its age. A pair "
    "trained on the embedded history or a CSV file is listed with its source, its data's age and `live: false`, "
    "noted as historical data that is not kept current: its data's age never makes /ready fail, and /ready never "
    "calls it current."
)
SERVED_PAIRS = (
    "Each pair's model card, by the pair's path form (ETH-USD), as GET /pairs and /predict/{pair} spell it; "
    "the card's `symbol` is ETH/USD"
)


class Health(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})
    model_version = field_of(fields_of(Manifest)["model_version"])


class PairReadiness(Freshness):
    class Meta:
        description = "One pair's source, data age and model age"

    pair = ma.fields.String(required=True, metadata={"example": "BTC-USD"})
    symbol = field_of(fields_of(PairCard)["symbol"])


class Readiness(ma.Schema):
    class Meta:
        description = READINESS_RULE

    status = ma.fields.String(required=True, metadata={"example": "ready"})
    model_version = field_of(fields_of(Manifest)["model_version"])
    model_age_seconds = ma.fields.Integer(
        required=True, metadata={"description": "Seconds since the least recently trained pair was trained"}
    )
    max_model_age_seconds = ma.fields.Integer(required=True, metadata={"description": "Older than this is stale"})
    data_age_seconds = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": (
                "The largest `data_age_seconds` among live pairs (source alpaca): seconds since the newest bar of the "
                "live pair with the oldest data closed, the figure held against max_data_age_seconds. Null when no "
                "pair is live: historical data (embedded, csv) is never stale, so it has no age to hold against the "
                "limit here; each pair's own age is in `pairs`"
            )
        },
    )
    max_data_age_seconds = ma.fields.Integer(
        required=True, metadata={"description": "A live pair whose newest bar closed longer ago than this is stale"}
    )
    pairs = ma.fields.List(
        ma.fields.Nested(PairReadiness),
        required=True,
        metadata={"description": "Every pair: where its data came from and how old it and the model are"},
    )


# The manifest as /model serves it: the artifact on disk keys pairs by symbol (ETH/USD); the API spells a pair one
# way everywhere, the path form. Named like the record, so the component stays `Manifest`.
ServedManifest = type(
    Manifest.__name__,
    (schema_of(Manifest),),
    {"pairs": field_of(fields_of(Manifest)["pairs"], description=SERVED_PAIRS)},
)


# --- the track record -------------------------------------------------------------------------------------------


class TrackRecordPage(ma.Schema):
    pair = ma.fields.String(required=True, metadata={"example": "BTC-USD", "description": "The form used in paths"})
    summary = ma.fields.Nested(schema_of(TrackSummary), required=True)
    points = ma.fields.List(
        ma.fields.Nested(schema_of(TrackPoint)),
        required=True,
        metadata={"maxItems": MAX_LIMIT, "description": "The scored points, newest first"},
    )
    next = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The next (older) page's path and query; null when these are the oldest points"},
    )
    note = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "enum": [NOTHING_SCORED, None],
            "description": (
                "Why the summary's figures are null and its drift verdict is `too few points` when nothing has been "
                "scored yet; null once the record has points"
            ),
        },
    )
