"""The API's routes: one blueprint per resource, registered by app.create_app. A route module holds its routes only:
the schemas are in schemas.py, the lookups in lookup.py, the texts in messages.py, and no route module imports
another."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent.parent / "static"  # the chart page's files and Swagger UI's start script
