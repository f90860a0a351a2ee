"""GET /bitcoin and GET /bitcoin/forecast: /predict/{pair}'s contract for BTC/USD, at a path of its own."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app

from cryptopredict.core.settings import BITCOIN
from cryptopredict.serving.http import StrictBlueprint, encode
from cryptopredict.serving.lookup import find_pair, forecast_between, predict_at
from cryptopredict.serving.schemas import (
    DATE_OUTSIDE,
    FORECAST_DESCRIPTION,
    RANGE_REFUSED,
    ErrorSchema,
    ForecastQuery,
    ForecastRange,
    Prediction,
    PredictionQuery,
)

blp = StrictBlueprint("bitcoin", __name__, url_prefix="/bitcoin", description="Bitcoin price predictions")


@blp.route("")
@blp.arguments(PredictionQuery(), location="query", error_status_code=400)
@blp.response(200, Prediction())
@blp.alt_response(422, schema=ErrorSchema, description=DATE_OUTSIDE)
def get_prediction(query: dict[str, Any]) -> Response:
    """Predicted price at a date, with its band

    Between two bars the values are interpolated linearly. The same date always gets the same answer
    from the same model version.
    """
    pair = find_pair(current_app.extensions["artifact"], BITCOIN)
    return encode(predict_at(pair, query["date"], query["level"]))


@blp.route("/forecast")
@blp.arguments(ForecastQuery(), location="query", error_status_code=400)
@blp.response(200, ForecastRange())
@blp.alt_response(422, schema=ErrorSchema, description=RANGE_REFUSED)
@blp.doc(description=FORECAST_DESCRIPTION)
def get_forecast(query: dict[str, Any]) -> Response:
    """The forecast over a range, one point per bar"""
    pair = find_pair(current_app.extensions["artifact"], BITCOIN)
    return encode(forecast_between(pair, query.get("start"), query.get("end"), query["level"]))
