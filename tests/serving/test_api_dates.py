"""The HTTP contract for one date, through the Flask test client: the prediction and its band, the same bytes
from every app and process, how a date-time is read (offsets, no zone, a raw `+`) and why a bad one is refused."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptopredict.core.artifact import load_artifact
from cryptopredict.core.dates import DATE_PATTERN, FORMAT_HINT, parse_utc
from cryptopredict.core.settings import LIVE_TRAINING_COMMAND
from cryptopredict.serving.app import create_app
from tests.conftest import ROOT
from tests.servers import get, running_api


def test_a_day_gets_a_prediction_with_its_band(client: FlaskClient, trained_model_dir: Path) -> None:
    response = client.get("/bitcoin?date=2024-12-01")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.get_json()
    version = json.loads((trained_model_dir / "manifest.json").read_text())["pairs"]["BTC/USD"]["model_version"]
    assert set(body) == {
        "date", "prediction", "prediction_low", "prediction_high", "symbol", "interval", "model_version"
    }  # fmt: skip
    assert body["date"] == "2024-12-01T00:00:00Z"
    assert body["symbol"] == "BTC/USD"
    assert body["interval"] == 0.8
    assert body["model_version"] == version
    assert 0 < body["prediction_low"] <= body["prediction"] <= body["prediction_high"]
    table = load_artifact(trained_model_dir).pairs["BTC/USD"].forecast
    row = (1_733_011_200 - table.start) // 86_400  # 2024-12-01
    assert body["prediction"] == table.prediction[row]


SAME_ANSWER_URLS = [
    "/bitcoin?date=2024-03-15",  # in the history
    "/bitcoin?date=2024-12-24",  # ahead of the last bar
    "/bitcoin?date=2024-11-03T18:30:00%2B02:00",  # between two bars, with an offset
    "/predict/ETH-USD?date=2024-12-24",
    "/bitcoin/forecast?start=2024-10-30&end=2024-11-06",
]
SAME_ANSWER_PROBE = """
import json, sys
from cryptopredict.serving.app import create_app
from tests.conftest import ROOT
client = create_app({"MODEL_DIR": sys.argv[1], "TESTING": True}).test_client()
with open(sys.argv[3], "w") as out:
    json.dump([client.get(url).get_data(as_text=True) for url in json.loads(sys.argv[2])], out)
"""


def test_the_same_date_gets_the_same_bytes_from_every_app_and_every_process(
    client: FlaskClient, trained_model_dir: Path, tmp_path: Path
) -> None:
    # Every replica must give the same answer: a second app loaded from the same folder, and a fresh interpreter
    # with another hash seed (so nothing may hang on set or dict order, load time or process state).
    first = [client.get(url) for url in SAME_ANSWER_URLS]
    assert [r.status_code for r in first] == [200] * len(SAME_ANSWER_URLS)
    bodies = [r.get_data(as_text=True) for r in first]
    second = create_app({"MODEL_DIR": str(trained_model_dir), "TESTING": True}).test_client()
    assert [second.get(url).get_data(as_text=True) for url in SAME_ANSWER_URLS] == bodies
    out = tmp_path / "answers.json"
    probe = [sys.executable, "-c", SAME_ANSWER_PROBE, str(trained_model_dir), json.dumps(SAME_ANSWER_URLS), str(out)]
    env = {**os.environ, "PYTHONHASHSEED": "1234"}
    result = subprocess.run(probe, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text()) == bodies


def test_date_times_with_offsets_are_converted_to_utc(client: FlaskClient) -> None:
    offset = client.get("/bitcoin", query_string={"date": "2024-12-01T14:00:00+02:00"}).get_json()
    zulu = client.get("/bitcoin", query_string={"date": "2024-12-01T12:00:00Z"}).get_json()
    assert offset == zulu
    assert offset["date"] == "2024-12-01T12:00:00Z"


ZONELESS_URLS = [
    "/bitcoin?date={}",
    "/predict/ETH-USD?date={}",
    "/bitcoin/forecast?start={}&end=2024-12-05",
    "/predict/ETH-USD/forecast?start=2024-11-20&end={}",
    "/pairs/BTC-USD/track-record?before={}",
]


@pytest.mark.parametrize("url", ZONELESS_URLS)
@pytest.mark.parametrize("moment", ["2024-12-01T18:30:00", "2024-12-01T18:30", "2024-12-01T18:30:00.250"])
def test_a_date_time_without_a_zone_is_utc(client: FlaskClient, url: str, moment: str) -> None:
    # docs/api.md: a time without a zone is UTC, never the server's local time; the answer is byte for byte the Z one's.
    zoneless, zulu = client.get(url.format(moment)), client.get(url.format(moment + "Z"))
    assert (zoneless.status_code, zulu.status_code) == (200, 200)
    assert zoneless.data == zulu.data
    offset = client.get(url.format(moment.replace("T18:", "T20:") + "%2B02:00"))
    assert offset.data == zulu.data  # and the same instant written with an offset


def test_between_bars_the_answer_is_interpolated(client: FlaskClient) -> None:
    day1 = client.get("/bitcoin?date=2024-12-01").get_json()
    day2 = client.get("/bitcoin?date=2024-12-02").get_json()
    noon = client.get("/bitcoin?date=2024-12-01T12:00:00Z").get_json()
    for key in ("prediction", "prediction_low", "prediction_high"):
        assert noon[key] == pytest.approx((day1[key] + day2[key]) / 2, rel=1e-7)


def test_a_day_in_the_history_is_answered(client: FlaskClient) -> None:
    assert client.get("/bitcoin?date=2024-03-15").status_code == 200


BAD_DATES = [
    ("", 400, FORMAT_HINT),
    ("garbage", 400, FORMAT_HINT),
    ("2025-13-01", 400, "month must be in 1..12"),
    ("2025-02-30", 400, "day is out of range for month"),
    ("2025-1-1", 400, FORMAT_HINT),
    ("01/12/2025", 400, FORMAT_HINT),
    ("2025-01-01T25:00:00Z", 400, "hour must be in 0..23"),
    ("2025-01-01T12:00:00+25:00", 400, FORMAT_HINT),
    ("20250101", 400, FORMAT_HINT),
    ("2025-W01-1", 400, FORMAT_HINT),
    ("x" * 1_500, 400, FORMAT_HINT),  # long, yet under the 2 kB query limit: the date parser refuses it
    ("x" * 10_000, 414, "the query string is 10,005 bytes; at most 2,048 are read"),
    ("２０２５-０１-０１", 400, FORMAT_HINT),  # full-width digits
    ("2025-01-01\u00e9", 400, FORMAT_HINT),
    ("'; DROP TABLE bars; --", 400, FORMAT_HINT),
    ("9999-12-31T23:00:00-05:00", 422, "outside the range"),  # valid, but after the last UTC instant there is
    ("0000-01-01", 400, "not a valid date-time"),
    ("1999-01-01", 422, "outside the range this model answers: 2024-01-02T00:00:00Z to"),
    ("2024-01-01T23:59:59Z", 422, "outside the range"),
    ("2100-01-01", 422, "to 2025-01-02T00:00:00Z (last bar 2024-11-03T00:00:00Z plus the forecast horizon)"),
]


@pytest.mark.parametrize(("value", "status", "message"), BAD_DATES, ids=[repr(v[0])[:30] for v in BAD_DATES])
def test_bad_dates_get_a_json_4xx_that_says_why(client: FlaskClient, value: str, status: int, message: str) -> None:
    response = client.get("/bitcoin", query_string={"date": value})
    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == status
    assert message in body["message"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_missing_date_says_what_is_expected(client: FlaskClient) -> None:
    response = client.get("/bitcoin")
    assert response.status_code == 400
    assert response.get_json()["message"] == f"date: is required; {FORMAT_HINT}"


def test_a_repeated_date_parameter_is_refused(client: FlaskClient) -> None:
    response = client.get("/bitcoin?date=2024-12-01&date=2024-12-02")
    assert response.status_code == 400
    assert response.get_json()["message"] == "date: give this parameter once"


def test_unknown_extra_parameters_are_ignored(client: FlaskClient) -> None:
    assert client.get("/bitcoin?date=2024-12-01&_=12345").status_code == 200


def test_a_date_past_the_embedded_history_is_told_why_and_what_to_do(client: FlaskClient) -> None:
    message = client.get("/bitcoin?date=2100-01-01").get_json()["message"]
    start, _, story = message.partition("; ")
    assert start == (
        "date 2100-01-01T00:00:00Z is outside the range this model answers: 2024-01-02T00:00:00Z to "
        "2025-01-02T00:00:00Z (last bar 2024-11-03T00:00:00Z plus the forecast horizon)"
    )
    shown = re.fullmatch(
        r"this model was trained on the embedded history, whose newest price is from 2024-11-04T00:00:00Z "
        r"\((\d+) days old\); train on live data for current dates: " + re.escape(LIVE_TRAINING_COMMAND),
        story,
    )
    assert shown is not None, story
    # The age is the wall clock's: today minus the newest close, in whole days.
    assert int(shown[1]) == (dt.datetime.now(dt.UTC) - dt.datetime(2024, 11, 4, tzinfo=dt.UTC)).days


@pytest.mark.parametrize("year", [1, 4, 100, 400, 1900, 2000, 2023, 2024, 2100, 9999])
def test_the_published_date_pattern_is_exactly_the_calendar(year: int) -> None:
    pattern = re.compile(DATE_PATTERN)
    for month in range(0, 14):
        for day in range(0, 33):
            text = f"{year:04d}-{month:02d}-{day:02d}"
            try:
                dt.date(year, month, day)
                valid = True
            except ValueError:
                valid = False
            assert bool(pattern.match(text)) == valid, text
            assert bool(pattern.match(f"{text}T23:59:59.5+23:59")) == valid, text
    assert not pattern.match("0000-01-01")
    for bad_time in ("T24:00Z", "T12:60Z", "T12:00:60Z", "T12:00:00.1234567Z", "T12:00+24:00", "T12", "T12:00Z "):
        assert not pattern.match(f"2024-01-01{bad_time}"), bad_time
    for zoneless in ("T12:00", "T12:00:00", "T12:00:00.5"):  # no zone: UTC
        assert pattern.match(f"2024-01-01{zoneless}"), zoneless


# --- inputs people really send ----------------------------------------------------------------------------------


def test_an_unencoded_plus_in_the_offset_is_read_as_plus(client: FlaskClient) -> None:
    # The `+` sent raw arrives as a space; the answer is the one for the same instant written with Z or %2B.
    utc = client.get("/bitcoin?date=2024-12-01T16:30:00Z")
    assert utc.status_code == 200
    for raw in ("2024-12-01T18:30:00+02:00", "2024-12-01T18:30:00%2B02:00", "2024-12-01T18:30:00%2002:00"):
        assert client.get(f"/bitcoin?date={raw}").data == utc.data, raw
    assert client.get("/bitcoin?date=2024-12-01T14:30:00-02:00").data == utc.data
    raw_range = client.get("/predict/ETH-USD/forecast?start=2024-11-01T02:00:00+02:00&end=2024-11-03T00:00:00+00:00")
    assert raw_range.status_code == 200
    dates = [p["date"] for p in raw_range.get_json()["points"]]
    assert dates == ["2024-11-01T00:00:00Z", "2024-11-02T00:00:00Z", "2024-11-03T00:00:00Z"]
    # A space anywhere but the offset's sign is still refused.
    for wrong in ("2024-12-01 16:30:00Z", "2024-12-01T18:30:00++02:00", "+2024-12-01", "2024-12-01T18:30:00 2:00"):
        response = client.get(f"/bitcoin?date={wrong}")
        assert response.status_code == 400, wrong
        assert FORMAT_HINT in response.get_json()["message"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(DATE_PATTERN, fullmatch=True))
def test_the_parser_accepts_everything_the_published_pattern_allows(text: str) -> None:
    parse_utc(text)  # what Schemathesis generates from the pattern must never be a 400


@pytest.mark.slow
def test_the_real_server_reads_an_unencoded_plus_as_plus(trained_model_dir: Path) -> None:
    with running_api(trained_model_dir) as base:
        raw_status, raw_body, _ = get(f"{base}/bitcoin?date=2024-12-01T18:30:00+02:00")
        utc_status, utc_body, _ = get(f"{base}/bitcoin?date=2024-12-01T16:30:00Z")
        pair_status, pair_body, _ = get(f"{base}/predict/BTC%2FUSD?date=2024-12-01T16:30:00Z")
    assert (raw_status, utc_status, pair_status) == (200, 200, 200)
    assert raw_body == utc_body == pair_body
    assert raw_body["date"] == "2024-12-01T16:30:00Z"
