"""The image's supply chain: hash-locked requirements on a base pinned by digest, the pin kept up to date by
release/pin_base.py, and the Dockerfile's training step failing the build unless train.py published."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.release.workflows import DIGEST, dockerfile_base
from tests.servers import ROOT


def pins(path: Path) -> dict[str, str]:
    """name -> version of a requirements file, following `-r`."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


@pytest.mark.parametrize(("pinned", "lock"), [("requirements-api.txt", "requirements-api.lock"),
                                               ("requirements.txt", "requirements.lock")])  # fmt: skip
def test_each_lock_holds_exactly_the_pins_and_a_hash_for_every_package(pinned: str, lock: str) -> None:
    assert pins(ROOT / lock) == pins(ROOT / pinned), "rerun `make lock`"
    entries = re.split(r"\n(?=[A-Za-z])", (ROOT / lock).read_text().split("\n", 2)[2].strip())
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_the_image_installs_only_hash_locked_requirements_on_a_base_pinned_by_digest() -> None:
    text = (ROOT / "Dockerfile").read_text()
    installs = [line for line in text.splitlines() if "pip install" in line]
    assert len(installs) == 2
    assert all("--require-hashes" in line and re.search(r"-r requirements(-api)?\.lock$", line) for line in installs)
    assert DIGEST.search(dockerfile_base())
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["${PYTHON_IMAGE}", "scratch", "${PYTHON_IMAGE}"]


def test_pin_base_resolves_the_tags_index_digest_and_rewrites_both_places(tmp_path: Path) -> None:
    from release import pin_base

    digest = "sha256:" + "b" * 64
    seen: list[tuple[str, str]] = []

    class Registry(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the token endpoint
            body = json.dumps({"token": "t0k"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:
            seen.append((self.path, self.headers.get("Authorization", "")))
            self.send_response(200)
            self.send_header("Docker-Content-Digest", digest)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert pin_base.resolve_digest(url, "python:3.11-slim-bookworm", f"{url}/token") == digest
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [("/v2/library/python/manifests/3.11-slim-bookworm", "Bearer t0k")]
    copies = {}
    for path, pattern in pin_base.PINNED.items():
        copy = tmp_path / path.name
        copy.write_text(path.read_text())
        copies[copy] = pattern
    assert len(pin_base.pin("python:3.11-slim-bookworm", digest, copies)) == 2
    dockerfile, tests_workflow = (copy.read_text() for copy in copies)
    assert f"ARG PYTHON_IMAGE=python:3.11-slim-bookworm@{digest}\n" in dockerfile
    image = yaml.safe_load(tests_workflow)["jobs"]["test"]["container"]["image"]
    assert image == f"${{{{ vars.TEST_IMAGE || 'python:3.11-slim-bookworm@{digest}' }}}}"
    assert pin_base.pin("python:3.11-slim-bookworm", digest, copies) == []  # already pinned


def training_step() -> str:
    """The shell command of the Dockerfile's RUN that trains, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if line.startswith("RUN ") and "train.py" in line]
    return line.removeprefix("RUN ")


@pytest.mark.parametrize(("exit_code", "build_goes_on"), [(0, True), (4, True), (3, False), (1, False), (2, False)])
def test_the_training_step_fails_the_build_unless_train_py_published(
    tmp_path: Path, exit_code: int, build_goes_on: bool
) -> None:
    # Docker runs a RUN with `sh -c` and stops the build on a non-zero status. A command appended after train.py
    # with `;` once turned "no pair updated" (exit 3) into a pushed image; the rehearsal caught it, this keeps it.
    python = tmp_path / "bin/python"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/arguments"\nexit {exit_code}\n')
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    build_args = {"SOURCE": "alpaca", "PAIRS": "", "TIMEFRAME": "", "UNTIL": "2026-11-25T06:00:00Z",
                  "GIT_COMMIT": "", "TRAIN_OPTIONS": "--refit-after-hours 0", "ALPACA_DATA_URL": ""}  # fmt: skip
    command = training_step().replace("/build/", f"{tmp_path}/build/")
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", **build_args}
    result = subprocess.run(["/bin/sh", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == (0 if build_goes_on else exit_code), result.stderr  # the build log shows train's
    arguments = (tmp_path / "arguments").read_text().split()
    # PAIRS decides the live set: a served pair no longer listed is retired, never kept by surprise.
    assert arguments[:4] == ["train.py", "--source", "alpaca", "--retire-unlisted"]
    assert arguments[4:8] == ["--until", "2026-11-25T06:00:00Z", "--refit-after-hours", "0"]
