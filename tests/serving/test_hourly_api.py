"""An hourly pair served end to end: forecast defaults, interpolation, the 365-day horizon, daily and hourly pairs
side by side in one artifact, and the model cards (HTML report and job summary) of an hourly model."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cryptopredict.core.artifact import PairModel, load_artifact, pair_name
from cryptopredict.core.dates import format_utc
from cryptopredict.core.files import open_text
from cryptopredict.core.settings import LIVE_TRAINING_COMMAND
from cryptopredict.serving.app import create_app
from cryptopredict.serving.schemas import ForecastRange, PairList, default_bound
from cryptopredict.training.report import render_report
from tests.conftest import HOURLY_BTC_USD
from tests.servers import ROOT

HOUR = 3600
DAY = 86_400
LAST_BAR = "2025-03-01T05:00:00Z"  # the hourly fixture's newest bar: it closed at 06:00, the run's cut-off
HOURLY_LABELS = ["1 hour", "24 hours (1 day)", "168 hours (7 days)", "720 hours (30 days)"]


@pytest.fixture(scope="module")
def hourly(hourly_model_dir: Path) -> PairModel:
    return load_artifact(hourly_model_dir).pairs["BTC/USD"]


@pytest.fixture
def mixed_client(mixed_model_dir: Path) -> FlaskClient:
    return create_app({"MODEL_DIR": str(mixed_model_dir), "ACCESS_LOG": False}).test_client()


def observed_close(start: str) -> float:
    """The close of the bar that starts at `start`, straight from the hourly CSV in data/."""
    with open_text(HOURLY_BTC_USD) as handle:
        for row in csv.DictReader(handle):
            if row["timestamp"] == start:
                return float(row["close"])
    raise AssertionError(f"no bar at {start} in {HOURLY_BTC_USD}")


def test_an_hourly_forecast_defaults_to_two_weeks_back_and_one_ahead(hourly_client: FlaskClient) -> None:
    for path in ("/bitcoin/forecast", "/predict/BTC-USD/forecast"):
        response = hourly_client.get(path)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert ForecastRange().validate(body) == {}
        points = body["points"]
        assert (body["timeframe"], body["last_bar"]) == ("1Hour", LAST_BAR)
        assert points[0]["date"] == "2025-02-15T05:00:00Z"  # 336 hours before the last bar
        assert points[-1]["date"] == "2025-03-08T05:00:00Z"  # 168 hours after it
        assert len(points) == 336 + 1 + 168
        epochs = [dt.datetime.fromisoformat(p["date"].replace("Z", "+00:00")).timestamp() for p in points]
        assert {b - a for a, b in itertools.pairwise(epochs)} == {HOUR}
        assert all(p["actual"] is not None for p in points if p["date"] <= LAST_BAR)
        assert all(p["actual"] is None for p in points if p["date"] > LAST_BAR)


def test_the_last_bar_holds_its_observed_close_and_anchors_the_forecast(hourly_client: FlaskClient) -> None:
    points = {p["date"]: p for p in hourly_client.get("/bitcoin/forecast").get_json()["points"]}
    close = observed_close(LAST_BAR)
    assert points[LAST_BAR]["actual"] == close
    # A date in the history is answered by the forecast made one bar before it (docs/api.md, Dates); the first hour
    # after the last bar is forecast from that bar's close.
    at_last_bar = hourly_client.get(f"/bitcoin?date={LAST_BAR}").get_json()
    assert at_last_bar["prediction"] == points[LAST_BAR]["prediction"]
    assert at_last_bar["prediction"] == pytest.approx(observed_close("2025-03-01T04:00:00Z"), rel=1e-3)
    next_hour = hourly_client.get("/bitcoin?date=2025-03-01T06:00:00Z").get_json()
    assert next_hour["prediction"] == pytest.approx(close, rel=1e-3)
    assert next_hour["prediction_low"] < close < next_hour["prediction_high"]


@pytest.mark.parametrize(
    ("date", "before", "after", "weight"),
    [
        ("2025-02-20T10:30:00Z", "2025-02-20T10:00:00Z", "2025-02-20T11:00:00Z", 0.5),  # in the history
        ("2025-03-03T17:15:00Z", "2025-03-03T17:00:00Z", "2025-03-03T18:00:00Z", 0.25),  # ahead
        ("2025-03-03T19:45:00+01:00", "2025-03-03T18:00:00Z", "2025-03-03T19:00:00Z", 0.75),  # with an offset
    ],
)
def test_an_instant_between_two_hours_is_interpolated(
    hourly_client: FlaskClient, date: str, before: str, after: str, weight: float
) -> None:
    answer = hourly_client.get("/bitcoin", query_string={"date": date}).get_json()
    first = hourly_client.get(f"/bitcoin?date={before}").get_json()
    second = hourly_client.get(f"/bitcoin?date={after}").get_json()
    assert first["prediction"] != second["prediction"]
    for key in ("prediction", "prediction_low", "prediction_high"):
        assert answer[key] == pytest.approx(first[key] + (second[key] - first[key]) * weight, rel=1e-7)


def test_an_hourly_pair_answers_365_days_ahead(hourly_client: FlaskClient) -> None:
    year_on = hourly_client.get("/bitcoin?date=2026-03-01T05:00:00Z")  # the last bar plus 365 days
    assert year_on.status_code == 200
    assert year_on.get_json()["date"] == "2026-03-01T05:00:00Z"
    late = hourly_client.get("/predict/BTC-USD?date=2026-03-02T05:00:00Z")
    assert late.status_code == 422
    message = late.get_json()["message"]
    assert f"to 2026-03-01T05:00:00Z (last bar {LAST_BAR} plus the forecast horizon); " in message
    assert message.endswith(f"train on live data for current dates: {LIVE_TRAINING_COMMAND}")
    [listed] = hourly_client.get("/pairs").get_json()["pairs"]
    assert listed["last_date"] == "2026-03-01T05:00:00Z"


def test_an_hourly_range_over_the_cap_suggests_an_end_that_fits(hourly_client: FlaskClient, hourly: PairModel) -> None:
    start = format_utc(hourly.forecast.start)
    response = hourly_client.get(f"/bitcoin/forecast?start={start}")  # to the default end: 2,000+ hours
    assert response.status_code == 422
    message = response.get_json()["message"]
    rows = (hourly.forecast.last_bar + 168 * HOUR - hourly.forecast.start) // HOUR + 1
    suggested = format_utc(hourly.forecast.start + 999 * HOUR)
    assert message == (
        f"the range holds {rows:,} bars of 1 hour; at most 1,000 are returned at once: "
        f"narrow it, for example end={suggested}"
    )
    narrowed = hourly_client.get(f"/bitcoin/forecast?start={start}&end={suggested}")
    assert narrowed.status_code == 200
    points = narrowed.get_json()["points"]
    assert (len(points), points[0]["date"], points[-1]["date"]) == (1_000, start, suggested)
    # Off the grid, the suggestion is still the last bar that fits.
    off_grid = hourly_client.get("/bitcoin/forecast?start=2025-01-01T00:30:00Z&end=2025-03-05T00:00:00Z")
    assert off_grid.get_json()["message"].endswith("end=2025-02-11T16:00:00Z")
    fits = hourly_client.get("/bitcoin/forecast?start=2025-01-01T00:30:00Z&end=2025-02-11T16:00:00Z")
    assert len(fits.get_json()["points"]) == 1_000


def test_daily_and_hourly_pairs_side_by_side(mixed_client: FlaskClient, mixed_model_dir: Path) -> None:
    body = mixed_client.get("/pairs").get_json()
    assert PairList().validate(body) == {}
    assert [
        (p["pair"], p["timeframe"], p["bar_seconds"], p["source"], p["last_bar"], p["newest_close"])
        for p in body["pairs"]
    ] == [
        ("BTC-USD", "1Hour", HOUR, "csv", LAST_BAR, "2025-03-01T06:00:00Z"),
        ("ETH-USD", "1Day", DAY, "embedded", "2024-11-03T00:00:00Z", "2024-11-04T00:00:00Z"),
    ]
    manifest = json.loads((mixed_model_dir / "manifest.json").read_text())
    model = mixed_client.get("/model").get_json()
    assert model == {**manifest, "pairs": {pair_name(s): card for s, card in manifest["pairs"].items()}}  # as /pairs
    assert {p: c["timeframe"] for p, c in model["pairs"].items()} == {"BTC-USD": "1Hour", "ETH-USD": "1Day"}
    btc = mixed_client.get("/predict/BTC-USD/forecast").get_json()
    eth = mixed_client.get("/predict/ETH-USD/forecast").get_json()
    assert (btc["timeframe"], len(btc["points"]), btc["points"][0]["date"]) == ("1Hour", 505, "2025-02-15T05:00:00Z")
    assert (eth["timeframe"], len(eth["points"]), eth["points"][0]["date"]) == ("1Day", 121, "2024-08-05T00:00:00Z")
    assert mixed_client.get("/bitcoin/forecast").data == mixed_client.get("/predict/BTC-USD/forecast").data
    assert mixed_client.get("/ready").status_code == 200


def test_the_forecast_defaults_are_documented_per_bar_length(hourly_client: FlaskClient) -> None:
    spec = hourly_client.get("/openapi.json").get_json()
    for path in ("/bitcoin/forecast", "/predict/{pair}/forecast"):
        operation = spec["paths"][path]["get"]
        assert "1Day bars, 90 days before the last bar to 30 days after it" in operation["description"]
        assert (
            "1Hour bars, 336 hours (14 days) before the last bar to 168 hours (7 days) after it"
            in operation["description"]
        )
        parameters = {p["name"]: p["description"] for p in operation["parameters"] if p["in"] == "query"}
        assert default_bound("before") in parameters["start"]
        assert "1Day: 30 days, 1Hour: 168 hours (7 days) after the last bar" in parameters["end"]
    pair = spec["components"]["schemas"]["PairSummary"]["properties"]
    assert pair["timeframe"]["enum"] == ["1Day", "1Hour"]
    assert "bar_seconds" in spec["components"]["schemas"]["PairSummary"]["required"]


# --- the model cards of an hourly model ------------------------------------------------------------------------


def test_the_html_model_card_of_an_hourly_model(hourly_model_dir: Path, hourly: PairModel) -> None:
    card = hourly.card
    page = render_report([(hourly.forecast, card, [])])
    assert f"Refitted at {card['fitted_at']}: backtest, gate and a Prophet fit on 2880 1Hour bars" in page
    assert f"Newest bar {LAST_BAR} (the anchor), from csv data {HOURLY_BTC_USD.name}: historical data" in page
    assert "the last 90 days of 1Hour closes, then 365 days ahead" in page  # the timeframe's table history
    for label in HOURLY_LABELS:
        assert label in page
    reanchored = render_report([(hourly.forecast, {**card, "update": "reanchor"}, [])])
    assert f"Re-anchored at {card['trained_at']} on the newest close: the stored Prophet fit of" in reanchored
    assert f"passed (at the refit of {card['fitted_at']})" in reanchored


def test_the_job_summary_of_an_hourly_model(hourly_model_dir: Path, tmp_path: Path) -> None:
    manifest = json.loads((hourly_model_dir / "manifest.json").read_text())
    card = manifest["pairs"]["BTC/USD"]
    reanchored = tmp_path / "manifest.json"
    reanchored.write_text(json.dumps({**manifest, "pairs": {"BTC/USD": {**card, "update": "reanchor"}}}))
    outputs = [
        subprocess.run(
            [sys.executable, "-m", "release.model_card", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for path in (hourly_model_dir / "manifest.json", reanchored)
    ]
    newest = (
        f"Timeframe 1Hour; newest bar {LAST_BAR}, whose close was 0.0 h old at the run's cut-off "
        "2025-03-01T06:00:00Z; data: csv (historical data, not kept current)."
    )
    refit, reanchor = outputs
    assert f"### BTC/USD 1Hour: model {card['model_version']}" in refit.splitlines()
    assert f"Refitted at {card['fitted_at']} on 2880 bars" in refit and newest in refit
    assert f"Re-anchored the Prophet fit of {card['fitted_at']}" in reanchor and newest in reanchor
    backtest = refit.split("\nTrack record")[
        0
    ]  # the track record's own table follows (tests/core/test_track_record_drift.py)
    table = [line.split("|")[1].strip() for line in backtest.splitlines() if line.startswith("| ")]
    assert table == ["horizon", *HOURLY_LABELS]
