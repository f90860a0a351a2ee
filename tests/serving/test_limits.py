"""What is refused before any route runs: methods, long query strings, too many requests; whose address counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cryptopredict.core.settings import SettingsError, read_app_config
from cryptopredict.serving.app import create_app
from tests.fakes.loopback import free_port


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND"])
@pytest.mark.parametrize("path", ["/bitcoin?date=2024-12-01", "/", "/no/such/path"])
def test_only_get_head_and_options_are_served(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method, data=b"{}")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert response.get_json() == {
        "code": 405,
        "status": "Method Not Allowed",
        "message": f"{method} is not served; this API is read-only (GET, HEAD, OPTIONS)",
    }


def test_head_and_options_are_served(client: FlaskClient) -> None:
    head = client.head("/bitcoin?date=2024-12-01")
    assert head.status_code == 200
    assert head.data == b""
    assert int(head.headers["Content-Length"]) == len(client.get("/bitcoin?date=2024-12-01").data)
    preflight = client.options(
        "/bitcoin", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_a_query_string_over_2_kb_is_refused_in_json(client: FlaskClient) -> None:
    at_limit = "date=2024-12-01&pad=" + "x" * (2_048 - len("date=2024-12-01&pad="))
    assert client.get(f"/bitcoin?{at_limit}").status_code == 200  # extra parameters are ignored
    response = client.get(f"/bitcoin?{at_limit}x")
    assert response.status_code == 414
    assert response.get_json() == {
        "code": 414,
        "status": "Request URI Too Long",
        "message": "the query string is 2,049 bytes; at most 2,048 are read",
    }


def test_rate_limiting_is_off_by_default(client: FlaskClient) -> None:
    statuses = {client.get("/bitcoin?date=2024-12-01").status_code for _ in range(150)}
    assert statuses == {200}
    assert "X-RateLimit-Limit" not in client.get("/bitcoin?date=2024-12-01").headers


def limited_client(trained_model_dir: Path, **config: object) -> FlaskClient:
    app = create_app({"MODEL_DIR": str(trained_model_dir), "RATE_LIMIT": "3/minute", "ACCESS_LOG": False, **config})
    return app.test_client()


def test_a_client_over_its_limit_gets_a_json_429_with_retry_after(trained_model_dir: Path) -> None:
    client = limited_client(trained_model_dir)
    first = [client.get("/bitcoin?date=2024-12-01") for _ in range(3)]
    assert [r.status_code for r in first] == [200, 200, 200]
    assert [r.headers["X-RateLimit-Remaining"] for r in first] == ["2", "1", "0"]
    assert all("Retry-After" not in r.headers for r in first)  # it only means something on a refusal
    refused = client.get("/bitcoin?date=nonsense")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json() == {
        "code": 429,
        "status": "Too Many Requests",
        "message": (
            "too many requests from your address (limit: 3 per 1 minute); wait the number of seconds in Retry-After"
        ),
    }
    # Health checks and scrapes are never limited; another address has its own allowance.
    assert {client.get(p).status_code for p in ("/health", "/ready", "/metrics") for _ in range(5)} == {200}
    other = client.get("/bitcoin?date=2024-12-01", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(trained_model_dir: Path) -> None:
    direct = limited_client(trained_model_dir)
    statuses = [
        direct.get("/bitcoin?date=2024-12-01", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]  # a client cannot dodge the limit by inventing addresses

    proxied = limited_client(trained_model_dir, TRUSTED_PROXIES=1)
    for i in range(4):
        # The proxy appends the address it saw; whatever the client wrote to the left of it is not believed.
        headers = {"X-Forwarded-For": f"198.51.100.7, 203.0.113.{i}"}
        assert proxied.get("/bitcoin?date=2024-12-01", headers=headers).status_code == 200
    same = {"X-Forwarded-For": "203.0.113.50"}
    assert [proxied.get("/bitcoin?date=2024-12-01", headers=same).status_code for _ in range(4)] == [200] * 3 + [429]


def test_the_logged_client_address_follows_the_same_rule(
    trained_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for proxies, expected in ((0, "127.0.0.1"), (1, "203.0.113.9"), (2, "198.51.100.7")):
        app = create_app({"MODEL_DIR": str(trained_model_dir), "TRUSTED_PROXIES": proxies})
        capsys.readouterr()
        app.test_client().get("/health", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
        assert json.loads(capsys.readouterr().out)["remote_addr"] == expected


def test_limits_are_read_from_the_environment() -> None:
    config = read_app_config({"RATE_LIMIT": " 60/minute;1000/hour ", "TRUSTED_PROXIES": "1", "ACCESS_LOG": "off"})
    assert config == {"RATE_LIMIT": "60/minute;1000/hour", "TRUSTED_PROXIES": 1, "ACCESS_LOG": False}
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES='many' is not a whole number"):
        read_app_config({"TRUSTED_PROXIES": "many"})
    with pytest.raises(SettingsError, match="ACCESS_LOG='maybe' is not on or off"):
        read_app_config({"ACCESS_LOG": "maybe"})


def test_a_malformed_rate_limit_stops_the_app(trained_model_dir: Path) -> None:
    with pytest.raises(SettingsError, match="RATE_LIMIT='lots' is not a rate limit such as '60/minute'"):
        create_app({"MODEL_DIR": str(trained_model_dir), "RATE_LIMIT": "lots"})


def test_the_rate_limit_storage_is_read_from_the_environment() -> None:
    config = read_app_config({"RATE_LIMIT_STORAGE_URI": " redis://10.0.0.5:6379/0 "})
    assert config == {"RATE_LIMIT_STORAGE_URI": "redis://10.0.0.5:6379/0"}
    assert "RATE_LIMIT_STORAGE_URI" not in read_app_config({"RATE_LIMIT_STORAGE_URI": " "})


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("redis//127.0.0.1:6379", "the scheme must be memory:// or one of redis://, rediss://, redis+unix://"),
        ("mysql://127.0.0.1:3306", "the scheme must be memory:// or one of redis://, rediss://, redis+unix://"),
        ("memory", "the scheme must be memory://"),
        ("redis://:6379", "no host"),
        ("redis://127.0.0.1:six", "Port could not be cast to integer value as 'six'"),
        ("redis://127.0.0.1:6379/zero", "the database 'zero' is not a number"),
        ("redis+unix://", "a redis+unix URI names a socket"),
    ],
)
def test_a_malformed_storage_uri_stops_the_app(trained_model_dir: Path, uri: str, problem: str) -> None:
    config = {"MODEL_DIR": str(trained_model_dir), "RATE_LIMIT": "3/minute", "RATE_LIMIT_STORAGE_URI": uri}
    with pytest.raises(SettingsError) as raised:
        create_app(config)
    message = str(raised.value)
    assert message.startswith(f"RATE_LIMIT_STORAGE_URI={uri!r} is not a rate-limit storage such as memory://")
    assert problem in message
    # Checked even with rate limiting off: a typo must not wait for the day someone turns it on.
    with pytest.raises(SettingsError):
        create_app({**config, "RATE_LIMIT": ""})


def test_a_storage_password_never_appears_in_the_message(trained_model_dir: Path) -> None:
    uri = "redis://default:s3cret-pass@127.0.0.1:port"
    with pytest.raises(SettingsError) as raised:
        create_app({"MODEL_DIR": str(trained_model_dir), "RATE_LIMIT_STORAGE_URI": uri})
    assert "s3cret" not in str(raised.value)
    assert "redis://default:***@127.0.0.1:port" in str(raised.value)


def test_with_redis_unreachable_each_process_limits_in_its_own_memory(trained_model_dir: Path) -> None:
    # Nothing listens on the port: every Redis call is refused at once, on loopback.
    client = limited_client(trained_model_dir, RATE_LIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}")
    statuses = [client.get("/bitcoin?date=2024-12-01").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # answered, and still limited: no 5xx, no unlimited service
    assert client.get("/health").status_code == 200
