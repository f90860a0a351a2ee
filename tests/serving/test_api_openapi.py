"""The OpenAPI document, generated from the schemas: the operations, the date syntax it publishes, and the
answers matching the documented schema."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from cryptopredict.core.dates import DATE_PATTERN


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


def test_prediction_bodies_match_the_documented_schema(client: FlaskClient) -> None:
    from cryptopredict.serving.schemas import Prediction

    for date in ("2024-12-01", "2024-06-01T13:45:00Z", "2025-01-02"):
        body = client.get(f"/bitcoin?date={date}").get_json()
        assert Prediction().validate(body) == {}
        assert Prediction().dump(body) == body


def test_forecast_is_documented(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/bitcoin/forecast"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"start", "end", "level"}
    assert set(operation["responses"]) >= {"200", "400", "422"}
    assert spec["components"]["schemas"]["ForecastRange"]["properties"]["points"]["maxItems"] == 1_000


def test_the_openapi_document_publishes_the_date_syntax(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    for path, name in (("/bitcoin", "date"), ("/bitcoin/forecast", "start"), ("/bitcoin/forecast", "end")):
        (parameter,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
        assert parameter["schema"]["pattern"] == DATE_PATTERN
        assert parameter["schema"]["maxLength"] == len("2025-01-01T00:00:00.000000+00:00")


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
