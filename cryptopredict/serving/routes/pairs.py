"""GET /pairs and GET /predict/{pair}[/forecast]: every pair the artifact holds, with /bitcoin's contract for each."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g

from cryptopredict.core.artifact import PairModel, pair_name
from cryptopredict.core.dates import format_utc
from cryptopredict.core.forecast import coverage_of
from cryptopredict.serving.freshness import freshness
from cryptopredict.serving.http import StrictBlueprint, encode
from cryptopredict.serving.lookup import forecast_between, predict_at, require_known_pair
from cryptopredict.serving.schemas import (
    DATE_OUTSIDE,
    FORECAST_DESCRIPTION,
    RANGE_REFUSED,
    UNKNOWN_PAIR,
    ErrorSchema,
    ForecastQuery,
    ForecastRange,
    PairList,
    Prediction,
    PredictionQuery,
)

blp = StrictBlueprint("pairs", __name__, description="Predictions for every pair served")
blp.before_request(require_known_pair)  # `g.pair`, or the usual 404 before the query is judged


def summarize(pair: PairModel) -> dict[str, Any]:
    """The pair's entry in GET /pairs."""
    path_form = pair_name(pair.symbol)
    return {
        "pair": path_form,
        "symbol": pair.symbol,
        "model_version": pair.version,
        "trained_at": pair.card["trained_at"],
        "timeframe": pair.timeframe.name,
        "bar_seconds": pair.timeframe.seconds,
        "interval": coverage_of(pair.forecast.level),
        **freshness(pair),
        "first_date": format_utc(pair.forecast.start),
        "last_date": format_utc(pair.forecast.end),
        "gate_passed": bool(pair.card["gate"]["passed"]),
        "predict": f"/predict/{path_form}",
        "degraded": pair.record.degraded,
        "track_record": f"/pairs/{path_form}/track-record",
    }


@blp.route("/pairs")
@blp.response(200, PairList())
def get_pairs() -> Response:
    """The pairs this service predicts: model versions, bar lengths, the dates each answers and how fresh it is"""
    artifact = current_app.extensions["artifact"]
    return encode({"model_version": artifact.version, "pairs": [summarize(p) for p in artifact.pairs.values()]})


@blp.route("/predict/<pair:pair>")
@blp.arguments(PredictionQuery(), location="query", error_status_code=400)
@blp.response(200, Prediction())
@blp.alt_response(404, schema=ErrorSchema, description=UNKNOWN_PAIR)
@blp.alt_response(422, schema=ErrorSchema, description=DATE_OUTSIDE)
def get_pair_prediction(query: dict[str, Any], pair: str) -> Response:  # `pair` is checked before: g.pair
    """Predicted price of a pair at a date, with its band

    The same contract as GET /bitcoin. Between two bars the values are interpolated linearly; the same date
    always gets the same answer from the same model version.
    """
    return encode(predict_at(g.pair, query["date"], query["level"]))


@blp.route("/predict/<pair:pair>/forecast")
@blp.arguments(ForecastQuery(), location="query", error_status_code=400)
@blp.response(200, ForecastRange())
@blp.alt_response(404, schema=ErrorSchema, description=UNKNOWN_PAIR)
@blp.alt_response(422, schema=ErrorSchema, description=RANGE_REFUSED)
@blp.doc(description=f"The same contract as GET /bitcoin/forecast. {FORECAST_DESCRIPTION}")
def get_pair_forecast(query: dict[str, Any], pair: str) -> Response:
    """A pair's forecast over a range, one point per bar"""
    return encode(forecast_between(g.pair, query.get("start"), query.get("end"), query["level"]))
