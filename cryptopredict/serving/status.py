"""GET /health and GET /model: liveness, and the manifest of the model being served."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask_smorest import abort

from cryptopredict.serving.http import ErrorSchema, StrictBlueprint

blp = StrictBlueprint("status", __name__, description="Service and model status")


class Health(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})
    model_version = ma.fields.String(required=True)


class Readiness(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ready"})
    model_version = ma.fields.String(required=True)
    model_age_seconds = ma.fields.Integer(required=True, metadata={"description": "Seconds since it was trained"})
    max_model_age_seconds = ma.fields.Integer(required=True, metadata={"description": "Older than this is stale"})


class FileEntry(ma.Schema):
    sha256 = ma.fields.String(required=True)
    bytes = ma.fields.Integer(required=True)


class Scores(ma.Schema):
    mape = ma.fields.Float(required=True, metadata={"description": "Mean absolute percentage error (0.05 = 5 %)"})
    mase = ma.fields.Float(required=True, metadata={"description": "Mean absolute error relative to naive"})
    coverage = ma.fields.Float(
        required=True, allow_none=True, metadata={"description": "Share of outcomes inside the band"}
    )
    width = ma.fields.Float(required=True, allow_none=True, metadata={"description": "Mean band width / forecast"})


class HorizonScores(ma.Schema):
    horizon = ma.fields.Integer(required=True)
    unit = ma.fields.String(required=True, metadata={"example": "day"})
    origins = ma.fields.Integer(required=True)
    mape_ratio = ma.fields.Float(required=True, metadata={"description": "Model MAPE / naive MAPE"})
    model = ma.fields.Nested(Scores, required=True)
    naive = ma.fields.Nested(Scores, required=True, metadata={"description": "The last close, carried forward"})


class Backtest(ma.Schema):
    origins = ma.fields.Integer(required=True, metadata={"description": "Forecast origins scored"})
    refits = ma.fields.Integer(required=True, metadata={"description": "Model refits whose forecasts are scored"})
    warmup_refits = ma.fields.Integer(required=True)
    first_scored_origin = ma.fields.String(required=True, metadata={"format": "date-time"})
    last_origin = ma.fields.String(required=True, metadata={"format": "date-time"})
    band = ma.fields.String(required=True)
    horizons = ma.fields.List(ma.fields.Nested(HorizonScores), required=True)


class ModelDescription(ma.Schema):
    timeframe = ma.fields.String(required=True)
    damping = ma.fields.Float(required=True)
    changepoint_prior_scale = ma.fields.Float(required=True)
    fit_window_days = ma.fields.Integer(required=True)
    target = ma.fields.String(required=True)


class Gate(ma.Schema):
    max_mape_ratio = ma.fields.Float(required=True)
    min_coverage = ma.fields.Float(required=True)
    max_coverage = ma.fields.Float(required=True)
    passed = ma.fields.Boolean(required=True)
    failures = ma.fields.List(ma.fields.String(), required=True)


class Manifest(ma.Schema):
    """What was trained, on what, when, with which packages; and the checksum of every file."""

    model_version = ma.fields.String(required=True)
    symbol = ma.fields.String(required=True)
    timeframe = ma.fields.String(required=True, metadata={"example": "1Day"})
    interval = ma.fields.Float(required=True)
    horizon_days = ma.fields.Integer(required=True)
    source = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)
    first_bar = ma.fields.String(required=True, metadata={"format": "date-time"})
    last_bar = ma.fields.String(required=True, metadata={"format": "date-time"})
    rows = ma.fields.Integer(required=True)
    trained_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    trained_until = ma.fields.String(
        required=True, metadata={"format": "date-time", "description": "Only bars closed by then were used"}
    )
    git_commit = ma.fields.String(required=True, allow_none=True)
    model = ma.fields.Nested(ModelDescription, required=True)
    backtest = ma.fields.Nested(Backtest, required=True)
    gate = ma.fields.Nested(Gate, required=True)
    packages = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)
    files = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(FileEntry), required=True)


@blp.route("/health")
@blp.response(200, Health())
def get_health() -> dict[str, Any]:
    """The model is loaded and the service answers"""
    return {"status": "ok", "model_version": current_app.extensions["artifact"].version}


@blp.route("/ready")
@blp.response(200, Readiness())
@blp.alt_response(503, schema=ErrorSchema, description="The model is older than allowed: retraining has stalled")
def get_ready() -> dict[str, Any]:
    """The model is fresh enough to serve (for dashboards and alerts; /health stays the liveness check)"""
    artifact = current_app.extensions["artifact"]
    age = int(artifact.age_seconds())
    limit = int(current_app.config["MAX_MODEL_AGE_SECONDS"])
    if age > limit:
        abort(
            503,
            message=(
                f"model {artifact.version} was trained {age / 3600:.1f} h ago, more than the {limit / 3600:g} h "
                "allowed (MAX_MODEL_AGE_SECONDS): retraining has stalled"
            ),
        )
    return {
        "status": "ready",
        "model_version": artifact.version,
        "model_age_seconds": age,
        "max_model_age_seconds": limit,
    }


@blp.route("/model")
@blp.response(200, Manifest())
def get_model() -> dict[str, Any]:
    """The manifest of the model being served (for people and for deploy checks)"""
    return current_app.extensions["artifact"].manifest
