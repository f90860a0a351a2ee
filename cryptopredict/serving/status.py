"""GET /health and GET /model: liveness, and the manifest of the model being served."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app

from cryptopredict.serving.http import StrictBlueprint

blp = StrictBlueprint("status", __name__, description="Service and model status")


class Health(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})
    model_version = ma.fields.String(required=True)


class FileEntry(ma.Schema):
    sha256 = ma.fields.String(required=True)
    bytes = ma.fields.Integer(required=True)


class Manifest(ma.Schema):
    """What was trained, on what, when, with which packages; and the checksum of every file."""

    model_version = ma.fields.String(required=True)
    symbol = ma.fields.String(required=True)
    timeframe = ma.fields.String(required=True, metadata={"example": "1Day"})
    interval = ma.fields.Float(required=True)
    horizon_days = ma.fields.Integer(required=True)
    seed = ma.fields.Integer(required=True)
    source = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)
    first_bar = ma.fields.String(required=True, metadata={"format": "date-time"})
    last_bar = ma.fields.String(required=True, metadata={"format": "date-time"})
    rows = ma.fields.Integer(required=True)
    trained_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    packages = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)
    files = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(FileEntry), required=True)


@blp.route("/health")
@blp.response(200, Health)
def get_health() -> dict[str, Any]:
    """The model is loaded and the service answers"""
    return {"status": "ok", "model_version": current_app.extensions["artifact"].version}


@blp.route("/model")
@blp.response(200, Manifest)
def get_model() -> dict[str, Any]:
    """The manifest of the model being served (for people and for deploy checks)"""
    return current_app.extensions["artifact"].manifest
