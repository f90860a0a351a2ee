"""The HTTP contract around the routes, through the Flask test client: JSON errors for an unknown path, a wrong
method and an unexpected failure; health and model; CORS; the configuration's sources; a tampered model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cryptopredict.core.artifact import ArtifactError, pair_name
from cryptopredict.serving.app import create_app


def test_unknown_path_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/ethereum")
    assert response.status_code == 404
    assert response.get_json()["status"] == "Not Found"


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_wrong_method_is_a_json_405_with_allow(client: FlaskClient, method: str) -> None:
    response = getattr(client, method)("/bitcoin?date=2024-12-01")
    assert response.status_code == 405
    assert response.get_json()["code"] == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_an_unexpected_error_is_a_json_500_without_internals(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(app.extensions["artifact"].pairs["BTC/USD"].forecast.__class__, "lookup", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/bitcoin?date=2024-12-01")
    assert response.status_code == 500
    assert response.get_json()["message"] == "the server failed to answer; the error has been logged"
    assert "secret" not in response.get_data(as_text=True)


def test_health_and_model(client: FlaskClient, trained_model_dir: Path) -> None:
    manifest = json.loads((trained_model_dir / "manifest.json").read_text())
    assert client.get("/health").get_json() == {"status": "ok", "model_version": manifest["model_version"]}
    # /model serves the published manifest with its pairs keyed by path form (ETH-USD), as /pairs spells them.
    served = {**manifest, "pairs": {pair_name(symbol): card for symbol, card in manifest["pairs"].items()}}
    assert client.get("/model").get_json() == served


def test_cors_allows_any_origin_by_default(client: FlaskClient) -> None:
    response = client.get("/bitcoin?date=2024-12-01", headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = client.options(
        "/bitcoin", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]


def test_cors_origins_are_configurable(trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.com, https://admin.example.com")
    client = create_app({"MODEL_DIR": str(trained_model_dir)}).test_client()
    allowed = client.get("/health", headers={"Origin": "https://app.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    other = client.get("/health", headers={"Origin": "https://evil.example.net"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_environment_then_test_config_override_defaults(
    trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_DIR", "/nonexistent/from-env")
    with pytest.raises(ArtifactError, match="/nonexistent/from-env"):
        create_app()
    assert create_app({"MODEL_DIR": str(trained_model_dir)}).config["MODEL_DIR"] == str(trained_model_dir)


def test_a_tampered_model_stops_the_app_from_being_built(model_dir: Path) -> None:
    path = model_dir / "eth-usd.prophet.json"
    path.write_bytes(path.read_bytes()[:-1] + b" ")
    with pytest.raises(ArtifactError, match=r"eth-usd\.prophet\.json does not match its checksum"):
        create_app({"MODEL_DIR": str(model_dir)})
