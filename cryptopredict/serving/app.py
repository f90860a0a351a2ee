"""The Flask application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_cors import CORS

from cryptopredict.core.artifact import load_artifact
from cryptopredict.core.settings import (
    DEFAULT_MAX_DATA_AGE_SECONDS,
    DEFAULT_MAX_MODEL_AGE_SECONDS,
    DEFAULT_MODEL_DIR,
    read_app_config,
)
from cryptopredict.serving.http import JsonApi, add_security_headers
from cryptopredict.serving.limits import install_limits
from cryptopredict.serving.lookup import install_pair_converter
from cryptopredict.serving.messages import describe_service
from cryptopredict.serving.observability import REQUEST_ID_HEADER, install_observability
from cryptopredict.serving.routes import bitcoin, docs, metrics, page, pairs, status, track_record

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


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then the environment, then `test_config`. Loads and verifies the model."""
    app = Flask(__name__, static_folder=None)  # routes/page.py serves the few static files explicitly
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
    app.register_blueprint(metrics.bp)
    install_limits(app)
    api = JsonApi(app)
    install_pair_converter(app, api, artifact)
    # The OpenAPI document lists the API's blueprints, and their schemas, in this order.
    for blueprint in (bitcoin.blp, pairs.blp, track_record.blp, status.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)
    app.register_blueprint(page.bp)
    app.after_request(add_security_headers)
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
