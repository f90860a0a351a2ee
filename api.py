"""Serving entry point: `python api.py`, or `waitress-serve --call api:create_app`."""

from __future__ import annotations

import os
import sys

from cryptopredict.core.artifact import ArtifactError
from cryptopredict.core.settings import SettingsError, read_server_options
from cryptopredict.serving.app import create_app

__all__ = ["create_app", "main"]


def main() -> int:
    """Serve with Waitress on HOST:PORT (default 127.0.0.1:8080) with THREADS threads; SIGTERM drains, then exits 0."""
    from cryptopredict.serving.server import serve  # Waitress only when serving, not for `--call api:create_app`

    try:
        options = read_server_options(os.environ)
        app = create_app()
    except (ArtifactError, SettingsError) as exc:
        print(f"api: refusing to start: {exc}", file=sys.stderr)
        return 1
    print(f"api: serving model {app.extensions['artifact'].version}", flush=True)
    serve(app, options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
