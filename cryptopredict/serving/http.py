"""HTTP plumbing shared by every blueprint: JSON errors and strict query parsing."""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.exceptions import HTTPException, InternalServerError, TooManyRequests

log = logging.getLogger(__name__)


class ErrorSchema(ma.Schema):
    """Every error the API returns has this shape."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = ma.fields.String(required=True, metadata={"description": "HTTP status name"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong and how to fix it"})
    errors = ma.fields.Dict(metadata={"description": "Per-parameter messages, for invalid parameters"})


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
