"""GET /health, GET /ready and GET /model: liveness, freshness, and the manifest of the model being served."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import abort

from cryptopredict.core.artifact import pair_name
from cryptopredict.serving.freshness import freshness, stale_reasons
from cryptopredict.serving.http import StrictBlueprint
from cryptopredict.serving.schemas import READINESS_RULE, ErrorSchema, Health, Readiness, ServedManifest

blp = StrictBlueprint("status", __name__, description="Service and model status")


@blp.route("/health")
@blp.response(200, Health())
def get_health() -> dict[str, Any]:
    """The model is loaded and the service answers"""
    return {"status": "ok", "model_version": current_app.extensions["artifact"].version}


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
    # Only live pairs can be stale: a historical pair's age here would read as a breach of max_data_age_seconds.
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
@blp.response(200, ServedManifest())
def get_model() -> dict[str, Any]:
    """The manifest of the artifact being served: every pair's model card (for people and for deploy checks)"""
    manifest = current_app.extensions["artifact"].manifest
    # The artifact keys pairs by symbol (ETH/USD); the API spells a pair in its path form (ETH-USD) everywhere.
    cards = {pair_name(symbol): card for symbol, card in manifest["pairs"].items()}
    return {**manifest, "pairs": cards}
