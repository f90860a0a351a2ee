"""The real thing: api.py under Waitress on a loopback port, in its own process."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from cryptopredict.core.settings import read_server_options
from cryptopredict.serving.server import clickable_url
from tests.fakes.loopback import free_port
from tests.servers import ROOT, get, running_api, start, wait_until_up

pytestmark = pytest.mark.slow
T = TypeVar("T")
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
    path = model_dir / "eth-usd.forecast.json"  # one byte added to one pair of the two
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
        f"app = api.create_app({{'MODEL_DIR': {str(trained_model_dir)!r}, 'ACCESS_LOG': False}})\n"
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
        # PyYAML is here only for the test tools; apispec uses it when present. The image has none, so neither may we.
        "import importlib.metadata as md, json, sys\n"
        "sys.modules['yaml'] = None\n"
        "import api\n"
        f"app = api.create_app({{'MODEL_DIR': {str(trained_model_dir)!r}, 'ACCESS_LOG': False}})\n"
        "c = app.test_client()\n"
        "for url in ('/bitcoin?date=2024-12-01', '/bitcoin?date=bad', '/model', '/openapi.json', '/docs'):\n"
        "    c.get(url)\n"
        "import waitress\n"
        # _distutils_hack is loaded by setuptools' .pth file in any virtualenv, before any code of ours runs;
        # sitecustomize is the interpreter's own start-up hook where the platform ships one (Debian's Python does).
        "ours = {'api', 'cryptopredict', '__main__', '_distutils_hack', 'sitecustomize'}\n"
        "loaded = [name for name, module in sys.modules.items() if module is not None]\n"
        # __editable___crypto_predict_*_finder is the import hook of our own `pip install -e .`.
        "tops = {m.split('.')[0] for m in loaded} - set(sys.stdlib_module_names) - ours\n"
        "tops = {t for t in tops if not t.startswith('__editable__')}\n"
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


def test_the_real_server_logs_json_lines_and_names_no_version(trained_model_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    with log.open("w") as stdout, running_api(trained_model_dir, stdout) as base:
        status, _, headers = get(f"{base}/bitcoin?date=2024-12-01")
        assert status == 200
        assert headers["Server"] == "crypto-predict"  # Waitress's own name and version are not sent
        assert not any(ch.isdigit() for ch in headers["Server"])
        request_id = {k.lower(): v for k, v in headers.items()}["x-request-id"]  # Waitress title-cases names
    lines = log.read_text().splitlines()
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(e["request_id"] == request_id and e["target"] == "/bitcoin?date=2024-12-01" for e in logged)
    assert lines[-1] == "api: stopped"


def fetch_until_refused(base: str, stop: threading.Event, outcomes: list[str], answered: set[str]) -> None:
    """GET /bitcoin in a loop on fresh connections, recording how each one ended and the ids of full answers."""
    i = 0
    while not stop.is_set():
        i += 1
        try:
            with urllib.request.urlopen(f"{base}/bitcoin?date=2024-12-{i % 28 + 1:02d}", timeout=10) as response:
                json.load(response)  # a cut-off body fails here
                outcomes.append(str(response.status))
                answered.add(response.headers["X-Request-ID"])
        except urllib.error.HTTPError as error:
            outcomes.append(str(error.code))
        except urllib.error.URLError as error:
            if isinstance(error.reason, ConnectionRefusedError):
                outcomes.append("refused")  # the listener is closed: the server has stopped taking work
                return
            outcomes.append(type(error.reason).__name__)
        except (OSError, http.client.HTTPException, ValueError) as error:
            outcomes.append(type(error).__name__)


def wait_for(condition: Callable[[], T], what: str, timeout: float = 30) -> T:
    """Poll `condition` until it returns something true, and return that; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout:g} s")
        time.sleep(0.01)
    return result


def test_sigterm_under_load_finishes_requests_in_flight_and_exits_0(trained_model_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "stdout.log"
    log = log_path.open("w")
    process = start([sys.executable, "api.py"], trained_model_dir, port, log)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base, process)
    expected = gzip.decompress((ROOT / "cryptopredict/serving/static/vendor/plotly.min.js.gz").read_bytes())
    # A slow reader of a 4.6 MB answer: a tiny receive buffer keeps most of it waiting in the server at SIGTERM.
    slow = socket.socket()
    slow.settimeout(30)  # a server that never finishes or closes fails the test rather than hanging it
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", port))
    slow.sendall(b"GET /assets/plotly.min.js HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: identity\r\n\r\n")
    received = slow.recv(4096)
    stop = threading.Event()
    outcomes: list[list[str]] = [[] for _ in range(6)]
    answered: set[str] = set()
    workers = [threading.Thread(target=fetch_until_refused, args=(base, stop, o, answered)) for o in outcomes]
    try:
        for worker in workers:
            worker.start()
        # Under load: every worker has had answers, and goes on asking.
        wait_for(lambda: all(o.count("200") >= 10 for o in outcomes), "ten answers for each of the six clients")
        # Twice, as when a supervisor and `timeout` both pass one on: the second must not deadlock the first.
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGTERM)
        # The server says it is draining; the slow reader has most of its answer still to come, so it is in flight.
        stopping = wait_for(
            lambda: re.search(r"^api: stopping: finishing (\d+) request", log_path.read_text(), re.M), "drain log line"
        )
        assert stopping is not None and int(stopping.group(1)) >= 1
        assert process.poll() is None, "the server exited with an answer still being sent"
        while chunk := slow.recv(65536):
            received += chunk
        _, err = process.communicate(timeout=30)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        slow.close()
        log.close()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == expected  # every byte, though the process was told to stop while sending it
    finished = [o for per_worker in outcomes for o in per_worker]
    # Every request the server took in (its access log) reached its client in full, the ones in flight at
    # SIGTERM included. A client can only fail at the door: refused once the listener is closed, or reset if it
    # connected in the instant between the last accept and the close, before the server read anything.
    logged = [json.loads(line) for line in (tmp_path / "stdout.log").read_text().splitlines() if line[:1] == "{"]
    assert {e["request_id"] for e in logged if e["route"] == "/bitcoin"} == answered
    assert set(finished) <= {"200", "refused", "ConnectionResetError"}, sorted(set(finished))
    assert all(per_worker and per_worker[-1] == "refused" for per_worker in outcomes)


def read_only(folder: Path, command: list[str]) -> list[str]:
    """`command`, run where `folder` is read-only: a read-only bind mount as root (which ignores file modes),
    else file modes."""
    if os.geteuid() == 0:
        script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
        return ["unshare", "--mount", "sh", "-c", script, "sh", str(folder), *command]
    for path in [folder, *folder.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return command


def test_a_read_only_model_folder_is_served(model_dir: Path) -> None:
    probe = f"open({str(model_dir / 'probe')!r}, 'w')"
    denied = subprocess.run(read_only(model_dir, [sys.executable, "-c", probe]), capture_output=True, text=True)
    assert "Read-only file system" in denied.stderr or "Permission denied" in denied.stderr, denied.stderr

    port = free_port()
    process = start(read_only(model_dir, [sys.executable, "api.py"]), model_dir, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        assert get(f"{base}/bitcoin?date=2024-12-01")[0] == 200
        assert get(f"{base}/ready")[0] == 200
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
            assert b"crypto_predict_model_age_seconds" in response.read()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err


def test_the_server_binds_the_loopback_by_default_and_honours_host() -> None:
    assert read_server_options({}).host == "127.0.0.1"
    assert read_server_options({"HOST": " "}).host == "127.0.0.1"
    assert read_server_options({"HOST": "0.0.0.0"}).host == "0.0.0.0"  # what the Dockerfile sets


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:9000/"),
        ("localhost", "http://localhost:9000/"),
        ("::1", "http://[::1]:9000/"),
        ("0.0.0.0", "http://127.0.0.1:9000/ (listening on all interfaces)"),
        ("::", "http://127.0.0.1:9000/ (listening on all interfaces)"),
    ],
)
def test_the_printed_url_can_be_opened(host: str, url: str) -> None:
    assert clickable_url(host, 9000) == url


def test_api_py_without_host_listens_on_the_loopback_and_prints_that_url(
    trained_model_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "stdout.log"
    with log.open("w") as stdout, running_api(trained_model_dir, stdout, HOST="") as base:
        assert get(f"{base}/health")[0] == 200
    assert f"api: listening on {base}/" in log.read_text().splitlines()
