"""GET /pairs and GET /predict/{pair}: every pair the artifact holds, with /bitcoin's contract for each."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, Response, current_app, g, request
from flask_smorest import Api
from werkzeug.routing import BaseConverter

from cryptopredict.core.artifact import Artifact, pair_name
from cryptopredict.core.dates import format_utc
from cryptopredict.core.manifest import Gate, Manifest, PairCard
from cryptopredict.core.track import Drift
from cryptopredict.serving.freshness import Freshness, freshness
from cryptopredict.serving.http import ErrorSchema, StrictBlueprint
from cryptopredict.serving.predictions import (
    FORECAST_DESCRIPTION,
    MAX_POINTS,
    ForecastQuery,
    ForecastRange,
    Prediction,
    PredictionQuery,
    encode,
    find_pair,
    forecast_between,
    predict_at,
)
from cryptopredict.serving.records import field_of

blp = StrictBlueprint("pairs", __name__, description="Predictions for every pair served")
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


class PairSummary(Freshness):
    """A pair served: its model, the dates it answers, and how fresh its data and model are (see Freshness)."""

    class Meta:
        description = "A pair served: its model, bar length, the dates it answers, and how fresh its data and model are"

    pair = ma.fields.String(required=True, metadata={"example": "ETH-USD", "description": "The form used in paths"})
    symbol = field_of(PairCard.fields["symbol"], example="ETH/USD")
    model_version = field_of(PairCard.fields["model_version"])
    trained_at = field_of(PairCard.fields["trained_at"])
    timeframe = field_of(PairCard.fields["timeframe"])
    bar_seconds = ma.fields.Integer(
        required=True, metadata={"description": "The bar length in seconds: the step between forecast rows"}
    )
    interval = field_of(PairCard.fields["interval"])
    first_date = ma.fields.String(required=True, metadata={"format": "date-time", "description": "Earliest date"})
    last_date = ma.fields.String(required=True, metadata={"format": "date-time", "description": "Latest date"})
    gate_passed = field_of(Gate.fields["passed"])  # the card's gate.passed
    predict = ma.fields.String(required=True, metadata={"example": "/predict/ETH-USD"})
    degraded = field_of(Drift.fields["degraded"])  # its track record's drift verdict
    track_record = ma.fields.String(required=True, metadata={"example": "/pairs/ETH-USD/track-record"})


class PairList(ma.Schema):
    model_version = field_of(Manifest.fields["model_version"])
    pairs = ma.fields.List(ma.fields.Nested(PairSummary), required=True)


@blp.before_request
def require_known_pair() -> None:
    """An unknown pair is a 404 before anything else about the request (its date, say) is judged."""
    name = (request.view_args or {}).get("pair")
    if name is not None:
        g.pair = find_pair(current_app.extensions["artifact"], name)


@blp.route("/pairs")
@blp.response(200, PairList())
def get_pairs() -> Response:
    """The pairs this service predicts: model versions, bar lengths, the dates each answers and how fresh it is"""
    artifact = current_app.extensions["artifact"]
    pairs = [
        {
            "pair": pair_name(symbol),
            "symbol": symbol,
            "model_version": pair.version,
            "trained_at": pair.card[PairCard.trained_at],
            "timeframe": pair.timeframe.name,
            "bar_seconds": pair.timeframe.seconds,
            "interval": pair.forecast.interval,
            **freshness(pair),
            "first_date": format_utc(pair.forecast.start),
            "last_date": format_utc(pair.forecast.end),
            "gate_passed": bool(pair.card[PairCard.gate][Gate.passed]),
            "predict": f"/predict/{pair_name(symbol)}",
            "degraded": bool(pair.record and pair.record.degraded),
            "track_record": f"/pairs/{pair_name(symbol)}/track-record",
        }
        for symbol, pair in artifact.pairs.items()
    ]
    return encode({"model_version": artifact.version, "pairs": pairs})


@blp.route("/predict/<pair:pair>")
@blp.arguments(PredictionQuery(), location="query", error_status_code=400)
@blp.response(200, Prediction())
@blp.alt_response(404, schema=ErrorSchema, description="No model for this pair; the message lists the known ones")
@blp.alt_response(422, schema=ErrorSchema, description="The date is outside the range the model answers")
def get_pair_prediction(query: dict[str, Any], pair: str) -> Response:  # `pair` is checked before: g.pair
    """Predicted price of a pair at a date, with its band

    The same contract as GET /bitcoin. Between two bars the values are interpolated linearly; the same date
    always gets the same answer from the same model version.
    """
    return encode(predict_at(g.pair, query["date"], query["level"]))


@blp.route("/predict/<pair:pair>/forecast")
@blp.arguments(ForecastQuery(), location="query", error_status_code=400)
@blp.response(200, ForecastRange())
@blp.alt_response(404, schema=ErrorSchema, description="No model for this pair; the message lists the known ones")
@blp.alt_response(422, schema=ErrorSchema, description=f"Outside the model's range, or more than {MAX_POINTS:,} bars")
@blp.doc(description=f"The same contract as GET /bitcoin/forecast. {FORECAST_DESCRIPTION}")
def get_pair_forecast(query: dict[str, Any], pair: str) -> Response:
    """A pair's forecast over a range, one point per bar"""
    return encode(forecast_between(g.pair, query.get("start"), query.get("end"), query["level"]))
