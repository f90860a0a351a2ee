"""What is refused before any route runs: other methods, long query strings and, if configured, too many requests.

Rate limits are counted in this process's memory, or, with RATE_LIMIT_STORAGE_URI=redis://HOST:PORT, in Redis, so that
every replica counts against one limit. When Redis cannot be reached the service keeps answering: each process
counts in its own memory again (a client is then limited per replica), and goes back to Redis once it answers a ping,
tried after 1, 2, 4, 8, 16 and 32 s, then again from 1 s (flask-limiter's in-memory fallback).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request
from flask_smorest import abort
from werkzeug.middleware.proxy_fix import ProxyFix

from cryptopredict.core.settings import SettingsError

SERVED_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_QUERY_BYTES = 2_048
# Platform health checks and metric scrapes come often, from one address, and must never be refused.
NEVER_LIMITED = frozenset({"/health", "/ready", "/metrics"})
IN_MEMORY = "memory://"
REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
# A request must not wait long on a Redis that is down or unreachable: a connect or a reply slower than this counts
# as an outage. One immediate retry (redis-py's default backs off for seconds) replaces a connection Redis dropped
# when it restarted.
REDIS_TIMEOUT_SECONDS = 0.5


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
    storage_uri = check_storage_uri(str(app.config["RATE_LIMIT_STORAGE_URI"]))
    if app.config["RATE_LIMIT"]:
        install_rate_limit(app, str(app.config["RATE_LIMIT"]), storage_uri)


def redact(uri: str) -> str:
    """The URI without its password, fit for a message or a log."""
    try:
        parts = urlsplit(uri)
        if parts.password is None:
            return uri
    except ValueError:  # not even a URL: keep only what precedes any credentials
        return uri.partition("://")[0] + "://…" if "@" in uri else uri
    return parts._replace(netloc=f"{parts.username or ''}:***@{parts.netloc.rpartition('@')[2]}").geturl()


def check_storage_uri(uri: str) -> str:
    """RATE_LIMIT_STORAGE_URI as given, once it names a storage we count in: memory:// or a Redis URI."""
    uri = uri.strip()
    if uri == IN_MEMORY:
        return uri
    problem = None
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (reading it checks it: a port that is not a number raises)
    except ValueError as exc:
        problem = str(exc)
    else:
        if parts.scheme not in REDIS_SCHEMES:
            problem = f"the scheme must be {IN_MEMORY} or one of {', '.join(s + '://' for s in REDIS_SCHEMES)}"
        elif parts.scheme == "redis+unix" and not parts.path:
            problem = "a redis+unix URI names a socket: redis+unix:///path/to/redis.sock"
        elif parts.scheme != "redis+unix" and not parts.hostname:
            problem = "no host"
        elif parts.scheme != "redis+unix" and parts.path.strip("/") and not parts.path.strip("/").isdigit():
            problem = f"the database {parts.path.strip('/')!r} is not a number"
    if problem:
        raise SettingsError(
            f"RATE_LIMIT_STORAGE_URI={redact(uri)!r} is not a rate-limit storage such as {IN_MEMORY} or "
            f"redis://HOST:PORT[/DB]: {problem}"
        )
    return uri


def storage_options(uri: str) -> dict[str, Any]:
    """Client options for the storage: short timeouts and one quick retry for Redis, nothing for memory."""
    if uri == IN_MEMORY:
        return {}
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "retry": Retry(NoBackoff(), retries=1),
    }


def keep_retry_after_for_refusals(response: Response) -> Response:
    """flask-limiter sends Retry-After on every answer; it only means something on a 429."""
    if response.status_code != 429:
        response.headers.pop("Retry-After", None)
    return response


def install_rate_limit(app: Flask, limit: str, storage_uri: str = IN_MEMORY) -> None:
    """Per-client limits, e.g. `60/minute;1000/hour`, answered by a JSON 429; counted in `storage_uri`, in this
    process's memory when it is down."""
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
        storage_uri=storage_uri,
        storage_options=storage_options(storage_uri),
        # Redis down: count in this process's memory, with the same limits, rather than fail or stop limiting.
        in_memory_fallback_enabled=storage_uri != IN_MEMORY,
        headers_enabled=True,  # X-RateLimit-* on every answer and Retry-After on a 429
        default_limits_exempt_when=lambda: request.path in NEVER_LIMITED,
    )
