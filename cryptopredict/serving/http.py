"""HTTP plumbing shared by every blueprint: JSON errors, strict query parsing, JSON answers and security headers."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask import Response
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.exceptions import HTTPException, InternalServerError, TooManyRequests

from cryptopredict.serving.schemas import ErrorSchema

# Scripts only from this origin. Plotly writes <style> elements and inline style attributes as it draws, so
# styles need 'unsafe-inline'; its "download plot as PNG" draws the chart's SVG from a blob: URL into a canvas, so
# images may come from blob: (URLs only the page itself can mint); nothing else is loosened.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class StrictQueryParser(FlaskParser):
    """Refuses a parameter given twice (`?date=a&date=b`) instead of silently taking the first."""

    DEFAULT_VALIDATION_STATUS = 400

    def load_querystring(self, req: Any, schema: ma.Schema) -> MultiDictProxy:
        proxy = super().load_querystring(req, schema)
        repeated = sorted(k for k in req.args if k not in proxy.multiple_keys and len(req.args.getlist(k)) > 1)
        if repeated:
            raise ma.ValidationError({name: ["give this parameter once"] for name in repeated})
        return proxy


class StrictBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictQueryParser()


class JsonApi(Api):
    """flask-smorest's Api with one error shape: `code`, `status`, a readable `message`, optional `errors`."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
        payload, code, headers = super().handle_http_exception(error)
        # Keep what werkzeug adds, such as Allow on a 405, but answer in JSON.
        headers = {**{k: v for k, v in error.get_headers() if k.lower() != "content-type"}, **(headers or {})}
        if "message" not in payload:
            payload["message"] = _describe(payload.get("errors")) or error.description or error.name
        if isinstance(error, TooManyRequests):
            payload["message"] = (
                f"too many requests from your address (limit: {error.description}); "
                "wait the number of seconds in Retry-After"
            )
        if isinstance(error, InternalServerError):
            # The original exception is logged; the client sees no internals.
            payload["message"] = "the server failed to answer; the error has been logged"
            payload.pop("errors", None)
        return payload, code, headers


def _describe(errors: Any) -> str:
    """Flatten webargs' {"query": {"date": ["..."]}} into 'date: ...'."""
    if not isinstance(errors, dict):
        return ""
    parts = []
    for fields in errors.values():
        if isinstance(fields, dict):
            for name, messages in fields.items():
                text = " ".join(messages) if isinstance(messages, list) else str(messages)
                parts.append(f"{name}: {text}")
    return "; ".join(parts)


def encode(body: dict[str, Any]) -> Response:
    """JSON without a marshmallow dump: the bodies already have the documented shape (the tests check them
    against the schemas), and skipping the dump matters on the hot path."""
    return Response(json.dumps(body, separators=(",", ":")), mimetype="application/json")


def add_security_headers(response: Response) -> Response:
    """On every response: no MIME sniffing, no referrer leaks; on HTML pages, the CSP."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
