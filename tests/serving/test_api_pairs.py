"""Several pairs, through the Flask test client: /predict/{pair} answering each from its own model, /pairs, the
unknown-pair 404, a pair written as its symbol, the pairs in the OpenAPI document and in /model."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cryptopredict.core.artifact import load_artifact


def test_predict_answers_each_pair_from_its_own_model(client: FlaskClient, trained_model_dir: Path) -> None:
    artifact = load_artifact(trained_model_dir)
    for name, symbol in (("ETH-USD", "ETH/USD"), ("eth-usd", "ETH/USD"), ("BTC-USD", "BTC/USD")):
        response = client.get(f"/predict/{name}?date=2024-12-01")
        assert response.status_code == 200
        body = response.get_json()
        pair = artifact.pairs[symbol]
        row = (1_733_011_200 - pair.forecast.start) // 86_400
        assert (body["symbol"], body["model_version"]) == (symbol, pair.version)
        assert body["prediction"] == pair.forecast.prediction[row]
    # /bitcoin is /predict/BTC-USD, answer for answer.
    for date in ("2024-06-01", "2024-12-01T06:00:00Z", "2024-12-01T18:30:00+02:00"):
        assert client.get(f"/bitcoin?date={date}").data == client.get(f"/predict/BTC-USD?date={date}").data
    assert client.get("/bitcoin/forecast").data == client.get("/predict/BTC-USD/forecast").data
    eth = client.get("/predict/ETH-USD/forecast?start=2024-11-01&end=2024-11-03").get_json()
    assert eth["symbol"] == "ETH/USD" and len(eth["points"]) == 3


@pytest.mark.parametrize("path", ["/predict/XRP-USD?date=2024-12-01", "/predict/XRP-USD/forecast", "/predict/x"])
def test_an_unknown_pair_is_a_404_listing_the_known_ones(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    body = response.get_json()
    name = path.split("/")[2].split("?")[0]
    assert body["message"] == f"no model for the pair {name}; this service predicts BTC-USD, ETH-USD (see GET /pairs)"
    assert body["errors"] == {"pair": {"unknown": name, "known": ["BTC-USD", "ETH-USD"]}}


def test_predict_keeps_the_bitcoin_errors(client: FlaskClient) -> None:
    bad = client.get("/predict/ETH-USD?date=2025-13-01")
    assert bad.status_code == 400 and "month must be in 1..12" in bad.get_json()["message"]
    assert client.get("/predict/ETH-USD").status_code == 400
    late = client.get("/predict/ETH-USD?date=2100-01-01")
    assert late.status_code == 422 and "outside the range this model answers" in late.get_json()["message"]


def test_pairs_lists_what_is_served(client: FlaskClient, trained_model_dir: Path) -> None:
    artifact = load_artifact(trained_model_dir)
    body = client.get("/pairs").get_json()
    assert body["model_version"] == artifact.version
    assert [p["pair"] for p in body["pairs"]] == ["BTC-USD", "ETH-USD"]
    for listed in body["pairs"]:
        pair = artifact.pairs[listed["symbol"]]
        assert listed["model_version"] == pair.version
        assert listed["trained_at"] == pair.card["trained_at"]
        assert (listed["first_date"], listed["last_date"]) == ("2024-01-02T00:00:00Z", "2025-01-02T00:00:00Z")
        assert listed["last_bar"] == "2024-11-03T00:00:00Z" and listed["gate_passed"] is True
        assert (listed["timeframe"], listed["bar_seconds"], listed["source"]) == ("1Day", 86_400, "embedded")
        assert client.get(listed["predict"] + "?date=" + listed["last_date"]).status_code == 200


def test_the_openapi_document_names_the_pairs_served(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    for path in ("/predict/{pair}", "/predict/{pair}/forecast"):
        (parameter,) = spec["paths"][path]["parameters"]
        assert (parameter["name"], parameter["in"], parameter["required"]) == ("pair", "path", True)
        assert parameter["schema"] == {"type": "string", "enum": ["BTC-USD", "ETH-USD"], "example": "ETH-USD"}
        assert set(spec["paths"][path]["get"]["responses"]) >= {"200", "400", "404", "422"}
    assert "PairList" in spec["components"]["schemas"]


@pytest.mark.parametrize("name", ["ETH%2FUSD", "ETH/USD", "eth%2fusd"])
def test_a_pair_written_as_its_symbol_reaches_the_pair(client: FlaskClient, name: str) -> None:
    # The API returns `symbol: ETH/USD`; a client that puts it in a path, slash encoded or not, gets the pair.
    assert client.get(f"/predict/{name}?date=2024-12-01").data == client.get("/predict/ETH-USD?date=2024-12-01").data
    forecast = client.get(f"/predict/{name}/forecast?start=2024-11-01&end=2024-11-03")
    assert forecast.status_code == 200
    assert forecast.data == client.get("/predict/ETH-USD/forecast?start=2024-11-01&end=2024-11-03").data


@pytest.mark.parametrize("path", ["/predict/XRP%2FUSD?date=2024-12-01", "/predict/XRP/USD/forecast"])
def test_an_unknown_symbol_is_the_known_pairs_404(client: FlaskClient, path: str) -> None:
    body = client.get(path).get_json()
    assert (body["code"], body["errors"]["pair"]) == (404, {"unknown": "XRP/USD", "known": ["BTC-USD", "ETH-USD"]})


def test_model_and_pairs_spell_a_pair_the_same_way(client: FlaskClient) -> None:
    listed = {p["pair"]: p for p in client.get("/pairs").get_json()["pairs"]}
    cards = client.get("/model").get_json()["pairs"]
    assert set(cards) == set(listed) == {"BTC-USD", "ETH-USD"}
    for name, card in cards.items():
        assert (card["symbol"], card["model_version"]) == (listed[name]["symbol"], listed[name]["model_version"])
    spec = client.get("/openapi.json").get_json()
    assert "path form (ETH-USD)" in spec["components"]["schemas"]["Manifest"]["properties"]["pairs"]["description"]
