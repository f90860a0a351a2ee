"""Freshness measured by the data: data_age_seconds in /pairs, /ready and /metrics; /ready fails on stale live data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cryptopredict.core import artifact as artifact_module
from cryptopredict.core.artifact import load_artifact, pair_files, read_verified_files, write_artifact
from cryptopredict.core.dates import format_utc
from cryptopredict.core.settings import DEFAULT_MAX_DATA_AGE_SECONDS, read_app_config
from cryptopredict.serving.app import DEFAULTS, create_app
from cryptopredict.serving.messages import HISTORICAL_NOTE, LIVE_NOTE
from cryptopredict.serving.schemas import READINESS_RULE, PairList, Readiness
from tests.serving.test_observability import samples

HOUR = 3600
LIVE_SOURCE = {"kind": "alpaca", "feed": "us", "url": "default"}


class FrozenClock:
    """Stands in for the `time` module of cryptopredict.core.artifact, where every model and data age is measured."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def republish(source: Path, target: Path, live: tuple[str, ...], trained_at: float | None = None) -> Path:
    """Copy an artifact with the pairs in `live` marked as trained on live Alpaca bars (and, if given, trained at
    `trained_at`), re-published with fresh checksums."""
    manifest, files = read_verified_files(source)
    for symbol in live:
        manifest["pairs"][symbol]["source"] = dict(LIVE_SOURCE)
        if trained_at is not None:
            manifest["pairs"][symbol]["trained_at"] = format_utc(trained_at)
    write_artifact(target, files, {key: value for key, value in manifest.items() if key != "files"})
    return target


def newest_close(model_dir: Path, symbol: str) -> float:
    return load_artifact(model_dir).pairs[symbol].newest_close


@pytest.fixture
def live_btc(trained_model_dir: Path, tmp_path: Path) -> Path:
    """The daily fixture with BTC/USD marked live, trained an hour after its newest bar closed; ETH/USD embedded."""
    close = newest_close(trained_model_dir, "BTC/USD")
    return republish(trained_model_dir, tmp_path / "model", ("BTC/USD",), trained_at=close + HOUR)


def client_at(model_dir: Path, now: float, monkeypatch: pytest.MonkeyPatch, **config: object) -> FlaskClient:
    monkeypatch.setattr(artifact_module, "time", FrozenClock(now))
    return create_app({"MODEL_DIR": str(model_dir), "ACCESS_LOG": False, **config}).test_client()


def test_pairs_give_each_pairs_source_and_the_age_of_its_data(client: FlaskClient, trained_model_dir: Path) -> None:
    body = client.get("/pairs").get_json()
    assert PairList().validate(body) == {}
    artifact = load_artifact(trained_model_dir)
    for listed in body["pairs"]:
        pair = artifact.pairs[listed["symbol"]]
        assert (listed["source"], listed["live"], listed["note"]) == ("embedded", False, HISTORICAL_NOTE)
        assert listed["last_bar"] == "2024-11-03T00:00:00Z"
        assert listed["newest_close"] == "2024-11-04T00:00:00Z"  # a daily bar closes a day after it starts
        assert listed["data_age_seconds"] == pytest.approx(time.time() - 1_730_678_400, abs=5)
        assert listed["model_age_seconds"] == pytest.approx(time.time() - pair.trained_at, abs=5)


def test_ready_lists_historical_pairs_without_calling_them_current(client: FlaskClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200  # two years old, but historical: only live data can be stale
    body = response.get_json()
    assert Readiness().validate(body) == {}
    assert body["data_age_seconds"] is None  # no live pair: historical data has no age to hold against the limit
    assert body["max_data_age_seconds"] == DEFAULT_MAX_DATA_AGE_SECONDS == 12 * HOUR
    assert [(p["pair"], p["source"], p["live"], p["note"]) for p in body["pairs"]] == [
        ("BTC-USD", "embedded", False, HISTORICAL_NOTE),
        ("ETH-USD", "embedded", False, HISTORICAL_NOTE),
    ]
    for listed in body["pairs"]:
        assert listed["data_age_seconds"] == pytest.approx(time.time() - 1_730_678_400, abs=5)
        assert listed["data_age_seconds"] > body["max_data_age_seconds"]


def test_ready_while_live_data_is_fresh(live_btc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = newest_close(live_btc, "BTC/USD") + 2 * HOUR
    client = client_at(live_btc, now, monkeypatch)
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert Readiness().validate(body) == {}
    btc, eth = body["pairs"]
    assert (btc["pair"], btc["source"], btc["live"], btc["note"]) == ("BTC-USD", "alpaca", True, LIVE_NOTE)
    assert (btc["data_age_seconds"], btc["model_age_seconds"]) == (2 * HOUR, HOUR)
    assert body["data_age_seconds"] == 2 * HOUR  # the live pairs' stalest; the embedded ETH/USD does not count
    assert (eth["source"], eth["live"], eth["note"]) == ("embedded", False, HISTORICAL_NOTE)
    listed = {p["pair"]: p for p in client.get("/pairs").get_json()["pairs"]}
    assert (listed["BTC-USD"]["source"], listed["BTC-USD"]["data_age_seconds"]) == ("alpaca", 2 * HOUR)


def with_eth_a_day_behind(source: Path, target: Path, live: tuple[str, ...]) -> Path:
    """A copy whose ETH/USD forecast ends a bar earlier than BTC/USD's (its data a day older), `live` marked live."""
    manifest, files = read_verified_files(source)
    name = pair_files("ETH/USD").forecast
    table = json.loads(files[name])
    table["last_bar"] -= 86_400
    files[name] = json.dumps(table).encode()
    manifest["pairs"]["ETH/USD"]["last_bar"] = format_utc(table["last_bar"])
    write_artifact(target, files, {key: value for key, value in manifest.items() if key != "files"})
    return republish(target, target, live)


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (("BTC/USD",), "BTC-USD"),  # ETH/USD's older data is historical: it never counts
        (("BTC/USD", "ETH/USD"), "ETH-USD"),  # both live: the oldest data is the one held against the limit
    ],
    ids=["one-live", "both-live"],
)
def test_ready_gives_the_oldest_live_pairs_data_age(
    trained_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, live: tuple[str, ...], expected: str
) -> None:
    model_dir = with_eth_a_day_behind(trained_model_dir, tmp_path / "model", live)
    now = newest_close(model_dir, "BTC/USD") + 3 * HOUR
    body = client_at(model_dir, now, monkeypatch, MAX_DATA_AGE_SECONDS=48 * HOUR).get("/ready").get_json()
    ages = {p["pair"]: p["data_age_seconds"] for p in body["pairs"]}
    assert ages == {"BTC-USD": 3 * HOUR, "ETH-USD": 27 * HOUR}
    assert body["data_age_seconds"] == ages[expected]
    assert Readiness().validate(body) == {}


def test_not_ready_once_a_live_pairs_newest_bar_is_older_than_allowed(
    live_btc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = newest_close(live_btc, "BTC/USD") + 13.2 * HOUR
    assert newest_close(live_btc, "ETH/USD") + 13.2 * HOUR == now  # as old, but embedded: not named below
    client = client_at(live_btc, now, monkeypatch)
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.get_json() == {
        "code": 503,
        "status": "Service Unavailable",
        "message": (
            "live data older than the 12 h allowed (MAX_DATA_AGE_SECONDS): BTC/USD: newest bar closed 13.2 h ago; "
            "no newer bars have reached the model"
        ),
    }
    assert client.get("/health").status_code == 200  # stale data is served, and flagged
    assert client.get("/predict/BTC-USD?date=2024-12-01").status_code == 200
    seen = samples(client)
    assert seen[("crypto_predict_data_age_seconds", (("pair", "BTC-USD"),))] == pytest.approx(13.2 * HOUR)
    relaxed = client_at(live_btc, now, monkeypatch, MAX_DATA_AGE_SECONDS=14 * HOUR)
    assert relaxed.get("/ready").status_code == 200


def test_stale_models_and_stale_live_data_are_both_named(
    trained_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    close = newest_close(trained_model_dir, "ETH/USD")
    model_dir = republish(trained_model_dir, tmp_path / "model", ("ETH/USD",), trained_at=close)
    now = close + 30 * HOUR  # ETH/USD was trained as its bar closed: model and data are both 30 h old
    body = client_at(model_dir, now, monkeypatch).get("/ready").get_json()
    version = load_artifact(model_dir).pairs["ETH/USD"].version
    assert body["code"] == 503
    assert body["message"] == (
        f"models older than the 24 h allowed (MAX_MODEL_AGE_SECONDS): ETH/USD ({version}, trained 30.0 h ago); "
        "retraining has stalled. live data older than the 12 h allowed (MAX_DATA_AGE_SECONDS): "
        "ETH/USD: newest bar closed 30.0 h ago; no newer bars have reached the model"
    )


def test_metrics_give_each_pairs_data_age(client: FlaskClient, trained_model_dir: Path) -> None:
    seen = samples(client)
    for symbol, pair in load_artifact(trained_model_dir).pairs.items():
        age = seen[("crypto_predict_data_age_seconds", (("pair", symbol.replace("/", "-")),))]
        assert age == pytest.approx(time.time() - pair.newest_close, abs=5)
        assert age > 365 * 24 * HOUR  # the embedded history ends in 2024


def test_the_data_age_limit_is_configurable(trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert DEFAULTS["MAX_DATA_AGE_SECONDS"] == DEFAULT_MAX_DATA_AGE_SECONDS
    assert read_app_config({"MAX_DATA_AGE_SECONDS": " 3600 "}) == {"MAX_DATA_AGE_SECONDS": 3600}
    monkeypatch.setenv("MAX_DATA_AGE_SECONDS", "7200")
    client = create_app({"MODEL_DIR": str(trained_model_dir), "ACCESS_LOG": False}).test_client()
    assert client.get("/ready").get_json()["max_data_age_seconds"] == 7200


def test_the_openapi_document_describes_freshness(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    ready = spec["paths"]["/ready"]["get"]
    assert READINESS_RULE in ready["description"]
    assert "MAX_DATA_AGE_SECONDS" in ready["responses"]["503"]["description"]
    assert schemas["Readiness"]["description"] == READINESS_RULE
    assert {"data_age_seconds", "max_data_age_seconds", "pairs"} <= set(schemas["Readiness"]["required"])
    assert schemas["Readiness"]["properties"]["data_age_seconds"]["nullable"] is True
    top_age = schemas["Readiness"]["properties"]["data_age_seconds"]["description"]
    assert "The largest `data_age_seconds` among live pairs" in top_age and "Null when no pair is live" in top_age
    freshness = {"source", "live", "last_bar", "newest_close", "data_age_seconds", "model_age_seconds", "note"}
    for name in ("PairReadiness", "PairSummary"):
        schema = schemas[name]
        assert freshness <= set(schema["required"]), name
        assert schema["properties"]["source"]["enum"] == ["alpaca", "embedded", "csv"]
        assert schema["properties"]["note"]["enum"] == [LIVE_NOTE, HISTORICAL_NOTE]
        assert schema["properties"]["newest_close"]["format"] == "date-time"
    assert "Now minus newest_close" in schemas["PairSummary"]["properties"]["data_age_seconds"]["description"]
