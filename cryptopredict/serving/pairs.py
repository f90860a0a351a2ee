"""GET /pairs and GET /predict/{pair}: every pair the artifact holds, with /bitcoin's contract for each."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, Response, current_app, g, request
from flask_smorest import Api
from werkzeug.routing import BaseConverter

from cryptopredict.artifact import Artifact, pair_name
from cryptopredict.forecast import format_utc
from cryptopredict.serving.http import ErrorSchema, StrictBlueprint
from cryptopredict.serving.predictions import (
    ForecastQuery,
    ForecastRange,
    Prediction,
    PredictionQuery,
    encode,
    find_pair,
    forecast_between,
    predict_at,
)

blp = StrictBlueprint("pairs", __name__, description="Predictions for every pair served")
EXAMPLE_PAIR = "ETH-USD"


class PairConverter(BaseConverter):
    """A pair in a path, written BASE-QUOTE (ETH-USD). Any segment matches, so an unknown pair gets the API's
    own 404 naming the known ones; each app subclasses it with the pairs it serves, for the OpenAPI enum."""

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


class PairSummary(ma.Schema):
    pair = ma.fields.String(required=True, metadata={"example": "ETH-USD", "description": "The form used in paths"})
    symbol = ma.fields.String(required=True, metadata={"example": "ETH/USD"})
    model_version = ma.fields.String(required=True)
    trained_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    timeframe = ma.fields.String(required=True, metadata={"example": "1Day"})
    interval = ma.fields.Float(required=True)
    last_bar = ma.fields.String(required=True, metadata={"format": "date-time"})
    first_date = ma.fields.String(required=True, metadata={"format": "date-time", "description": "Earliest date"})
    last_date = ma.fields.String(required=True, metadata={"format": "date-time", "description": "Latest date"})
    gate_passed = ma.fields.Boolean(required=True, metadata={"description": "Whether its model passed the gate"})
    predict = ma.fields.String(required=True, metadata={"example": "/predict/ETH-USD"})


class PairList(ma.Schema):
    model_version = ma.fields.String(required=True, metadata={"description": "The artifact's version"})
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
    """The pairs this service predicts, with their model versions and the dates each answers"""
    artifact = current_app.extensions["artifact"]
    pairs = [
        {
            "pair": pair_name(symbol),
            "symbol": symbol,
            "model_version": pair.version,
            "trained_at": pair.card["trained_at"],
            "timeframe": pair.forecast.timeframe,
            "interval": pair.forecast.interval,
            "last_bar": format_utc(pair.forecast.last_bar),
            "first_date": format_utc(pair.forecast.start),
            "last_date": format_utc(pair.forecast.end),
            "gate_passed": bool(pair.card["gate"]["passed"]),
            "predict": f"/predict/{pair_name(symbol)}",
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
    return encode(predict_at(g.pair, query["date"]))


@blp.route("/predict/<pair:pair>/forecast")
@blp.arguments(ForecastQuery(), location="query", error_status_code=400)
@blp.response(200, ForecastRange())
@blp.alt_response(404, schema=ErrorSchema, description="No model for this pair; the message lists the known ones")
@blp.alt_response(422, schema=ErrorSchema, description="Outside the model's range, or more than 1,000 bars")
def get_pair_forecast(query: dict[str, Any], pair: str) -> Response:
    """A pair's forecast over a range, one point per bar

    The same contract as GET /bitcoin/forecast: by default 90 days before the last bar to 30 days after it.
    """
    return encode(forecast_between(g.pair, query.get("start"), query.get("end")))
