"""GET /bitcoin: the predicted price and its band at a date, looked up in the materialised forecast."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar

import marshmallow as ma
from flask import Response, current_app
from flask_smorest import abort

from cryptopredict.artifact import Artifact
from cryptopredict.forecast import OutOfRange, format_utc
from cryptopredict.serving.dates import FORMAT_HINT, parse_utc
from cryptopredict.serving.http import ErrorSchema, StrictBlueprint

blp = StrictBlueprint("bitcoin", __name__, url_prefix="/bitcoin", description="Bitcoin price predictions")


class UtcDateTime(ma.fields.Field):
    """A date or an ISO 8601 date-time, loaded as an aware UTC datetime."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "required": f"is required; {FORMAT_HINT}",
        "invalid": FORMAT_HINT,
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return parse_utc(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


class PredictionQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # cache-busters and tracking parameters are harmless

    date = UtcDateTime(
        required=True,
        metadata={
            "description": "A UTC day (YYYY-MM-DD) or an ISO 8601 date-time with Z or an offset",
            "type": "string",
            "example": "2025-01-01",
        },
    )


class Prediction(ma.Schema):
    date = ma.fields.String(
        required=True, metadata={"format": "date-time", "description": "The moment predicted for, in UTC"}
    )
    prediction = ma.fields.Float(required=True, metadata={"description": "Predicted close in the quote currency"})
    prediction_low = ma.fields.Float(required=True, metadata={"description": "Lower end of the band"})
    prediction_high = ma.fields.Float(required=True, metadata={"description": "Upper end of the band"})
    symbol = ma.fields.String(required=True, metadata={"example": "BTC/USD"})
    interval = ma.fields.Float(required=True, metadata={"description": "Nominal coverage of the band", "example": 0.8})
    model_version = ma.fields.String(required=True)


def predict_at(artifact: Artifact, moment: dt.datetime) -> dict[str, Any]:
    """Look one moment up, or abort with 422 naming the range the model answers."""
    table = artifact.forecast
    try:
        point = table.lookup(moment.timestamp())
    except OutOfRange:
        abort(
            422,
            message=(
                f"date {format_utc(moment.timestamp())} is outside the range this model answers: "
                f"{format_utc(table.start)} to {format_utc(table.end)} "
                f"(last bar {format_utc(table.last_bar)} plus the forecast horizon)"
            ),
        )
    return {
        "date": format_utc(point.epoch),
        "prediction": point.prediction,
        "prediction_low": point.low,
        "prediction_high": point.high,
        "symbol": table.symbol,
        "interval": table.interval,
        "model_version": artifact.version,
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
    # The dict already has the documented shape (a test checks it against the schema); encoding it directly
    # skips a marshmallow dump on the hot path.
    body = json.dumps(predict_at(current_app.extensions["artifact"], query["date"]), separators=(",", ":"))
    return Response(body, mimetype="application/json")
