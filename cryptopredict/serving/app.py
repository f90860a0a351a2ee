"""The Flask application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_cors import CORS

from cryptopredict.core.artifact import Artifact, load_artifact, pair_name
from cryptopredict.core.dates import format_utc
from cryptopredict.core.settings import (
    DEFAULT_MAX_DATA_AGE_SECONDS,
    DEFAULT_MAX_MODEL_AGE_SECONDS,
    DEFAULT_MODEL_DIR,
    LIVE_TRAINING_COMMAND,
    read_app_config,
)
from cryptopredict.serving import docs, page, pairs, predictions, status, track_record
from cryptopredict.serving.http import JsonApi
from cryptopredict.serving.limits import install_limits
from cryptopredict.serving.observability import REQUEST_ID_HEADER, install_observability
from cryptopredict.serving.predictions import HISTORICAL_SOURCES

DEFAULTS: dict[str, Any] = {
    "MODEL_DIR": str(DEFAULT_MODEL_DIR),
    "CORS_ORIGINS": "*",
    "RATE_LIMIT": "",  # off; e.g. "60/minute;1000/hour" per client address
    "RATE_LIMIT_STORAGE_URI": "memory://",  # where limits are counted: this process, or redis://HOST:PORT for all
    "TRUSTED_PROXIES": 0,  # proxies in front of us whose X-Forwarded-For we believe (1 on Render)
    "MAX_MODEL_AGE_SECONDS": DEFAULT_MAX_MODEL_AGE_SECONDS,  # /ready answers 503 past this
    "MAX_DATA_AGE_SECONDS": DEFAULT_MAX_DATA_AGE_SECONDS,  # ... or once a live pair's newest bar is older
    "ACCESS_LOG": True,
    "ACCESS_LOG_SKIP": (),  # routes whose successful answers are not logged, e.g. ("/metrics", "/health")
    "API_TITLE": "Crypto Predict API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    # info.description is written by create_app from the loaded models: it says only what this instance serves.
    "API_SPEC_OPTIONS": {},
}


def describe_service(artifact: Artifact) -> str:
    """The OpenAPI description: where each pair's data comes from, and whether it is retrained or ends somewhere."""
    live: list[str] = []
    historical: dict[tuple[str, int, int], list[str]] = {}  # pairs trained together share source and dates
    for pair in artifact.pairs.values():
        name = pair_name(pair.symbol)
        if pair.live:
            live.append(name)
        else:
            historical.setdefault((pair.source_kind, pair.forecast.last_bar, pair.forecast.end), []).append(name)
    parts = [f"{', '.join(live)}: retrained every six hours on live Alpaca bars"] if live else []
    for (kind, last_bar, end), names in historical.items():
        source = HISTORICAL_SOURCES.get(kind, f"{kind} data")
        parts.append(
            f"{', '.join(names)}: trained on historical data ({source}) ending {format_utc(last_bar)[:10]}; "
            f"not retrained, so dates after {format_utc(end)} are refused (train on live data for current dates: "
            f"{LIVE_TRAINING_COMMAND})"
        )
    return "Price predictions with a calibrated band. " + ". ".join(parts) + "."


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then the environment, then `test_config`. Loads and verifies the model."""
    app = Flask(__name__, static_folder=None)  # page.py serves the few static files explicitly
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(read_app_config(os.environ))
    if test_config:
        app.config.from_mapping(test_config)

    artifact = load_artifact(Path(app.config["MODEL_DIR"]))
    app.extensions["artifact"] = artifact
    spec_options = dict(app.config["API_SPEC_OPTIONS"])  # a copy: DEFAULTS is shared by every app
    spec_options["info"] = {"description": describe_service(artifact), **spec_options.get("info", {})}
    app.config["API_SPEC_OPTIONS"] = spec_options

    install_observability(app, artifact)
    install_limits(app)
    api = JsonApi(app)
    pairs.install_pair_converter(app, api, artifact)
    api.register_blueprint(predictions.blp)
    api.register_blueprint(pairs.blp)
    api.register_blueprint(track_record.blp)
    api.register_blueprint(status.blp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(page.bp)
    app.after_request(page.add_security_headers)
    origins = app.config["CORS_ORIGINS"]
    # A public, credential-free API answers `*` rather than echoing each origin, which caches better.
    CORS(
        app,
        origins=origins,
        methods=["GET", "HEAD", "OPTIONS"],
        send_wildcard=origins == "*",
        expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
    )

    return app
