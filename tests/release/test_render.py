"""render.yaml: the web service on several instances, counting its rate limit in a private Key Value instance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from limits import parse_many

from cryptopredict.core.settings import read_app_config
from cryptopredict.serving.limits import check_storage_uri

ROOT = Path(__file__).resolve().parents[2]


def services() -> dict[str, dict[str, Any]]:
    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text())
    return {service["type"]: service for service in blueprint["services"]}


def test_the_web_service_runs_several_instances_with_its_settings_valid() -> None:
    web = services()["web"]
    assert web["numInstances"] >= 2
    assert web["healthCheckPath"] == "/health"
    values = {var["key"]: var["value"] for var in web["envVars"] if "value" in var}
    config = read_app_config(values)  # what the app factory reads: a bad value would stop every instance
    assert config["TRUSTED_PROXIES"] == 1
    assert parse_many(str(config["RATE_LIMIT"]))


def test_the_instances_count_the_rate_limit_in_one_internal_key_value_instance() -> None:
    found = services()
    web, store = found["web"], found["keyvalue"]
    wired = {var["key"]: var for var in web["envVars"]}["RATE_LIMIT_STORAGE_URI"]
    assert wired == {
        "key": "RATE_LIMIT_STORAGE_URI",
        "fromService": {"type": "keyvalue", "name": store["name"], "property": "connectionString"},
    }
    assert store["ipAllowList"] == []  # no address outside Render may connect
    assert store["region"] == web["region"]  # the internal URL works within a region only
    # Render's internal connection string has this form; the service must accept it.
    assert check_storage_uri(f"redis://{store['name']}:6379") == f"redis://{store['name']}:6379"


def test_the_image_is_named_as_the_workflow_pushes_it_and_needs_no_credential_when_public() -> None:
    web = services()["web"]
    url = web["image"]["url"]
    assert url == url.lower() and url.startswith("ghcr.io/") and url.endswith(":latest")  # imgURL must match exactly
    assert "creds" not in web["image"]  # a public package; the private path is commented, with the token it takes
    assert "read:packages" in (ROOT / "render.yaml").read_text()
    assert web["autoDeployTrigger"] == "off" and "autoDeploy" not in web  # the workflow deploys, after verify
