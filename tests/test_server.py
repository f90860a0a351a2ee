"""The real thing: api.py under Waitress on a loopback port, in its own process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port, get, running_api, start, wait_until_up

pytestmark = pytest.mark.slow
HEAVY = ("prophet", "pandas", "alpaca", "numpy", "cmdstanpy")


@pytest.fixture
def server(trained_model_dir: Path) -> Iterator[str]:
    with running_api(trained_model_dir) as base:
        yield base


def test_waitress_serves_the_same_answers_as_the_test_client(server: str, client: object) -> None:
    status, body, headers = get(f"{server}/bitcoin?date=2024-12-01T06:00:00Z")
    assert status == 200
    assert body == client.get("/bitcoin?date=2024-12-01T06:00:00Z").get_json()  # type: ignore[attr-defined]
    assert headers["Content-Type"] == "application/json"
    assert headers["Server"] == "crypto-predict"
    status, body, _ = get(f"{server}/bitcoin?date=nonsense")
    assert status == 400
    assert body["code"] == 400
    status, body, _ = get(f"{server}/no/such/path")
    assert (status, body["code"]) == (404, 404)


def test_waitress_serve_call_factory_works(trained_model_dir: Path) -> None:
    port = free_port()
    waitress_serve = str(Path(sys.executable).with_name("waitress-serve"))
    process = start(
        [waitress_serve, "--listen", f"127.0.0.1:{port}", "--call", "api:create_app"], trained_model_dir, port
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        assert get(f"{base}/bitcoin?date=2024-12-01")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_a_tampered_model_stops_the_server_with_a_clear_message(model_dir: Path) -> None:
    path = model_dir / "forecast.json"
    path.write_bytes(path.read_bytes().replace(b"[", b"[ ", 1))
    process = start([sys.executable, "api.py"], model_dir, free_port())
    _, err = process.communicate(timeout=20)
    assert process.returncode == 1
    assert (
        err.strip()
        == f"api: refusing to start: model file {path} does not match its checksum in {model_dir}/manifest.json"
    )


def test_serving_imports_neither_prophet_pandas_nor_alpaca(trained_model_dir: Path) -> None:
    probe = (
        "import sys, api\n"
        f"app = api.create_app({{'MODEL_DIR': {str(trained_model_dir)!r}}})\n"
        "c = app.test_client()\n"
        "assert c.get('/bitcoin?date=2024-12-01').status_code == 200\n"
        "assert c.get('/openapi.json').status_code == 200\n"
        "assert c.get('/docs').status_code == 200\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_serving_imports_only_what_requirements_api_lists(trained_model_dir: Path) -> None:
    probe = (
        "import importlib.metadata as md, json, sys, api\n"
        f"app = api.create_app({{'MODEL_DIR': {str(trained_model_dir)!r}}})\n"
        "c = app.test_client()\n"
        "for url in ('/bitcoin?date=2024-12-01', '/bitcoin?date=bad', '/model', '/openapi.json', '/docs'):\n"
        "    c.get(url)\n"
        "import waitress\n"
        # _distutils_hack is loaded by setuptools' .pth file in any virtualenv, before any code of ours runs.
        "ours = {'api', 'cryptopredict', '__main__', '_distutils_hack'}\n"
        "tops = {m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names) - ours\n"
        "owners = md.packages_distributions()\n"
        "print(json.dumps(sorted({d for t in tops for d in owners.get(t, [t])})))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    allowed = {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in (ROOT / "requirements-api.txt").read_text().splitlines()
        if "==" in line
    }
    used = {name.lower().replace("_", "-") for name in json.loads(result.stdout)}
    assert used, "the probe found no third-party distribution at all"
    assert used <= allowed, f"serving imports distributions missing from requirements-api.txt: {used - allowed}"
    assert {"flask", "waitress", "flask-smorest", "flask-cors", "swagger-ui-bundle"} <= used


def test_importing_api_has_no_side_effects() -> None:
    probe = "import api, sys; print('flask_smorest' in sys.modules, 'waitress' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MODEL_DIR": "/nonexistent"},
    )
    # No model is loaded, no server started, nothing printed: the import succeeds even with no model.
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True False"
