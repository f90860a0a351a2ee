"""What the operator sees: request ids, JSON access logs, Prometheus metrics, /ready, security headers."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from cryptopredict.core.artifact import load_artifact, pair_name
from cryptopredict.core.settings import SettingsError, read_app_config
from cryptopredict.serving.app import create_app


def samples(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


def test_every_answer_carries_a_request_id(client: FlaskClient) -> None:
    ids = {client.get(path).headers["X-Request-ID"] for path in ("/health", "/bitcoin?date=x", "/nowhere") * 3}
    assert len(ids) == 9
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert client.get("/health", headers={"X-Request-ID": "rndr-abc.123:4"}).headers["X-Request-ID"] == "rndr-abc.123:4"
    for hostile in ("a b", "x" * 129, "id;Set-Cookie:a=b", "ünï"):
        echoed = client.get("/health", headers={"X-Request-ID": hostile.encode().decode("latin-1")})
        assert re.fullmatch(r"[0-9a-f]{32}", echoed.headers["X-Request-ID"])


def test_one_json_access_log_line_per_request(client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    ok = client.get("/bitcoin?date=2024-12-01", headers={"User-Agent": "probe/1"})
    bad = client.get("/bitcoin?date=2024-13-01")
    missing = client.get("/wp-login.php")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["request_id"] for line in lines] == [r.headers["X-Request-ID"] for r in (ok, bad, missing)]
    first = lines[0]
    assert set(first) == {
        "time", "request_id", "remote_addr", "method", "target", "route", "status", "bytes", "duration_ms", "user_agent"
    }  # fmt: skip
    assert first["target"] == "/bitcoin?date=2024-12-01"
    assert (first["method"], first["route"], first["status"], first["user_agent"]) == (
        "GET",
        "/bitcoin",
        200,
        "probe/1",
    )
    assert first["bytes"] == len(ok.data)
    assert 0 < first["duration_ms"] < 5_000
    logged_at = dt.datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - logged_at).total_seconds()) < 60
    assert (lines[1]["status"], lines[2]["status"], lines[2]["route"]) == (400, 404, "unmatched")


def test_the_access_log_can_be_turned_off(trained_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = create_app({"MODEL_DIR": str(trained_model_dir), "ACCESS_LOG": False}).test_client()
    capsys.readouterr()
    assert client.get("/bitcoin?date=2024-12-01").status_code == 200
    assert capsys.readouterr().out == ""


def test_metrics_count_requests_and_latency_by_route_and_status(trained_model_dir: Path) -> None:
    client = create_app({"MODEL_DIR": str(trained_model_dir), "ACCESS_LOG": False}).test_client()
    for _ in range(3):
        client.get("/bitcoin?date=2024-12-01")
    client.get("/bitcoin?date=garbage")
    client.get("/bitcoin/forecast")
    client.post("/bitcoin")
    client.get("/no/such/page")
    seen = samples(client)
    route = (("method", "GET"), ("route", "/bitcoin"), ("status", "200"))
    assert seen[("crypto_predict_http_requests_total", route)] == 3
    assert (
        seen[("crypto_predict_http_requests_total", (("method", "GET"), ("route", "/bitcoin"), ("status", "400")))] == 1
    )
    assert (
        seen[("crypto_predict_http_requests_total", (("method", "POST"), ("route", "unmatched"), ("status", "405")))]
        == 1
    )
    assert (
        seen[("crypto_predict_http_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404")))]
        == 1
    )
    latency = (("route", "/bitcoin"), ("status", "200"))
    assert seen[("crypto_predict_http_request_duration_seconds_count", latency)] == 3
    assert 0 < seen[("crypto_predict_http_request_duration_seconds_sum", latency)] < 15
    assert seen[("crypto_predict_http_request_duration_seconds_bucket", (("le", "+Inf"), *latency))] == 3
    assert not any(name.endswith("_created") for name, _ in seen)


def test_metrics_give_each_pairs_model_version_and_age(trained_model_dir: Path, client: FlaskClient) -> None:
    artifact = load_artifact(trained_model_dir)
    seen = samples(client)
    info = {labels: value for (name, labels), value in seen.items() if name == "crypto_predict_model_info"}
    expected = {
        (("model_version", pair.version), ("pair", pair_name(symbol)), ("trained_at", pair.card["trained_at"])): 1.0
        for symbol, pair in artifact.pairs.items()
    }
    assert info == expected and len(expected) == 2
    for symbol, pair in artifact.pairs.items():
        age = seen[("crypto_predict_model_age_seconds", (("pair", pair_name(symbol)),))]
        assert age == pytest.approx(time.time() - pair.trained_at, abs=5)
    published = (("model_version", artifact.version), ("published_at", artifact.manifest["published_at"]))
    assert seen[("crypto_predict_artifact_info", published)] == 1.0


def age_model(model_dir: Path, symbol: str, hours: float) -> str:
    """Make one pair's model look `hours` old (the manifest is not itself checksummed)."""
    path = model_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    trained_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    manifest["pairs"][symbol]["trained_at"] = trained_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps(manifest))
    return str(manifest["pairs"][symbol]["model_version"])


def test_ready_while_the_model_is_fresh(client: FlaskClient, trained_model_dir: Path) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["model_version"] == load_artifact(trained_model_dir).version
    assert body["max_model_age_seconds"] == 86_400
    assert 0 <= body["model_age_seconds"] < 3_600


def test_not_ready_once_a_pairs_model_is_older_than_allowed(model_dir: Path) -> None:
    version = age_model(model_dir, "ETH/USD", hours=30)
    client = create_app({"MODEL_DIR": str(model_dir)}).test_client()
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.get_json() == {
        "code": 503,
        "status": "Service Unavailable",
        "message": (
            f"models older than the 24 h allowed (MAX_MODEL_AGE_SECONDS): ETH/USD ({version}, trained 30.0 h ago); "
            "retraining has stalled"
        ),
    }
    assert client.get("/health").status_code == 200  # still alive: a stale model is served, and flagged
    assert client.get("/bitcoin?date=2024-12-01").status_code == 200
    ages = samples(client)
    assert ages[("crypto_predict_model_age_seconds", (("pair", "ETH-USD"),))] == pytest.approx(30 * 3600, abs=60)
    assert ages[("crypto_predict_model_age_seconds", (("pair", "BTC-USD"),))] < 3600
    relaxed = create_app({"MODEL_DIR": str(model_dir), "MAX_MODEL_AGE_SECONDS": 48 * 3600}).test_client()
    assert relaxed.get("/ready").status_code == 200


def test_security_headers(client: FlaskClient) -> None:
    for path in ("/bitcoin?date=2024-12-01", "/bitcoin?date=bad", "/", "/docs", "/metrics", "/nowhere"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        is_html = headers["Content-Type"].startswith("text/html")
        assert ("Content-Security-Policy" in headers) == is_html, path


def test_route_labels_are_the_openapi_paths(client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    client.get("/predict/ETH-USD?date=2024-12-01")
    client.get("/predict/ETH%2FUSD/forecast?start=2024-11-01&end=2024-11-03")
    logged = [json.loads(line)["route"] for line in capsys.readouterr().out.splitlines()]
    assert logged == ["/predict/{pair}", "/predict/{pair}/forecast"]
    documented = set(client.get("/openapi.json").get_json()["paths"])
    labels = {dict(labels)["route"] for name, labels in samples(client) if name == "crypto_predict_http_requests_total"}
    assert {"/predict/{pair}", "/predict/{pair}/forecast"} <= labels
    assert labels - {"unmatched", "/metrics", "/openapi.json"} <= documented  # every other label is a documented path
    assert not any("<" in label for label in labels)


def test_probes_and_scrapes_can_be_left_out_of_the_access_log(
    trained_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skipping = {"MODEL_DIR": str(trained_model_dir), "ACCESS_LOG_SKIP": ("/metrics", "/health", "/ready")}
    client = create_app({**skipping, "MAX_MODEL_AGE_SECONDS": 0}).test_client()  # every model is stale: /ready 503
    capsys.readouterr()
    paths = ("/metrics", "/health", "/ready", "/bitcoin?date=2024-12-01")
    assert [client.get(path).status_code for path in paths] == [200, 200, 503, 200]
    logged = [(e["route"], e["status"]) for e in map(json.loads, capsys.readouterr().out.splitlines())]
    assert logged == [("/ready", 503), ("/bitcoin", 200)]  # a failing probe is still logged
    health = (("method", "GET"), ("route", "/health"), ("status", "200"))
    assert samples(client)[("crypto_predict_http_requests_total", health)] == 1  # still counted
    # By default every request is logged, probes included.
    default = create_app({"MODEL_DIR": str(trained_model_dir)}).test_client()
    capsys.readouterr()
    default.get("/health")
    default.get("/metrics")
    assert [json.loads(line)["route"] for line in capsys.readouterr().out.splitlines()] == ["/health", "/metrics"]


def test_the_access_log_skip_list_is_read_from_the_environment() -> None:
    assert read_app_config({"ACCESS_LOG_SKIP": " /metrics, /health ,"}) == {"ACCESS_LOG_SKIP": ("/metrics", "/health")}
    assert read_app_config({"ACCESS_LOG_SKIP": "  "}) == {}
    with pytest.raises(SettingsError, match="'metrics' is not a path"):
        read_app_config({"ACCESS_LOG_SKIP": "/health,metrics"})
