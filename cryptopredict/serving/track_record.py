"""GET /pairs/{pair}/track-record: what the served models answered, against what happened; and its /metrics series.

The record is the artifact's `<pair>.record.json` (cryptopredict/core/track.py defines it, the summary and the drift
verdict); the schemas here are generated from its records, so the document says what the definition says.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar
from urllib.parse import urlencode

import marshmallow as ma
from flask import Response, g
from prometheus_client import CollectorRegistry, Gauge

from cryptopredict.core.artifact import Artifact, pair_name
from cryptopredict.core.dates import format_utc
from cryptopredict.core.track import BucketFigures, Drift, Figures, TrackPoint, TrackSummary
from cryptopredict.serving.http import ErrorSchema, StrictBlueprint
from cryptopredict.serving.pairs import require_known_pair
from cryptopredict.serving.predictions import UtcDateTime, encode
from cryptopredict.serving.records import schema_of

blp = StrictBlueprint("track_record", __name__, description="The track record: served forecasts against what happened")
blp.before_request(require_known_pair)  # an unknown pair is the usual 404, before the query is judged
DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000
# Why a record is empty, in the API's answer and on the chart page (which shows this note): defined once, here.
NOTHING_SCORED = (
    "nothing scored yet (each retraining scores the forecasts served since the last one, so the first points come "
    "with a second training run on bars that closed after the first run's newest bar)"
)


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


class TrackRecordQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

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


@blp.route("/pairs/<pair:pair>/track-record")
@blp.arguments(TrackRecordQuery(), location="query", error_status_code=400)
@blp.response(200, TrackRecordPage())
@blp.alt_response(404, schema=ErrorSchema, description="No model for this pair; the message lists the known ones")
def get_track_record(query: dict[str, Any], pair: str) -> Response:  # `pair` is checked before: g.pair
    """A pair's track record: every served forecast scored against the actual close

    Each training run scores the forecasts the previous model answered (without `level`) for every bar that closed
    since that model's newest bar, against the bar's close, and the naive forecast (that newest bar's close) on the
    same points. `summary` gives MAPE, the naive forecast's MAPE, their ratio and the band's coverage overall, by
    horizon bucket and by served model version, and the drift verdict on the newest points.
    """
    record = g.pair.record
    name = pair_name(g.pair.symbol)
    before = query.get("before")
    indices = record.newest_first(None if before is None else before.timestamp())
    page = [i for _, i in zip(range(query["limit"]), indices, strict=False)]
    next_link = None
    if page and page[-1] > 0:
        cursor = format_utc(record.date[page[-1]])
        next_link = f"/pairs/{name}/track-record?" + urlencode({"limit": query["limit"], "before": cursor})
    empty = record.summary[TrackSummary.overall][Figures.points] == 0  # archived points count: they were scored
    body = {"pair": name, "summary": record.summary, "points": [record.point(i) for i in page], "next": next_link}
    return encode({**body, "note": NOTHING_SCORED if empty else None})


def add_track_metrics(registry: CollectorRegistry, artifact: Artifact) -> None:
    """The live record per pair and bucket (and `all`) as gauges, and whether each pair is degraded."""
    labels = ["pair", "bucket"]
    ratio = Gauge(
        "crypto_predict_live_mape_ratio",
        "Served forecasts' MAPE over the naive forecast's on the same bars, from the track record",
        labels,
        registry=registry,
    )
    coverage = Gauge(
        "crypto_predict_live_coverage",
        "Share of actual closes inside the served band (nominally 80 %), from the track record",
        labels,
        registry=registry,
    )
    points = Gauge("crypto_predict_live_points", "Points in the track record", labels, registry=registry)
    degraded = Gauge(
        "crypto_predict_degraded",
        "1 when the pair's live record breaks a drift rule over its newest points (see /pairs/{pair}/track-record)",
        ["pair"],
        registry=registry,
    )
    for symbol, pair in artifact.pairs.items():
        if pair.record is None:
            continue
        summary = pair.record.summary
        drift = summary[TrackSummary.drift]
        rows = [(b[BucketFigures.bucket], b[BucketFigures.figures]) for b in summary[TrackSummary.buckets]]
        rows += [("all", summary[TrackSummary.overall]), ("drift window", drift[Drift.figures])]
        name = pair_name(symbol)
        for bucket, figures in rows:
            points.labels(name, bucket).set(figures[Figures.points])
            # No points, no figure: NaN, which Prometheus reads as "no value".
            ratio.labels(name, bucket).set(_or_nan(figures[Figures.mape_ratio]))
            coverage.labels(name, bucket).set(_or_nan(figures[Figures.coverage]))
        degraded.labels(name).set(1 if drift[Drift.degraded] else 0)


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value
