"""The HTTP contract, through the Flask test client."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptopredict.core.artifact import ArtifactError, load_artifact, pair_name
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


# --- the OpenAPI document and the docs page ------------------------------------------------------------


def test_openapi_document_is_generated_from_the_schemas(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.0.3"
    operation = spec["paths"]["/bitcoin"]["get"]
    parameter, level = operation["parameters"]
    assert (parameter["name"], parameter["in"], parameter["required"]) == ("date", "query", True)
    assert (level["name"], level["in"], level["required"], level["schema"]["enum"]) == (
        "level",
        "query",
        False,
        [50, 80, 95],
    )
    assert set(operation["responses"]) >= {"200", "400", "422"}
    prediction = spec["components"]["schemas"]["Prediction"]
    assert set(prediction["required"]) == {
        "date", "prediction", "prediction_low", "prediction_high", "symbol", "interval", "model_version"
    }  # fmt: skip
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"code", "status", "message", "errors"}
    assert {"/health", "/model"} <= set(spec["paths"])


def test_docs_page_uses_only_assets_the_app_serves(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assets = [part.split('"')[0] for part in page.split('="')[1:] if part.startswith("/docs/assets/")]
    assert len(assets) == 4
    assert "http" not in page.replace("http-equiv", "")
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.data) > 100


def test_docs_assets_do_not_expose_other_files(client: FlaskClient) -> None:
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/docs/assets/..%2f__init__.py").status_code == 404


def test_prediction_bodies_match_the_documented_schema(client: FlaskClient) -> None:
    from cryptopredict.serving.schemas import Prediction

    for date in ("2024-12-01", "2024-06-01T13:45:00Z", "2025-01-02"):
        body = client.get(f"/bitcoin?date={date}").get_json()
        assert Prediction().validate(body) == {}
        assert Prediction().dump(body) == body


# --- the forecast range and the page ----------------------------------------------------------------------


def test_a_daily_forecast_defaults_to_90_days_back_and_30_ahead(client: FlaskClient) -> None:
    body = client.get("/bitcoin/forecast").get_json()
    points = body["points"]
    assert body["last_bar"] == "2024-11-03T00:00:00Z"
    assert points[0]["date"] == "2024-08-05T00:00:00Z"
    assert points[-1]["date"] == "2024-12-03T00:00:00Z"
    assert len(points) == 121
    assert all(p["actual"] is not None for p in points if p["date"] <= body["last_bar"])
    assert all(p["actual"] is None for p in points if p["date"] > body["last_bar"])
    assert all(p["prediction_low"] <= p["prediction"] <= p["prediction_high"] for p in points)


def test_forecast_points_agree_with_bitcoin(client: FlaskClient) -> None:
    body = client.get("/bitcoin/forecast?start=2024-11-20&end=2024-11-22T12:00:00Z").get_json()
    assert [p["date"][:10] for p in body["points"]] == ["2024-11-20", "2024-11-21", "2024-11-22"]
    for point in body["points"]:
        single = client.get(f"/bitcoin?date={point['date']}").get_json()
        assert (single["prediction"], single["prediction_low"], single["prediction_high"]) == (
            point["prediction"], point["prediction_low"], point["prediction_high"]
        )  # fmt: skip


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("start=garbage", 400, "start: expected YYYY-MM-DD"),
        ("end=2024-02-30", 400, "end: 2024-02-30 is not a valid date-time"),
        ("start=2020-01-01", 422, "start 2020-01-01T00:00:00Z is outside the range"),
        ("start=2024-12-01&end=2030-01-01", 422, "end 2030-01-01T00:00:00Z is outside the range"),
        ("start=2024-12-01&end=2024-11-01", 422, "start 2024-12-01T00:00:00Z is after end 2024-11-01T00:00:00Z"),
        ("start=2024-01-01&start=2024-02-01", 400, "start: give this parameter once"),
    ],
)
def test_forecast_errors(client: FlaskClient, query: str, status: int, message: str) -> None:
    response = client.get(f"/bitcoin/forecast?{query}")
    assert response.status_code == status
    assert message in response.get_json()["message"]


DEFAULTED_SIDES = [
    (
        "start=2025-01-01",
        "start 2025-01-01T00:00:00Z is after the default end 2024-12-03T00:00:00Z (30 days after the last bar, "
        "2024-11-03T00:00:00Z); pass an end at or after the start",
    ),
    (
        "end=2024-03-01T12:00:00Z",
        "the default start 2024-08-05T00:00:00Z (90 days before the last bar, 2024-11-03T00:00:00Z) is after end "
        "2024-03-01T12:00:00Z; pass a start at or before the end",
    ),
]


@pytest.mark.parametrize("route", ["/bitcoin/forecast", "/predict/ETH-USD/forecast"])
@pytest.mark.parametrize(("query", "message"), DEFAULTED_SIDES, ids=["end-defaulted", "start-defaulted"])
def test_a_reversed_range_names_the_side_that_was_defaulted(
    client: FlaskClient, route: str, query: str, message: str
) -> None:
    # The client never wrote the defaulted side: the message says it is the default, what it is and how to change it.
    response = client.get(f"{route}?{query}")
    assert response.status_code == 422
    assert response.get_json()["message"] == message
    # Passing the side the message asks for answers.
    fixed = "end=2025-01-01" if query.startswith("start") else "start=2024-03-01"
    assert client.get(f"{route}?{query}&{fixed}").status_code == 200


CAP_CASES = [
    # daily, an explicit range one bar over a cap of 10
    ("client", "/bitcoin/forecast", 10, "start=2024-12-01&end=2024-12-11", 11, "1 day",
     "2024-12-01T00:00:00Z", "2024-12-10T00:00:00Z"),
    # hourly, the default range (14 days before the last bar, 2025-03-01T05:00Z, to 7 days after) over a cap of 100
    ("hourly_client", "/predict/BTC-USD/forecast", 100, "", 505, "1 hour",
     "2025-02-15T05:00:00Z", "2025-02-19T08:00:00Z"),
    # hourly, a wide explicit range starting between two bars, over the real cap
    ("hourly_client", "/bitcoin/forecast", 1_000, "start=2025-01-01T00:30:00Z&end=2025-03-05", 1_512, "1 hour",
     "2025-01-01T01:00:00Z", "2025-02-11T16:00:00Z"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fixture", "route", "cap", "query", "bars", "unit", "first", "suggested"),
    CAP_CASES,
    ids=["daily", "hourly-default-range", "hourly-real-cap"],
)
def test_a_range_over_the_cap_is_refused_with_an_end_that_fits(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    fixture: str,
    route: str,
    cap: int,
    query: str,
    bars: int,
    unit: str,
    first: str,
    suggested: str,
) -> None:
    from cryptopredict.serving import lookup

    assert lookup.MAX_POINTS == 1_000
    monkeypatch.setattr(lookup, "MAX_POINTS", cap)
    client = request.getfixturevalue(fixture)
    response = client.get(f"{route}?{query}")
    assert response.status_code == 422
    assert response.get_json()["message"] == (
        f"the range holds {bars:,} bars of {unit}; at most {cap:,} are returned at once: narrow it, for example "
        f"end={suggested}"
    )
    # The suggested end fits exactly: the same start, `cap` points, the last one at that end.
    narrowed = client.get(route, query_string={**dict(parse_qsl(query)), "end": suggested})
    assert narrowed.status_code == 200
    points = narrowed.get_json()["points"]
    assert (len(points), points[0]["date"], points[-1]["date"]) == (cap, first, suggested)


def test_forecast_is_documented(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/bitcoin/forecast"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"start", "end", "level"}
    assert set(operation["responses"]) >= {"200", "400", "422"}
    assert spec["components"]["schemas"]["ForecastRange"]["properties"]["points"]["maxItems"] == 1_000


def test_page_and_its_assets_are_served_with_a_strict_policy(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    # Every directive, exactly: only styles (Plotly writes them) and blob: images (its PNG export) are loosened.
    assert dict(directive.split(" ", 1) for directive in policy.split("; ")) == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "http" not in html.replace('lang="en"', "")
    for asset in ("/assets/chart.js", "/assets/chart.css", "/docs/assets/favicon-32x32.png"):
        assert asset in html
        assert client.get(asset).status_code == 200
    assert client.get("/assets/nope.js").status_code == 404


def test_plotly_is_served_by_the_app_gzipped_or_plain(client: FlaskClient) -> None:
    import gzip

    zipped = client.get("/assets/plotly.min.js", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    plain = client.get("/assets/plotly.min.js")
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(zipped.data) == plain.data
    assert plain.data.startswith(b"/**\n* plotly.js v")


def test_vendored_plotly_matches_the_pinned_wheel() -> None:
    import gzip
    from importlib import resources

    vendored = ROOT / "cryptopredict/serving/static/vendor/plotly.min.js.gz"
    assert (
        gzip.decompress(vendored.read_bytes())
        == (resources.files("plotly") / "package_data/plotly.min.js").read_bytes()
    )


def test_every_response_has_the_security_headers(client: FlaskClient) -> None:
    for url in ("/bitcoin?date=2024-12-01", "/bitcoin?date=bad", "/nope", "/docs"):
        headers = client.get(url).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


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


def test_the_openapi_document_publishes_the_date_syntax(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    for path, name in (("/bitcoin", "date"), ("/bitcoin/forecast", "start"), ("/bitcoin/forecast", "end")):
        (parameter,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
        assert parameter["schema"]["pattern"] == DATE_PATTERN
        assert parameter["schema"]["maxLength"] == len("2025-01-01T00:00:00.000000+00:00")


# --- several pairs ----------------------------------------------------------------------------------------------


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


def test_the_date_description_says_a_space_is_the_offsets_plus(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    for path, name in (
        ("/bitcoin", "date"),
        ("/predict/{pair}/forecast", "start"),
        ("/predict/{pair}/forecast", "end"),
    ):
        (parameter,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
        assert "A space in place of the offset's `+` is read as `+`" in parameter["description"], (path, name)
        assert re.fullmatch(parameter["schema"]["pattern"], "2025-01-01T18:30:00 02:00")
        # ... and that a date-time without a zone is UTC, which the pattern allows.
        assert "A date-time without a zone (2025-01-01T18:30:00) is UTC" in parameter["description"], (path, name)
        assert re.fullmatch(parameter["schema"]["pattern"], "2025-01-01T18:30:00")


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
