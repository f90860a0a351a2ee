"""What the operator sees: a request id on every answer, one JSON access-log line per request, Prometheus metrics
(GET /metrics, routes/metrics.py, serves them)."""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sys
import threading
import time
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

from cryptopredict.core.artifact import Artifact, pair_name

REQUEST_ID_HEADER = "X-Request-ID"
# An id from the platform's proxy is kept so logs can be joined across hops; anything odd is replaced.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_LOGGED_TARGET_CHARS = 512
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
UNMATCHED_ROUTE = "unmatched"  # scanners' paths would make one series each
_RULE_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")  # <pair:pair>, <int(min=1):n> or <name>


class AccessLog:
    """One JSON line per request on stdout.

    Under Waitress (see `server.serve`) lines are collected in memory and written in one batch every quarter
    second: a write per request is a system call per request, and each one hands the GIL to another thread and
    queues the writer for it again, which cost a third of the server's throughput. Anywhere else (tests, other
    WSGI servers) each line is written at once. `sys.stdout` is looked up at each write, so test capture works.
    """

    MAX_PENDING = 100_000  # if stdout stops draining, keep this many lines and count the rest as dropped

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._dropped = 0
        self._batching = False

    def write(self, entry: dict[str, object]) -> None:
        line = json.dumps(entry, separators=(",", ":"))
        with self._lock:
            if not self._batching:
                sys.stdout.write(line + "\n")
            elif len(self._pending) < self.MAX_PENDING:
                self._pending.append(line)
            else:
                self._dropped += 1

    def start_batching(self, period_seconds: float = 0.25) -> None:
        """Collect lines and write them from a background thread every `period_seconds`."""

        def flush_forever() -> None:
            while True:
                time.sleep(period_seconds)
                self.flush()

        self._batching = True
        threading.Thread(target=flush_forever, name="access-log", daemon=True).start()

    def flush(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
            dropped, self._dropped = self._dropped, 0
        if dropped:
            lines.append(json.dumps({"event": "access_log_overflow", "dropped_lines": dropped}))
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()


class Metrics:
    """The service's Prometheus series, in a registry of its own (one per app, so tests can build many)."""

    def __init__(self, artifact: Artifact) -> None:
        disable_created_metrics()  # the `_created` twin of every series is noise for a single long-lived process
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "crypto_predict_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "crypto_predict_http_request_duration_seconds",
            "Time from request to response, by route template and status",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        info = Gauge(
            "crypto_predict_model_info",
            "Each pair's model being served (always 1; the labels carry the facts)",
            ["pair", "model_version", "trained_at"],
            registry=self.registry,
        )
        age = Gauge(
            "crypto_predict_model_age_seconds",
            "Seconds since each pair's model was trained",
            ["pair"],
            registry=self.registry,
        )
        data_age = Gauge(
            "crypto_predict_data_age_seconds",
            "Seconds since each pair's newest bar closed: how old the newest price its model knows is",
            ["pair"],
            registry=self.registry,
        )
        for symbol, pair in artifact.pairs.items():
            path_form = pair_name(symbol)
            info.labels(path_form, pair.version, pair.card["trained_at"]).set(1)
            age.labels(path_form).set_function(pair.age_seconds)
            data_age.labels(path_form).set_function(pair.data_age_seconds)
        Gauge(
            "crypto_predict_artifact_info",
            "The artifact being served (always 1)",
            ["model_version", "published_at"],
            registry=self.registry,
        ).labels(artifact.version, artifact.manifest["published_at"]).set(1)
        add_track_metrics(self.registry, artifact)  # the live record: MAPE ratio, coverage, degraded
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        series = self._series.get(key)
        if series is None:  # first time for this combination: resolve the labelled children once
            code = str(status)
            series = self._series[key] = (self.requests.labels(route, method, code), self.latency.labels(route, code))
        series[0].inc()
        series[1].observe(seconds)


def add_track_metrics(registry: CollectorRegistry, artifact: Artifact) -> None:
    """The live record per pair and bucket (and `all`) as gauges, and whether each pair is degraded."""
    labels = ["pair", "bucket"]
    ratio = Gauge(
        "crypto_predict_live_mape_ratio",
        "Served forecasts' MAPE over the naive forecast's on the same bars, from the track record",
        labels,
        registry=registry,
    )
    coverage = Gauge(
        "crypto_predict_live_coverage",
        "Share of actual closes inside the served band (nominally 80 %), from the track record",
        labels,
        registry=registry,
    )
    points = Gauge("crypto_predict_live_points", "Points in the track record", labels, registry=registry)
    degraded = Gauge(
        "crypto_predict_degraded",
        "1 when the pair's live record breaks a drift rule over its newest points (see /pairs/{pair}/track-record)",
        ["pair"],
        registry=registry,
    )
    for symbol, pair in artifact.pairs.items():
        summary = pair.record.summary
        drift = summary["drift"]
        rows = [(b["bucket"], b["figures"]) for b in summary["buckets"]]
        rows += [("all", summary["overall"]), ("drift window", drift["figures"])]
        path_form = pair_name(symbol)
        for bucket, figures in rows:
            points.labels(path_form, bucket).set(figures["points"])
            # No points, no figure: NaN, which Prometheus reads as "no value".
            ratio.labels(path_form, bucket).set(_or_nan(figures["mape_ratio"]))
            coverage.labels(path_form, bucket).set(_or_nan(figures["coverage"]))
        degraded.labels(path_form).set(1 if pair.record.degraded else 0)


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


@functools.cache  # one per rule: the app has a handful
def openapi_path(rule: str) -> str:
    """Flask's rule as the OpenAPI document writes the path (/predict/<pair:pair> -> /predict/{pair}): the route
    label of metrics and the access log, and what ACCESS_LOG_SKIP names."""
    return _RULE_VARIABLE.sub(r"{\1}", rule)


def new_request_id() -> str:
    """128 random bits in hex, like a uuid4 without the object."""
    return os.urandom(16).hex()


def start_request() -> None:
    g.started = time.perf_counter()
    offered = request.environ.get("HTTP_X_REQUEST_ID", "")
    g.request_id = offered if _ACCEPTABLE_ID.fullmatch(offered) else new_request_id()


def finish_request(response: Response) -> Response:
    """Tag the answer with its request id, count it, and log it."""
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    request_id = g.get("request_id") or new_request_id()
    response.headers[REQUEST_ID_HEADER] = request_id
    rule = request.url_rule
    route = openapi_path(rule.rule) if rule else UNMATCHED_ROUTE
    environ = request.environ  # read once: every `request.x` is a context-local lookup
    method = environ["REQUEST_METHOD"]
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.extensions["metrics"].observe(route, method, response.status_code, seconds)
    log = app.extensions["access_log"]
    # Probes and scrapes the operator chose to leave out; a failing one (4xx, 5xx) is still logged.
    skipped = route in app.extensions["access_log_skip"] and response.status_code < 400
    if log is not None and not skipped:
        query = environ.get("QUERY_STRING", "")
        target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
        now = time.time()
        log.write(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
                "request_id": request_id,
                "remote_addr": environ.get("REMOTE_ADDR"),
                "method": method,
                "target": target[:_LOGGED_TARGET_CHARS],
                "route": route,
                "status": response.status_code,
                "bytes": response.content_length,
                "duration_ms": round(seconds * 1000, 3),
                "user_agent": environ.get("HTTP_USER_AGENT", "")[:200],
            }
        )
    return response


def install_observability(app: Flask, artifact: Artifact) -> None:
    """Register the request hooks first, so every other hook's refusals are also timed, counted and logged."""
    app.extensions["metrics"] = Metrics(artifact)
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)
    app.after_request(finish_request)
    app.extensions["access_log"] = AccessLog() if app.config["ACCESS_LOG"] else None
    app.extensions["access_log_skip"] = frozenset(app.config["ACCESS_LOG_SKIP"])
