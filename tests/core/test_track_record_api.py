"""The track record's route (documented, paged, refusing bad input), its note when nothing is scored yet, and the
training report showing the record.
"""

from __future__ import annotations

import html
from typing import Any

from cryptopredict.core.artifact import load_artifact
from cryptopredict.core.track import format_summary, verdict_line
from cryptopredict.serving.messages import NOTHING_SCORED
from cryptopredict.serving.schemas import TrackRecordPage
from tests.core.track_record_helpers import BTC, client_of
from tests.track_chain import Chain


def test_the_route_is_documented_and_refuses_bad_input(hourly_chain: Chain) -> None:
    client = client_of(hourly_chain.model_dir)
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/pairs/{pair}/track-record"]["get"]
    path_parameters = spec["paths"]["/pairs/{pair}/track-record"].get("parameters", [])
    assert {p["name"] for p in operation["parameters"] + path_parameters} == {"pair", "limit", "before"}
    assert set(operation["responses"]) >= {"200", "400", "404"}
    page = spec["components"]["schemas"]["TrackRecordPage"]
    assert set(page["required"]) == {"pair", "summary", "points", "next", "note"}
    assert set(spec["components"]["schemas"]["TrackPoint"]["required"]) >= {
        "date", "model_version", "prediction", "prediction_low", "prediction_high", "actual", "horizon", "bucket",
    }  # fmt: skip
    unknown = client.get("/pairs/XRP-USD/track-record?limit=abc")
    assert unknown.status_code == 404 and unknown.get_json()["errors"]["pair"]["known"] == ["BTC-USD"]
    for query in ("limit=0", "limit=1001", "limit=1e2", "limit=%2010", "before=yesterday", "limit=5&limit=6"):
        response = client.get(f"/pairs/BTC-USD/track-record?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["code"] == 400 and response.get_json()["message"]
    newest = client.get("/pairs/BTC-USD/track-record?limit=2&before=2025-03-03T12:00:00Z").get_json()
    assert [p["date"] for p in newest["points"]] == ["2025-03-03T11:00:00Z", "2025-03-03T10:00:00Z"]
    assert newest["next"] == "/pairs/BTC-USD/track-record?limit=2&before=2025-03-03T10%3A00%3A00Z"
    assert client.get("/pairs/btc%2Fusd/track-record?before=2020-01-01").get_json()["points"] == []
    pairs = client.get("/pairs").get_json()["pairs"]
    record = load_artifact(hourly_chain.model_dir).pairs[BTC].record
    assert pairs[0]["track_record"] == "/pairs/BTC-USD/track-record" and pairs[0]["degraded"] is record.degraded


def test_an_empty_record_says_why_nothing_is_scored(client: Any) -> None:
    # The first training run has nothing to score: the answer keeps its shape (null figures, "too few points") and
    # says why, in the words the chart page shows (it reads this note rather than restating it).
    body = client.get("/pairs/BTC-USD/track-record").get_json()
    assert TrackRecordPage().validate(body) == {}
    assert (body["pair"], body["points"], body["next"]) == ("BTC-USD", [], None)
    assert body["summary"]["overall"] == {
        "points": 0, "mape": None, "naive_mape": None, "mape_ratio": None, "coverage": None
    }  # fmt: skip
    assert body["summary"]["drift"]["status"] == "too few points"
    assert body["note"] == NOTHING_SCORED
    assert NOTHING_SCORED.startswith("nothing scored yet (each retraining scores the forecasts served since the last")
    note = client.get("/openapi.json").get_json()["components"]["schemas"]["TrackRecordPage"]["properties"]["note"]
    assert note["nullable"] is True and "nothing has been scored yet" in note["description"]
    chart = client.get("/assets/chart.js").get_data(as_text=True)
    assert '"Track record: " + record.note' in chart and "nothing scored yet" not in chart  # not restated


def test_a_record_with_points_has_no_note(daily_chain: Chain) -> None:
    client = client_of(daily_chain.model_dir)
    for pair in ("BTC-USD", "ETH-USD"):
        body = client.get(f"/pairs/{pair}/track-record").get_json()
        assert body["summary"]["overall"]["points"] > 0 and body["note"] is None
        # A page past the oldest point is empty, but the record is not: still no note.
        assert client.get(f"/pairs/{pair}/track-record?before=2020-01-01").get_json()["note"] is None


def test_the_report_shows_the_record(hourly_chain: Chain) -> None:
    report = hourly_chain.results[-1].report_path
    assert report is not None
    text = report.read_text()
    assert "BTC/USD: track record (served forecasts scored against actual closes)" in text
    record = load_artifact(hourly_chain.model_dir).pairs[BTC].record
    assert "served forecast" in text and html.escape(verdict_line(record.summary)) in text
    assert html.escape(format_summary(record.summary)) in text
