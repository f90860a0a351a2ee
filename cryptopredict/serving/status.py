"""GET /health, GET /ready and GET /model: liveness, freshness, and the manifest of the model being served."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask_smorest import abort

from cryptopredict.core.artifact import Artifact, pair_name
from cryptopredict.core.manifest import Manifest, PairCard
from cryptopredict.serving.freshness import Freshness, freshness
from cryptopredict.serving.http import ErrorSchema, StrictBlueprint
from cryptopredict.serving.records import field_of, schema_of

blp = StrictBlueprint("status", __name__, description="Service and model status")


class Health(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})
    model_version = field_of(Manifest.fields["model_version"])


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
    symbol = field_of(PairCard.fields["symbol"])


class Readiness(ma.Schema):
    class Meta:
        description = READINESS_RULE

    status = ma.fields.String(required=True, metadata={"example": "ready"})
    model_version = field_of(Manifest.fields["model_version"])
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


SERVED_PAIRS = (
    "Each pair's model card, by the pair's path form (ETH-USD), as GET /pairs and /predict/{pair} spell it; "
    "the card's `symbol` is ETH/USD"
)
# The manifest as /model serves it: the artifact on disk keys pairs by symbol (ETH/USD); the API spells a pair one
# way everywhere, the path form. Named like the record, so the component stays `Manifest`.
ServedManifest = type(
    Manifest.__name__,
    (schema_of(Manifest),),
    {Manifest.pairs: field_of(Manifest.fields[Manifest.pairs], description=SERVED_PAIRS)},
)


def served_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with its pairs keyed by path form (ETH-USD) instead of symbol; the rest as published."""
    return {**manifest, Manifest.pairs: {pair_name(s): card for s, card in manifest[Manifest.pairs].items()}}


@blp.route("/model")
@blp.response(200, ServedManifest())
def get_model() -> dict[str, Any]:
    """The manifest of the artifact being served: every pair's model card (for people and for deploy checks)"""
    return served_manifest(current_app.extensions["artifact"].manifest)
