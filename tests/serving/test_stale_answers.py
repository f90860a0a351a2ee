"""Honest answers about old data: the 422 past the range and the OpenAPI description say where
the data ends, how old it is, and what this instance does (or does not do) to keep it current."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cryptopredict.core.settings import LIVE_TRAINING_COMMAND
from cryptopredict.serving import messages
from cryptopredict.serving.app import DEFAULTS, create_app
from cryptopredict.serving.messages import describe_span
from tests.serving.test_freshness_status import client_at, newest_close, republish

DAY = 86_400
HOUR = 3_600
RANGE = (
    "is outside the range this model answers: 2024-01-02T00:00:00Z to 2025-01-02T00:00:00Z "
    "(last bar 2024-11-03T00:00:00Z plus the forecast horizon)"
)
EMBEDDED_STORY = (
    "this model was trained on the embedded history, whose newest price is from 2024-11-04T00:00:00Z (752 days old); "
    f"train on live data for current dates: {LIVE_TRAINING_COMMAND}"
)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "0 hours"), (HOUR, "1 hour"), (5 * HOUR + 59, "5 hours"), (2 * DAY - 1, "47 hours"), (2 * DAY, "2 days")],
)
def test_spans_are_hours_up_to_two_days_then_days(seconds: float, words: str) -> None:
    assert describe_span(seconds) == words


@pytest.mark.parametrize(
    ("path", "name", "moment"),
    [
        ("/bitcoin?date=2100-01-01", "date", "2100-01-01T00:00:00Z"),
        ("/predict/ETH-USD?date=2026-11-25T12:00:00Z", "date", "2026-11-25T12:00:00Z"),
        ("/bitcoin/forecast?start=2024-12-01&end=2026-01-01", "end", "2026-01-01T00:00:00Z"),
    ],
)
def test_past_the_range_a_historical_model_says_where_its_data_ends_and_what_to_do(
    trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch, path: str, name: str, moment: str
) -> None:
    now = newest_close(trained_model_dir, "BTC/USD") + 752 * DAY + 5 * HOUR
    response = client_at(trained_model_dir, now, monkeypatch).get(path)
    assert response.status_code == 422
    assert response.get_json()["message"] == f"{name} {moment} {RANGE}; {EMBEDDED_STORY}"


def test_before_the_range_the_message_stays_simple(trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = newest_close(trained_model_dir, "BTC/USD") + 752 * DAY
    response = client_at(trained_model_dir, now, monkeypatch).get("/bitcoin?date=1999-01-01")
    assert response.status_code == 422
    assert response.get_json()["message"] == f"date 1999-01-01T00:00:00Z {RANGE}"


def test_past_the_range_a_live_model_says_how_long_ago_its_newest_bar_closed(
    trained_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    close = newest_close(trained_model_dir, "BTC/USD")
    model_dir = republish(trained_model_dir, tmp_path / "model", ("BTC/USD",), trained_at=close + HOUR)
    client = client_at(model_dir, close + 5 * HOUR, monkeypatch)

    live = client.get("/predict/BTC-USD?date=2025-06-01").get_json()["message"]
    assert live == (
        f"date 2025-06-01T00:00:00Z {RANGE}; its newest bar closed 5 hours ago (2024-11-04T00:00:00Z) and the range "
        "ends 60 days after that bar; each retraining moves it forward"
    )
    assert LIVE_TRAINING_COMMAND not in live
    # ETH/USD in the same artifact is still the embedded history, and says so.
    historical = client.get("/predict/ETH-USD?date=2025-06-01").get_json()["message"]
    assert historical.endswith(
        "this model was trained on the embedded history, whose newest price is from 2024-11-04T00:00:00Z "
        f"(5 hours old); train on live data for current dates: {LIVE_TRAINING_COMMAND}"
    )


def description(model_dir: Path) -> str:
    return str(
        create_app({"MODEL_DIR": str(model_dir)}).test_client().get("/openapi.json").get_json()["info"]["description"]
    )


def test_the_openapi_description_of_embedded_models_says_they_are_not_retrained(trained_model_dir: Path) -> None:
    assert description(trained_model_dir) == (
        "Price predictions with a calibrated band. BTC-USD, ETH-USD: trained on historical data (the embedded "
        "history) ending 2024-11-03; not retrained, so dates after 2025-01-02T00:00:00Z are refused (train on live "
        f"data for current dates: {LIVE_TRAINING_COMMAND})."
    )
    assert DEFAULTS["API_SPEC_OPTIONS"] == {}  # built per app, never written into the shared defaults


def test_the_openapi_description_of_live_models_says_they_are_retrained(
    trained_model_dir: Path, tmp_path: Path
) -> None:
    both = republish(trained_model_dir, tmp_path / "live", ("BTC/USD", "ETH/USD"))
    assert description(both) == (
        "Price predictions with a calibrated band. BTC-USD, ETH-USD: retrained every six hours on live Alpaca bars."
    )
    mixed = description(republish(trained_model_dir, tmp_path / "mixed", ("BTC/USD",)))
    assert mixed.startswith("Price predictions with a calibrated band. BTC-USD: retrained every six hours on live ")
    assert "ETH-USD: trained on historical data (the embedded history) ending 2024-11-03; not retrained" in mixed


def test_a_configured_description_wins(trained_model_dir: Path) -> None:
    app = create_app({"MODEL_DIR": str(trained_model_dir), "API_SPEC_OPTIONS": {"info": {"description": "Ours."}}})
    assert app.test_client().get("/openapi.json").get_json()["info"]["description"] == "Ours."


def test_past_the_range_a_csv_model_names_its_file_kind_and_age(
    hourly_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = newest_close(hourly_model_dir, "BTC/USD") + 30 * HOUR
    message = client_at(hourly_model_dir, now, monkeypatch).get("/bitcoin?date=2026-03-02T05:00:00Z").get_json()
    assert message["message"].endswith(
        "to 2026-03-01T05:00:00Z (last bar 2025-03-01T05:00:00Z plus the forecast horizon); this model was trained on "
        "a CSV file, whose newest price is from 2025-03-01T06:00:00Z (30 hours old); train on live data for current "
        f"dates: {LIVE_TRAINING_COMMAND}"
    )


def test_every_place_that_tells_how_to_get_current_dates_quotes_the_one_command(
    client: FlaskClient, trained_model_dir: Path
) -> None:
    # The 422 and the OpenAPI description quote settings.LIVE_TRAINING_COMMAND (asserted above); the chart page,
    # which cannot import Python, gets it from the server in a data- attribute, HTML-escaped (no inline script).
    page = client.get("/")
    served = page.get_data(as_text=True)
    assert f'data-live-training="{html.escape(LIVE_TRAINING_COMMAND)}"' in served
    assert 'data-live-training="make train ARGS=&quot;--source alpaca&quot;"' in served  # the quotes are escaped
    assert "$live_training" not in served and "<script>" not in served
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    chart = client.get("/assets/chart.js").get_data(as_text=True)
    assert "data.dataset.liveTraining" in chart and "--source alpaca" not in chart  # read, never restated
    assert not hasattr(messages, "LIVE_TRAINING")  # no second definition beside the settings' one
    assert LIVE_TRAINING_COMMAND in description(trained_model_dir)
