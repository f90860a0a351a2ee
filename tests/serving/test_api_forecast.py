"""The forecast range, through the Flask test client: its default range, its points agreeing with /bitcoin, its
errors, a reversed range naming the defaulted side, and a range over the cap refused with an end that fits."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from flask.testing import FlaskClient


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
