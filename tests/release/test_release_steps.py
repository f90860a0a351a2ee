"""The release steps (python3 -m release, release/next_version.py) against local stand-ins.

Preflight and the build plan, verify on a fake clock, the deploy hook on a fake server, `previous-model` with a
fake `docker` on PATH, the version tag pushed to a bare git remote.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from release.build import BUILD_SETTINGS, check_preflight, plan_build
from release.common import ReleaseError
from release.deploy import trigger_deploy, wait_for_version
from tests.release.workflows import load
from tests.servers import ROOT


def test_preflight_names_what_is_missing_and_never_echoes_the_hook(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "not-a-url-but-secret-key-123"
    with pytest.raises(ReleaseError) as raised:
        check_preflight({"RENDER_DEPLOY_HOOK_URL": secret})
    message = str(raised.value)
    assert "RENDER_SERVICE_URL is not set" in message and "RENDER_DEPLOY_HOOK_URL: its value is not" in message
    assert secret not in message
    assert check_preflight(
        {"RENDER_SERVICE_URL": "https://x.onrender.com", "RENDER_DEPLOY_HOOK_URL": "https://h/d"}
    ) == {"deploy": "true"}


def test_before_render_is_configured_a_run_builds_and_pushes_and_deploys_nothing(tmp_path: Path) -> None:
    """The README creates the Render service from the first image: preflight must let that first run push one."""
    assert check_preflight({}) == {"deploy": "false"}
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_STEP_SUMMARY": str(summary)}
    env.pop("RENDER_SERVICE_URL", None), env.pop("RENDER_DEPLOY_HOOK_URL", None)
    result = run_release(env, "preflight")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out").read_text() == "deploy=false\n"
    assert "Render is not configured yet" in summary.read_text() and "README: Deployment" in summary.read_text()
    jobs = load("deploy.yml")["jobs"]
    assert "needs.preflight.outputs.deploy == 'true'" in jobs["deploy"]["if"]
    assert "needs.preflight.outputs.deploy == 'false'" in jobs["promote"]["if"]  # its image becomes latest


def test_the_plan_pushes_the_stamp_tag_only_in_lower_case_with_every_build_argument() -> None:
    plan = plan_build("ghcr.io/Owner/Crypto-Predict", "1.2.3", "20261125060000", {"PAIRS": " ETH/USD "})
    assert plan["repository"] == "ghcr.io/owner/crypto-predict"
    # latest and 1.2.3 move in promote, after verify: the next run must never train on from an unserved image.
    assert plan["tags"].splitlines() == ["ghcr.io/owner/crypto-predict:1.2.3-20261125060000"]
    # A re-run of the failed build job keeps the run's stamp: its image gets a tag of its own, so no tag moves.
    rerun = plan_build("ghcr.io/o/r", "1.2.3", "20261125060000", {}, attempt=2)
    assert rerun["tags"] == "ghcr.io/o/r:1.2.3-20261125060000-r2"
    arguments = dict(line.split("=", 1) for line in plan["build_args"].splitlines())
    assert arguments == {**BUILD_SETTINGS, "PAIRS": "ETH/USD"}
    # The base image only when set (the workflow rehearsal's stand-in): an empty one would override the pin.
    rehearsal = plan_build("ghcr.io/o/r", "1.2.3", "1", {"PYTHON_IMAGE": "local/python:3.11-slim-bookworm"})
    assert "PYTHON_IMAGE=local/python:3.11-slim-bookworm" in rehearsal["build_args"].splitlines()
    # Every build argument the plan sets is one the Dockerfile declares.
    declared = set(re.findall(r"^ARG (\w+)", (ROOT / "Dockerfile").read_text(), re.M))
    assert set(arguments) <= declared


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_verify_returns_as_soon_as_the_new_version_is_served() -> None:
    clock = Clock()
    answers = iter(["old", "(HTTP 502)", "new"])

    def read(url: str, timeout: float) -> str:
        clock.now += 1
        return next(answers)

    seconds = wait_for_version("http://svc", "new", 600, 10, clock, clock.sleep, read)
    assert seconds == 23 and clock.waits == [10, 10]


def test_verify_gives_up_within_its_stated_time_counting_each_request(capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    timeouts: list[float] = []

    def read(url: str, timeout: float) -> str:
        timeouts.append(timeout)
        clock.now += timeout  # every request hangs until its own timeout
        return "(TimeoutError)"

    with pytest.raises(ReleaseError, match=r"did not report model new within 45 s"):
        wait_for_version("http://svc", "new", 45, 10, clock, clock.sleep, read)
    assert clock.now == 45  # not 60 attempts of 10 s plus 10 s sleeps: the old loop's 20 minutes
    assert timeouts == [10, 10, 5]


def test_verify_refuses_an_unset_service_url() -> None:
    with pytest.raises(ReleaseError, match="RENDER_SERVICE_URL is not set"):
        wait_for_version("", "v", 600, 10)


@pytest.fixture
def hook() -> Iterator[dict[str, Any]]:
    """A deploy hook answering the statuses in `answers` in turn, recording each request's query."""
    state: dict[str, Any] = {"answers": [], "queries": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state["queries"].append(self.path)
            status = state["answers"].pop(0) if state["answers"] else 200
            body = json.dumps({"deploy": {"id": "dep-1"}} if status == 200 else {"message": "no"}).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/deploy/srv-1?key=s3cret-key"
    yield state
    server.shutdown()
    server.server_close()


IMAGE = "ghcr.io/o/r@sha256:" + "a" * 64


def test_deploy_names_the_image_by_digest_and_retries_a_5xx(
    hook: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    hook["answers"] = [503]
    assert trigger_deploy(IMAGE, hook["url"], attempts=3, wait_seconds=0) == "dep-1"
    assert len(hook["queries"]) == 2
    assert hook["queries"][-1].endswith("&imgURL=ghcr.io%2Fo%2Fr%40sha256%3A" + "a" * 64)
    assert "s3cret-key" not in capsys.readouterr().err


def test_deploy_fails_clearly_when_the_hook_keeps_failing_and_never_prints_its_key(
    hook: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    hook["answers"] = [503, 500, 502]
    with pytest.raises(ReleaseError) as raised:
        trigger_deploy(IMAGE, hook["url"], attempts=3, wait_seconds=0)
    assert str(raised.value) == (
        "Render's deploy hook refused the deploy (HTTP 503, HTTP 500, HTTP 502): nothing was deployed, the previous "
        "deployment keeps serving"
    )
    assert "s3cret-key" not in str(raised.value) + capsys.readouterr().err


def test_deploy_does_not_retry_a_refusal_and_refuses_a_tag(hook: dict[str, Any]) -> None:
    hook["answers"] = [401]
    with pytest.raises(ReleaseError, match=r"\(HTTP 401\)"):
        trigger_deploy(IMAGE, hook["url"], attempts=3, wait_seconds=0)
    assert len(hook["queries"]) == 1
    with pytest.raises(ReleaseError, match="does not name a digest"):
        trigger_deploy("ghcr.io/o/r:latest", hook["url"], attempts=1, wait_seconds=0)


def test_deploy_to_a_hook_that_does_not_answer_is_a_clear_failure() -> None:
    with pytest.raises(ReleaseError, match=r"no answer \(ConnectionRefusedError\)"):
        trigger_deploy(IMAGE, "http://127.0.0.1:9/deploy/srv?key=k", attempts=1, wait_seconds=0)


def fake_docker(tmp_path: Path, stderr: str) -> dict[str, str]:
    """A `docker` on PATH whose pull fails with `stderr`."""
    tool = tmp_path / "bin/docker"
    tool.parent.mkdir()
    tool.write_text(f"#!/bin/sh\necho {json.dumps(stderr)} >&2\nexit 1\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{tool.parent}:{os.environ['PATH']}"}


def run_release(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "release", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("stderr", "cold_start", "trains_from_scratch"),
    [
        ("Error response from daemon: manifest for ghcr.io/o/r:latest not found: manifest unknown", "", True),
        ('Error response from daemon: Head "https://ghcr.io/v2/o/r/manifests/latest": denied', "", False),
        ("Error response from daemon: toomanyrequests: retry later", "", False),
        ('Error response from daemon: Get "https://ghcr.io/v2/": dial tcp: connection refused', "", False),
        ('Error response from daemon: Head "https://ghcr.io/v2/o/r/manifests/latest": denied', "true", True),
    ],
    ids=["no-image-yet", "auth", "rate-limit", "network", "auth-but-cold-start-allowed"],
)
def test_only_a_missing_latest_lets_a_run_train_from_scratch(
    tmp_path: Path, stderr: str, cold_start: str, trains_from_scratch: bool
) -> None:
    env = {**fake_docker(tmp_path, stderr), "COLD_START": cold_start, "GITHUB_OUTPUT": str(tmp_path / "out")}
    result = run_release(env, "previous-model", "--image", "ghcr.io/O/R", "--dest", str(tmp_path / "previous"))
    assert result.returncode == (0 if trains_from_scratch else 1)
    [line] = result.stderr.splitlines()
    if trains_from_scratch:
        assert line.endswith("every pair is trained from scratch")
        assert (tmp_path / "out").read_text() == "previous_digest=\nprevious_version=\n"
    else:
        assert line.startswith("release: cannot read the model being served from ghcr.io/o/r:latest: Error")
        assert "Not training from scratch" in line and not (tmp_path / "out").exists()
    assert not (tmp_path / "previous").exists()


def test_a_new_commit_tags_the_next_version_and_pushes_the_tag(tmp_path: Path) -> None:
    def git(cwd: Path, *args: str) -> str:
        return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout

    origin, clone = tmp_path / "origin.git", tmp_path / "clone"
    subprocess.run(["git", "init", "--quiet", "--bare", str(origin)], check=True)
    subprocess.run(["git", "clone", "--quiet", str(origin), str(clone)], check=True, capture_output=True)
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "--allow-empty", "-m", "first")
    outputs = tmp_path / "github-output"
    command = [sys.executable, "-m", "release.next_version", "--tag", "--push", "origin"]
    env = {**os.environ, "GITHUB_OUTPUT": str(outputs), "PYTHONPATH": str(ROOT)}  # our release steps, their clone
    result = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, check=True)
    assert result.stdout == outputs.read_text() == "version=0.1.0\ncreated=true\n"
    assert git(origin, "tag", "--list") == "v0.1.0\n"
    assert "github-actions[bot]" in git(origin, "cat-file", "-p", "v0.1.0")
    # A later run on the same commit (a rerun, a scheduled run) reuses the version and pushes nothing new.
    assert subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, check=True).stdout == (
        "version=0.1.0\ncreated=false\n"
    )
