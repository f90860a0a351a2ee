"""Defaults and environment parsing shared by both sides. Nothing happens at import time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PAIRS = ("BTC/USD", "ETH/USD")  # both have embedded history, so the offline service shows both
BITCOIN = "BTC/USD"  # what GET /bitcoin serves
DEFAULT_START = dt.date(2021, 1, 1)
DEFAULT_HORIZON_DAYS = 365
# A full refit (backtest, gate, Prophet fit) at most weekly; every run in between re-anchors the stored model at
# the newest close. The backtest scores exactly that: its fits serve every origin until the next refit, weeks later.
DEFAULT_REFIT_AFTER_HOURS = 168
DEFAULT_WORKERS = 2  # training processes: pairs in parallel, or one pair's backtest refits
DEFAULT_MODEL_DIR = Path("model")
DEFAULT_PORT = 8080
DEFAULT_THREADS = 8
DEFAULT_MAX_MODEL_AGE_SECONDS = 24 * 3600
DEFAULT_MAX_DATA_AGE_SECONDS = 12 * 3600  # two missed six-hourly runs
DEFAULT_SHUTDOWN_GRACE_SECONDS = 20
# The one command the project tells a user for current forecasts: it works from a fresh clone (make installs the
# venv first). Quoted by the 422 past the range, the OpenAPI description, the chart page and the README.
LIVE_TRAINING_COMMAND = 'make train ARGS="--source alpaca"'


class SettingsError(ValueError):
    """A setting has a value we cannot use."""


def read_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    """Read a whole number from the environment, with a message naming the variable."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


@dataclass(frozen=True)
class ServerOptions:
    """How Waitress listens; read by `python api.py`."""

    host: str
    port: int
    threads: int
    shutdown_grace_seconds: int


# Loopback only: a developer's `make serve` is not reachable from the network. The container sets HOST=0.0.0.0.
DEFAULT_HOST = "127.0.0.1"


def read_server_options(environ: Mapping[str, str]) -> ServerOptions:
    """HOST, PORT, THREADS and SHUTDOWN_GRACE_SECONDS (how long SIGTERM waits for requests in flight)."""
    return ServerOptions(
        host=environ.get("HOST", "").strip() or DEFAULT_HOST,
        port=read_int(environ, "PORT", DEFAULT_PORT),
        threads=read_int(environ, "THREADS", DEFAULT_THREADS),
        shutdown_grace_seconds=read_int(environ, "SHUTDOWN_GRACE_SECONDS", DEFAULT_SHUTDOWN_GRACE_SECONDS, minimum=0),
    )


def read_flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    """Read on/off from the environment: 1/true/yes/on or 0/false/no/off."""
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not on or off (use 1/true/on or 0/false/off)")


def read_app_config(environ: Mapping[str, str]) -> dict[str, object]:
    """The Flask settings the environment may override; unset variables are left out."""
    config: dict[str, object] = {}
    if environ.get("MODEL_DIR", "").strip():
        config["MODEL_DIR"] = environ["MODEL_DIR"].strip()
    if environ.get("CORS_ORIGINS", "").strip():
        config["CORS_ORIGINS"] = [o.strip() for o in environ["CORS_ORIGINS"].split(",") if o.strip()]
    if environ.get("RATE_LIMIT", "").strip():
        config["RATE_LIMIT"] = environ["RATE_LIMIT"].strip()
    if environ.get("RATE_LIMIT_STORAGE_URI", "").strip():
        config["RATE_LIMIT_STORAGE_URI"] = environ["RATE_LIMIT_STORAGE_URI"].strip()  # checked by the app factory
    if environ.get("TRUSTED_PROXIES", "").strip():
        config["TRUSTED_PROXIES"] = read_int(environ, "TRUSTED_PROXIES", 0, minimum=0)
    if environ.get("MAX_MODEL_AGE_SECONDS", "").strip():
        config["MAX_MODEL_AGE_SECONDS"] = read_int(environ, "MAX_MODEL_AGE_SECONDS", DEFAULT_MAX_MODEL_AGE_SECONDS)
    if environ.get("MAX_DATA_AGE_SECONDS", "").strip():
        config["MAX_DATA_AGE_SECONDS"] = read_int(environ, "MAX_DATA_AGE_SECONDS", DEFAULT_MAX_DATA_AGE_SECONDS)
    if environ.get("ACCESS_LOG", "").strip():
        config["ACCESS_LOG"] = read_flag(environ, "ACCESS_LOG", True)
    if environ.get("ACCESS_LOG_SKIP", "").strip():
        config["ACCESS_LOG_SKIP"] = read_routes(environ, "ACCESS_LOG_SKIP")
    return config


def read_routes(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated route paths as the OpenAPI document writes them (/metrics, /predict/{pair})."""
    routes = tuple(r.strip() for r in environ.get(name, "").split(",") if r.strip())
    for route in routes:
        if not route.startswith("/"):  # a typo would otherwise silently skip nothing
            raise SettingsError(f"{name}: {route!r} is not a path (use e.g. /metrics,/health)")
    return routes
