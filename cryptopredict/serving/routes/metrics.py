"""GET /metrics: the Prometheus series observability.py keeps (not in the OpenAPI document: it is for scrapers, not
API clients)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def get_metrics() -> Response:
    """Prometheus text format."""
    return Response(generate_latest(current_app.extensions["metrics"].registry), content_type=CONTENT_TYPE_LATEST)
