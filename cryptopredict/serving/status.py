"""GET /health, GET /ready and GET /model: liveness, freshness, and the manifest of the model being served."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask_smorest import abort

from cryptopredict.artifact import FORMAT, Artifact, pair_name
from cryptopredict.serving.freshness import Freshness, freshness
from cryptopredict.serving.http import ErrorSchema, StrictBlueprint
from cryptopredict.timeframe import TIMEFRAMES

blp = StrictBlueprint("status", __name__, description="Service and model status")


class Health(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})
    model_version = ma.fields.String(required=True)


READINESS_RULE = (
    "Ready while every pair's model is younger than MAX_MODEL_AGE_SECONDS and every live pair's newest bar (source "
    "alpaca) closed less than MAX_DATA_AGE_SECONDS ago; otherwise 503, naming each stale pair and its age. A pair "
    "trained on the embedded history or a CSV file is listed with its source, its data's age and `live: false`, "
    "noted as historical data that is not kept current: its data's age never makes /ready fail, and /ready never "
    "calls it current."
)


class PairReadiness(Freshness):
    class Meta:
        description = "One pair's source, data age and model age"

    pair = ma.fields.String(required=True, metadata={"example": "BTC-USD"})
    symbol = ma.fields.String(required=True, metadata={"example": "BTC/USD"})


class Readiness(ma.Schema):
    class Meta:
        description = READINESS_RULE

    status = ma.fields.String(required=True, metadata={"example": "ready"})
    model_version = ma.fields.String(required=True)
    model_age_seconds = ma.fields.Integer(
        required=True, metadata={"description": "Seconds since the least recently trained pair was trained"}
    )
    max_model_age_seconds = ma.fields.Integer(required=True, metadata={"description": "Older than this is stale"})
    data_age_seconds = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "Seconds since the newest bar of the live pair with the oldest data closed; "
            "null when no pair is trained on live data"
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


class PairCard(ma.Schema):
    """One pair's model card: what was trained, on what, when, with which packages, and how it scored."""

    model_version = ma.fields.String(required=True)
    symbol = ma.fields.String(required=True)
    timeframe = ma.fields.String(
        required=True, metadata={"enum": list(TIMEFRAMES), "description": "The bar length the model was trained on"}
    )
    interval = ma.fields.Float(required=True)
    horizon_days = ma.fields.Integer(required=True)
    source = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        required=True,
        metadata={
            "description": "Where the bars came from: `kind` alpaca (live, with `feed` and `url`), embedded or csv "
            "(historical, with the file's `path` and `sha256`)"
        },
    )
    first_bar = ma.fields.String(
        required=True, metadata={"format": "date-time", "description": "First bar of the Prophet fit's window"}
    )
    fit_last_bar = ma.fields.String(
        required=True, metadata={"format": "date-time", "description": "Last bar of the Prophet fit's window"}
    )
    rows = ma.fields.Integer(required=True, metadata={"description": "Bars in the Prophet fit's window"})
    last_bar = ma.fields.String(
        required=True,
        metadata={
            "format": "date-time",
            "description": "The newest bar (its start): the forecast is anchored at its close",
        },
    )
    fitted_at = ma.fields.String(
        required=True, metadata={"format": "date-time", "description": "When the backtest, gate and Prophet fit ran"}
    )
    update = ma.fields.String(
        required=True,
        metadata={
            "enum": ["refit", "reanchor"],
            "description": "What the run that made this forecast did: refitted, or re-anchored the stored fit",
        },
    )
    trained_at = ma.fields.String(
        required=True, metadata={"format": "date-time", "description": "When this forecast was made"}
    )
    trained_until = ma.fields.String(
        required=True, metadata={"format": "date-time", "description": "Only bars closed by then were used"}
    )
    git_commit = ma.fields.String(required=True, allow_none=True)
    model = ma.fields.Nested(ModelDescription, required=True)
    backtest = ma.fields.Nested(Backtest, required=True)
    gate = ma.fields.Nested(Gate, required=True)
    packages = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)


class RunOutcome(ma.Schema):
    updated = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "Pairs refitted or re-anchored on new bars"}
    )
    unchanged = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Pairs with no new bar and no refit due: their stored model stands as it was"},
    )
    kept = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), required=True,
        metadata={"description": "Pairs that failed and kept their previous model, with the reason"},
    )  # fmt: skip
    dropped = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), required=True,
        metadata={"description": "Pairs that failed with no previous model to keep, with the reason"},
    )  # fmt: skip


class Manifest(ma.Schema):
    """The artifact: a model card per pair, what the last training run did, and the checksum of every file."""

    format = ma.fields.Integer(required=True, metadata={"example": FORMAT})
    model_version = ma.fields.String(required=True, metadata={"description": "Changes whenever any pair's does"})
    published_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    git_commit = ma.fields.String(required=True, allow_none=True)
    pairs = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(PairCard), required=True)
    run = ma.fields.Nested(RunOutcome, required=True)
    files = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(FileEntry), required=True)


@blp.route("/health")
@blp.response(200, Health())
def get_health() -> dict[str, Any]:
    """The model is loaded and the service answers"""
    return {"status": "ok", "model_version": current_app.extensions["artifact"].version}


def stale_reasons(artifact: Artifact, max_model_age: int, max_data_age: int) -> list[str]:
    """Why the artifact is not ready, one sentence per kind of staleness; empty when it is."""
    reasons = []
    old_models = [
        f"{symbol} ({pair.version}, trained {age / 3600:.1f} h ago)"
        for symbol, pair in artifact.pairs.items()
        if (age := pair.age_seconds()) > max_model_age
    ]
    if old_models:
        reasons.append(
            f"models older than the {max_model_age / 3600:g} h allowed (MAX_MODEL_AGE_SECONDS): "
            f"{', '.join(old_models)}; retraining has stalled"
        )
    old_data = [
        f"{symbol}: newest bar closed {age / 3600:.1f} h ago"
        for symbol, pair in artifact.pairs.items()
        if pair.live and (age := pair.data_age_seconds()) > max_data_age
    ]
    if old_data:
        reasons.append(
            f"live data older than the {max_data_age / 3600:g} h allowed (MAX_DATA_AGE_SECONDS): "
            f"{', '.join(old_data)}; no newer bars have reached the model"
        )
    return reasons


@blp.route("/ready")
@blp.response(200, Readiness())
@blp.alt_response(
    503,
    schema=ErrorSchema,
    description="A model is older than MAX_MODEL_AGE_SECONDS (retraining has stalled), or a live pair's newest bar "
    "closed longer ago than MAX_DATA_AGE_SECONDS (no new bars arrive); the message names each pair and its age",
)
@blp.doc(description=f"{READINESS_RULE} For dashboards and alerts; /health stays the liveness check.")
def get_ready() -> dict[str, Any]:
    """The models, and the data of live pairs, are fresh enough to serve"""
    artifact = current_app.extensions["artifact"]
    max_model_age = int(current_app.config["MAX_MODEL_AGE_SECONDS"])
    max_data_age = int(current_app.config["MAX_DATA_AGE_SECONDS"])
    reasons = stale_reasons(artifact, max_model_age, max_data_age)
    if reasons:
        abort(503, message=". ".join(reasons))
    pairs = [
        {"pair": pair_name(symbol), "symbol": symbol, **freshness(pair)} for symbol, pair in artifact.pairs.items()
    ]
    live_ages = [p["data_age_seconds"] for p in pairs if p["live"]]
    return {
        "status": "ready",
        "model_version": artifact.version,
        "model_age_seconds": int(artifact.age_seconds()),
        "max_model_age_seconds": max_model_age,
        "data_age_seconds": max(live_ages) if live_ages else None,
        "max_data_age_seconds": max_data_age,
        "pairs": pairs,
    }


@blp.route("/model")
@blp.response(200, Manifest())
def get_model() -> dict[str, Any]:
    """The manifest of the artifact being served: every pair's model card (for people and for deploy checks)"""
    return current_app.extensions["artifact"].manifest
