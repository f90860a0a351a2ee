"""The band levels (50, 80, 95 %) end to end: the default answers unchanged byte for byte, every level's band on
every route, nested on every row of real fitted artifacts, strict `level` parsing, and the OpenAPI enum."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cryptopredict.core.artifact import load_artifact
from cryptopredict.core.forecast import DEFAULT_LEVEL, LEVELS, ForecastTable, coverage_of
from cryptopredict.serving.app import create_app
from cryptopredict.serving.schemas import ForecastRange, Prediction
from cryptopredict.training.gate import coverage_tolerance
from tests.conftest import ROOT

# Captured before levels existed (commit 85ca46e) from the session fixtures' settings: the default answers, with each
# pair's model_version written as {BTC/USD}. The version itself changes with the forecast file (it holds its hash).
DEFAULT_ANSWERS = json.loads((ROOT / "tests" / "data" / "default_answers.json").read_text())
FIXTURES = {"daily": "trained_model_dir", "hourly": "hourly_model_dir"}


def fixture_client(request: pytest.FixtureRequest, kind: str) -> tuple[FlaskClient, dict[str, str]]:
    model_dir: Path = request.getfixturevalue(FIXTURES[kind])
    manifest = json.loads((model_dir / "manifest.json").read_text())
    versions = {symbol: card["model_version"] for symbol, card in manifest["pairs"].items()}
    return create_app({"MODEL_DIR": str(model_dir), "TESTING": True}).test_client(), versions


def expected_body(template: str, versions: dict[str, str]) -> bytes:
    for symbol, version in versions.items():
        template = template.replace("{" + symbol + "}", version)
    return template.encode()


@pytest.mark.parametrize(("kind", "url"), [(kind, url) for kind, answers in DEFAULT_ANSWERS.items() for url in answers])
def test_the_default_answer_is_byte_for_byte_what_it_was_before_levels(
    request: pytest.FixtureRequest, kind: str, url: str
) -> None:
    client, versions = fixture_client(request, kind)
    expected = expected_body(DEFAULT_ANSWERS[kind][url], versions)
    assert client.get(url).get_data() == expected
    explicit = url + ("&" if "?" in url else "?") + f"level={DEFAULT_LEVEL}"
    assert client.get(explicit).get_data() == expected


ROUTES = {
    "daily": [
        "/bitcoin?date=2024-12-24",
        "/predict/ETH-USD?date=2024-11-03T18:30:00Z",
        "/bitcoin/forecast?start=2024-10-30&end=2024-11-06",
        "/predict/ETH-USD/forecast",
    ],
    "hourly": [
        "/bitcoin?date=2025-03-02T10:30:00Z",
        "/predict/BTC-USD?date=2025-12-01T07:15:00Z",  # past the calibrated 720 hours
        "/bitcoin/forecast",
        "/predict/BTC-USD/forecast?start=2025-02-28T00:00:00Z&end=2025-03-03T00:00:00Z",
    ],
}


def bands(body: dict[str, object]) -> list[tuple[float, float, float]]:
    """(low, prediction, high) of an answer: its point, or every point of a range."""
    points = body.get("points", [body])
    return [(p["prediction_low"], p["prediction"], p["prediction_high"]) for p in points]  # type: ignore[index, union-attr]


@pytest.mark.parametrize(("kind", "url"), [(kind, url) for kind, urls in ROUTES.items() for url in urls])
def test_every_route_answers_each_level_with_its_nested_band(
    request: pytest.FixtureRequest, kind: str, url: str
) -> None:
    client, _ = fixture_client(request, kind)
    answers = {}
    for level in LEVELS:
        response = client.get(url + ("&" if "?" in url else "?") + f"level={level}")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        schema = ForecastRange() if "points" in body else Prediction()
        assert schema.validate(body) == {}
        assert body["interval"] == coverage_of(level) == {50: 0.5, 80: 0.8, 95: 0.95}[level]
        answers[level] = body
    # The same forecast, dates and shape at every level; only the band differs, and it nests.
    shapes = {
        level: {k: v for k, v in body.items() if k not in ("interval", "points")} for level, body in answers.items()
    }
    for level in LEVELS:
        assert {k: v for k, v in shapes[level].items() if k not in ("prediction_low", "prediction_high")} == {
            k: v for k, v in shapes[DEFAULT_LEVEL].items() if k not in ("prediction_low", "prediction_high")
        }
    narrow, default, wide = (bands(answers[level]) for level in LEVELS)
    assert len(narrow) == len(default) == len(wide) > 0
    for (l50, p, h50), (l80, p80, h80), (l95, p95, h95) in zip(narrow, default, wide, strict=True):
        assert p == p80 == p95
        assert l95 <= l80 <= l50 <= p <= h50 <= h80 <= h95
    # And the bands differ where the forecast is uncertain: a real spread, not three copies of one band.
    assert any(
        l95 < l80 < l50 and h50 < h80 < h95
        for (l50, _, h50), (l80, _, h80), (l95, _, h95) in zip(narrow, default, wide, strict=True)
    )


def assert_nested_on_every_row(table: ForecastTable) -> int:
    """Every row's three bands, and one instant between each two rows: nested, each holding the prediction."""
    checked = 0
    for row in range(len(table.prediction)):
        ends = {level: table.band_at(row, level) for level in LEVELS}
        p = table.prediction[row]
        assert ends[95][0] <= ends[80][0] <= ends[50][0] <= p <= ends[50][1] <= ends[80][1] <= ends[95][1], row
        assert ends[80] == (table.low[row], table.high[row])
        checked += 1
    for row in range(0, len(table.prediction) - 1, 7):  # interpolated instants a third of the way to the next row
        moment = table.time_of(row) + table.step // 3
        points = {level: table.lookup(moment, level) for level in LEVELS}
        assert points[95].low <= points[80].low <= points[50].low <= points[50].prediction, row
        assert points[50].prediction <= points[50].high <= points[80].high <= points[95].high, row
    return checked


@pytest.mark.parametrize("fixture", ["trained_model_dir", "hourly_model_dir"])
def test_the_bands_are_nested_on_every_row_of_real_fitted_artifacts(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    artifact = load_artifact(request.getfixturevalue(fixture))
    for pair in artifact.pairs.values():
        assert assert_nested_on_every_row(pair.forecast) == len(pair.forecast.prediction)


BAD_LEVELS = ["90", "abc", "80.0", "", "080", " 80", "+80", "8e1", "0", "-80", "100", "５０"]


@pytest.mark.parametrize("value", BAD_LEVELS, ids=[repr(v) for v in BAD_LEVELS])
@pytest.mark.parametrize(
    "path",
    ["/bitcoin?date=2024-12-24", "/predict/ETH-USD?date=2024-12-24", "/bitcoin/forecast", "/predict/BTC-USD/forecast"],
)
def test_any_other_level_is_a_json_400_listing_the_allowed_ones(client: FlaskClient, path: str, value: str) -> None:
    route, _, date = path.partition("?")
    response = client.get(route, query_string={**dict([date.split("=")] if date else []), "level": value})
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == 400
    assert body["message"].startswith("level: must be one of 50, 80, 95: the band's nominal coverage in percent")
    assert body["errors"]["query"]["level"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_repeated_level_is_refused(client: FlaskClient) -> None:
    response = client.get("/bitcoin?date=2024-12-24&level=50&level=95")
    assert response.status_code == 400
    assert response.get_json()["message"] == "level: give this parameter once"


def test_the_openapi_document_declares_the_levels_on_every_route(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    routes = ["/bitcoin", "/bitcoin/forecast", "/predict/{pair}", "/predict/{pair}/forecast"]
    for route in routes:
        [level] = [p for p in spec["paths"][route]["get"]["parameters"] if p["name"] == "level"]
        assert (level["in"], level["required"]) == ("query", False)
        assert level["schema"]["type"] == "integer"
        assert level["schema"]["enum"] == [50, 80, 95] == list(LEVELS)
        assert level["schema"]["default"] == 80
        assert "50, 80 or 95" in level["description"]


def test_the_job_summary_and_the_text_card_give_every_levels_coverage(trained_model_dir: Path) -> None:
    import subprocess
    import sys

    from cryptopredict.training.card import format_table

    manifest_path = trained_model_dir / "manifest.json"
    card = json.loads(manifest_path.read_text())["pairs"]["ETH/USD"]
    summary = subprocess.run(
        [sys.executable, "-m", "release.model_card", str(manifest_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = summary.splitlines()
    eth = lines[lines.index(f"### ETH/USD 1Day: model {card['model_version']}") :]
    eth = list(itertools.takewhile(lambda line: not line.startswith("Track record"), eth))  # the backtest's table
    table = [[cell.strip() for cell in line.split("|")[1:-1]] for line in eth if line.startswith("| ")]
    header, rows = table[0], table[1:]
    assert header[5:8] == ["50% cover", "80% cover", "95% cover"]
    for cells, row in zip(rows, card["backtest"]["horizons"], strict=True):
        assert cells[5:8] == [f"{band['coverage']:.1%}" for band in row["model"]["levels"]]
    assert [b["nominal"] for b in card["backtest"]["horizons"][0]["model"]["levels"]] == [0.5, 0.8, 0.95]
    assert "50% cover  80% cover  95% cover" in format_table(card["backtest"]["horizons"])
    assert card["gate"]["max_coverage_gap"] == 0.07  # the default gate: its tolerance widens where sampling needs
    for row in card["backtest"]["horizons"]:
        # Each of the model's bands records the tolerance the gate judged it by; the naive forecast's are not judged.
        assert [b["tolerance"] for b in row["model"]["levels"]] == [
            coverage_tolerance(b["nominal"], row["independent"], 0.07) for b in row["model"]["levels"]
        ]
        assert [b["tolerance"] for b in row["naive"]["levels"]] == [None, None, None]
    first, last = card["backtest"]["horizons"][0], card["backtest"]["horizons"][-1]
    assert first["independent"] == first["origins"] and last["independent"] == last["origins"] // 30
    assert last["model"]["levels"][0]["tolerance"] > 0.07  # the 50 % band on a few 30-day outcomes: widened
    assert "gate ± points" in format_table(card["backtest"]["horizons"])


def test_the_html_report_draws_every_band_and_every_levels_coverage(trained_model_dir: Path) -> None:
    from cryptopredict.training.report import render_report

    pair = load_artifact(trained_model_dir).pairs["BTC/USD"]
    page = render_report([(pair.forecast, pair.card, [])])
    for level in LEVELS:
        assert f'"name":"{level}% band"' in page  # the forecast figure's band
        assert f'"name":"model {level}% band"' in page  # the coverage figure's bars
        assert f"nominal {level}%" in page  # and the nominal line each is judged against
    assert "50% cover  80% cover  95% cover" in page
