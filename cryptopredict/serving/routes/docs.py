"""GET /docs: Swagger UI from the swagger-ui-bundle package, so the page needs no internet."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from cryptopredict.serving.routes import STATIC

bp = Blueprint("docs", __name__)
VENDOR_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} — API docs</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-spec-url="/openapi.json"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-init.js"></script>
</body>
</html>
"""


@bp.get("/docs")
def get_docs() -> Response:
    return Response(PAGE.format(title=current_app.config["API_TITLE"]), mimetype="text/html")


@bp.get("/docs/assets/<name>")
def get_asset(name: str) -> Response:
    # Only the handful of files the page uses are served; nothing else in those folders is reachable.
    if name == "swagger-init.js":
        return send_from_directory(STATIC, name, max_age=3600)
    if name not in VENDOR_FILES:
        abort(404)
    return send_from_directory(Path(str(swagger_ui_path)), name, max_age=86400)
