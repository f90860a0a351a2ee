"""What is refused before any route runs: other methods, long query strings and, if configured, too many requests."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_smorest import abort
from werkzeug.middleware.proxy_fix import ProxyFix

from cryptopredict.settings import SettingsError

SERVED_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_QUERY_BYTES = 2_048
# Platform health checks and metric scrapes come often, from one address, and must never be refused.
NEVER_LIMITED = frozenset({"/health", "/ready", "/metrics"})


def refuse_unserved_requests() -> None:
    """405 for any method but GET, HEAD and OPTIONS (on any path); 414 for a query string over 2 kB."""
    if request.method not in SERVED_METHODS:
        abort(
            405,
            message=f"{request.method} is not served; this API is read-only ({', '.join(SERVED_METHODS)})",
            headers={"Allow": ", ".join(SERVED_METHODS)},
        )
    if len(request.query_string) > MAX_QUERY_BYTES:
        abort(
            414,
            message=f"the query string is {len(request.query_string):,} bytes; at most {MAX_QUERY_BYTES:,} are read",
        )


def install_limits(app: Flask) -> None:
    """Method and size checks always; the client address from X-Forwarded-For and rate limiting if configured."""
    app.before_request(refuse_unserved_requests)
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        # Only the hops we run behind are believed; anything a client writes further left is ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    if app.config["RATE_LIMIT"]:
        install_rate_limit(app, str(app.config["RATE_LIMIT"]))


def keep_retry_after_for_refusals(response: Response) -> Response:
    """flask-limiter sends Retry-After on every answer; it only means something on a 429."""
    if response.status_code != 429:
        response.headers.pop("Retry-After", None)
    return response


def install_rate_limit(app: Flask, limit: str) -> None:
    """Per-client limits kept in memory (one process), e.g. `60/minute;1000/hour`, answered by a JSON 429."""
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address
    from limits import parse_many

    try:
        parse_many(limit)
    except ValueError:
        raise SettingsError(
            f"RATE_LIMIT={limit!r} is not a rate limit such as '60/minute' or '10/second;500/hour'"
        ) from None
    # Registered before the limiter's own hook, so it runs after it (Flask runs these in reverse).
    app.after_request(keep_retry_after_for_refusals)
    Limiter(
        get_remote_address,
        app=app,
        default_limits=[limit],
        storage_uri="memory://",
        headers_enabled=True,  # X-RateLimit-* on every answer and Retry-After on a 429
        default_limits_exempt_when=lambda: request.path in NEVER_LIMITED,
    )
