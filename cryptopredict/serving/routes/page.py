"""GET /: the chart page, and the static files it uses (plotly.js included: no CDN)."""

from __future__ import annotations

import gzip
import html
from functools import cache
from string import Template

from flask import Blueprint, Response, abort, request

from cryptopredict.core.settings import LIVE_TRAINING_COMMAND
from cryptopredict.serving.routes import STATIC

bp = Blueprint("page", __name__)
ASSETS = {
    "chart.js": "application/javascript",
    "chart.css": "text/css",
}
PLOTLY_GZ = "vendor/plotly.min.js.gz"


@cache
def read_static(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@cache
def render_page() -> bytes:
    """index.html with what only the server knows: the command for current forecasts, which the banner quotes. It
    travels in a data- attribute, HTML-escaped, because the CSP allows no inline script."""
    page = Template(read_static("index.html").decode())
    return page.substitute(live_training=html.escape(LIVE_TRAINING_COMMAND)).encode()


@bp.get("/")
def get_page() -> Response:
    return Response(render_page(), mimetype="text/html")


@bp.get("/assets/plotly.min.js")
def get_plotly() -> Response:
    compressed = read_static(PLOTLY_GZ)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = Response(compressed, mimetype="application/javascript")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(_inflated(), mimetype="application/javascript")
    response.headers["Vary"] = "Accept-Encoding"
    response.cache_control.public = True
    response.cache_control.max_age = 86_400
    return response


@cache
def _inflated() -> bytes:
    return gzip.decompress(read_static(PLOTLY_GZ))


@bp.get("/assets/<name>")
def get_asset(name: str) -> Response:
    if name not in ASSETS:
        abort(404)
    response = Response(read_static(name), mimetype=ASSETS[name])
    response.cache_control.max_age = 300
    return response
