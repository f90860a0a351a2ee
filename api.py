"""Serving entry point: `python api.py`, or `waitress-serve --call api:create_app`."""

from __future__ import annotations

import logging
import os
import sys

from cryptopredict.artifact import ArtifactError
from cryptopredict.serving.app import create_app
from cryptopredict.settings import SettingsError, read_server_options

__all__ = ["create_app", "main"]


def main() -> int:
    """Serve with Waitress on HOST:PORT (default 0.0.0.0:8080) with THREADS worker threads."""
    import waitress

    try:
        options = read_server_options(os.environ)
        app = create_app()
    except (ArtifactError, SettingsError) as exc:
        print(f"api: refusing to start: {exc}", file=sys.stderr)
        return 1
    # Waitress warns on every request that finds all threads busy: under load that is a log line per request,
    # which costs throughput and says nothing a latency graph does not.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    print(
        f"api: serving model {app.extensions['artifact'].version} on http://{options.host}:{options.port}", flush=True
    )
    waitress.serve(app, host=options.host, port=options.port, threads=options.threads, ident="crypto-predict")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
