"""The release loop's glue and scripts: what would have failed a first real run, checked here.

The workflows are parsed (YAML) and held to what a first run needs; the release steps (python3 -m release,
release/next_version.py) run against local stand-ins: a fake deploy hook, a fake `docker` on PATH, a bare git
remote. `make release-rehearsal` plays the whole loop with a real registry and Docker daemon.
"""

from __future__ import annotations

import base64
import hashlib
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
from typing import Any, ClassVar

import pytest
import yaml

from release import cli
from release.build import BUILD_SETTINGS, check_preflight, plan_build
from release.common import ReleaseError
from release.deploy import trigger_deploy, wait_for_version
from release.image import check_service, platform_image
from tests.servers import ROOT, free_port, running_api

WORKFLOWS = ROOT / ".github/workflows"
# The current release of each action's major, with its commit, as checked against each action's repository.
PINS = {
    "actions/checkout": ("fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09", "v5.1.0"),
    "actions/setup-python": ("ece7cb06caefa5fff74198d8649806c4678c61a1", "v6.3.0"),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "actions/upload-artifact": ("b7c566a772e6b6bfb58ed0dc250532a479d7789f", "v6.0.0"),
    "docker/setup-buildx-action": ("37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0"),
    "docker/login-action": ("4907a6ddec9925e35a0a9e82d7399ccc52663121", "v4.1.0"),
    "docker/metadata-action": ("dc802804100637a589fabce1cb79ff13a1411302", "v6.2.0"),
    "docker/build-push-action": ("53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0"),
    "actions/attest-build-provenance": ("96278af6caaf10aea03fd8d33a09a777ca52d62f", "v3.2.0"),
}
TESTS_WORKFLOW = "./.github/workflows/tests.yml"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps_of(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def step_using(workflow: dict[str, Any], action: str, **with_: Any) -> dict[str, Any]:
    """The one step that uses `action` with these inputs."""
    [step] = [
        s
        for _, s in steps_of(workflow)
        if s.get("uses", "").split("@")[0] == action and all(s.get("with", {}).get(k) == v for k, v in with_.items())
    ]
    return step


def dockerfile_base() -> str:
    [line] = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("ARG PYTHON_IMAGE=")]
    return line.split("=", 1)[1]


# --- the workflows ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["deploy.yml", "pull-request.yml", "tests.yml"])
def test_every_action_is_pinned_by_commit_with_its_version_beside_it(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    uses = re.findall(r"^\s*(?:- )?uses: (\S+)(.*)", text, re.MULTILINE)  # keys, not the words of a comment
    assert uses
    for target, comment in uses:
        if target.startswith("./"):
            continue  # a workflow of this repository
        action, _, ref = target.partition("@")
        assert (ref, comment.strip()) == (PINS[action][0], f"# {PINS[action][1]}"), target


@pytest.mark.parametrize("name", ["deploy.yml", "pull-request.yml", "tests.yml"])
def test_no_workflow_uses_sudo_and_every_run_step_is_one_line_of_glue(name: str) -> None:
    # sudo resets PATH (another Python than the one the job chose) and leaves root-owned caches behind; logic
    # belongs in scripts the rehearsal runs too, so a `run:` is one command.
    for job, step in steps_of(load(name)):
        command = step.get("run", "")
        assert "sudo" not in command, (job, command)
        assert command.count("\n") <= 1, (job, command)


def test_both_workflows_run_the_same_tests_in_the_pinned_base_as_ci_does_here() -> None:
    assert load("deploy.yml")["jobs"]["test"]["uses"] == TESTS_WORKFLOW
    assert load("pull-request.yml")["jobs"]["test"]["uses"] == TESTS_WORKFLOW
    job = load("tests.yml")["jobs"]["test"]
    # Debian bookworm with Python 3.11, as root: apt's chromium is Debian's real package, not Ubuntu's snap shim.
    # The rehearsal's own image (vars.TEST_IMAGE) stands in only where the variable is set, as under act.
    assert job["container"]["image"] == f"${{{{ vars.TEST_IMAGE || '{dockerfile_base()}' }}}}"
    assert DIGEST.search(dockerfile_base()) and dockerfile_base().startswith("python:3.11-slim-bookworm@")
    # The read-only model folder test needs a mount namespace of its own inside the container.
    assert job["container"]["options"] == (
        "--cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined"
    )
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert runs == [
        "apt-get update -qq && apt-get install -y -qq --no-install-recommends git >/dev/null",
        "bash .ci/run",
    ]
    # git before checkout: the slim image has none, and checkout without git downloads a tarball with no .git.
    assert [s.get("uses", s.get("run", "")).split("@")[0] for s in job["steps"]][:2] == [runs[0], "actions/checkout"]
    assert (ROOT / ".ci/run").read_text().rstrip().endswith("make test")


def test_the_pull_request_workflow_builds_and_checks_the_image_without_pushing() -> None:
    workflow = load("pull-request.yml")
    build = step_using(workflow, "docker/build-push-action")
    assert build["with"]["push"] is False and build["with"]["load"] is True
    assert "SOURCE=embedded" in build["with"]["build-args"]
    tag = build["with"]["tags"]
    assert any(s.get("run") == f"bash release/check_image.sh {tag}" for _, s in steps_of(workflow))


def test_the_bar_store_cache_can_be_saved_by_a_rerun() -> None:
    # A cache key is written once: a rerun (same run_id) could never save its bar store without run_attempt.
    cache = step_using(load("deploy.yml"), "actions/cache", path="data/cache")
    assert "github.run_id" in cache["with"]["key"] and "github.run_attempt" in cache["with"]["key"]


def test_the_image_pushed_is_the_one_carded_deployed_and_verified() -> None:
    workflow = load("deploy.yml")
    jobs = workflow["jobs"]
    push = step_using(workflow, "docker/build-push-action", push=True)
    assert push["id"] == "push" and "target" not in push["with"]  # the final image: one build trains and pushes
    # SBOM and provenance on GitHub; only under act (env.ACT, the rehearsal's docker driver) are they off.
    assert push["with"]["sbom"] == "${{ !env.ACT }}"
    assert push["with"]["provenance"] == "${{ env.ACT && 'false' || 'mode=max' }}"
    attest = step_using(workflow, "actions/attest-build-provenance")
    assert attest["with"]["subject-digest"] == "${{ steps.push.outputs.digest }}"
    assert attest["with"]["push-to-registry"] is True
    assert {"id-token": "write", "attestations": "write", "packages": "write"}.items() <= jobs["build"][
        "permissions"
    ].items()
    [card] = [s for _, s in steps_of(workflow) if s.get("id") == "card"]
    assert card["env"]["IMAGE"].endswith("@${{ steps.push.outputs.digest }}")
    assert card["run"].startswith("python3 -m release card --image")
    assert {k: jobs["build"]["outputs"][k] for k in ("image", "model_version")} == {
        "image": "${{ steps.card.outputs.image }}",
        "model_version": "${{ steps.card.outputs.model_version }}",
    }
    deploy, verify = jobs["deploy"]["steps"][1:]
    assert deploy["env"]["IMAGE"] == "${{ needs.build.outputs.image }}"
    assert verify["env"]["EXPECTED"] == "${{ needs.build.outputs.model_version }}"
    # The job's own limit leaves room for verify's.
    assert verify["run"].endswith('--timeout "$SECONDS_ALLOWED"')
    # 600 s on GitHub; only under act (the workflow rehearsal) a repository variable shortens it.
    assert verify["env"]["SECONDS_ALLOWED"] == "${{ env.ACT && vars.REHEARSAL_VERIFY_SECONDS || '600' }}"
    timeout = 600.0
    assert jobs["deploy"]["timeout-minutes"] * 60 > timeout + 3 * 30


def test_preflight_runs_before_anything_is_built_and_no_secret_is_written_out() -> None:
    workflow = load("deploy.yml")
    assert workflow["jobs"]["version"]["needs"] == ["test", "preflight"]
    [preflight] = [s for s in workflow["jobs"]["preflight"]["steps"] if "run" in s]
    assert preflight["env"] == {
        "RENDER_SERVICE_URL": "${{ vars.RENDER_SERVICE_URL }}",
        "RENDER_DEPLOY_HOOK_URL": "${{ secrets.RENDER_DEPLOY_HOOK_URL }}",
    }
    text = (WORKFLOWS / "deploy.yml").read_text()
    assert "echo" not in text and "curl" not in text  # secrets reach scripts by environment only


# --- the image's supply chain ----------------------------------------------------------------------------------------


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


# --- the release steps -------------------------------------------------------------------------------------------


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


def test_a_drifted_pair_fails_the_run_after_the_deploy_not_before() -> None:
    jobs = load("deploy.yml")["jobs"]
    [drift] = [s for s in jobs["build"]["steps"] if s.get("id") == "drift"]
    assert drift["run"] == "python3 -m release.monitor card/model" and drift["continue-on-error"] is True
    assert jobs["build"]["outputs"]["drift"] == "${{ steps.drift.outcome }}"
    assert jobs["monitor"]["needs"] == ["build", "deploy"]
    [check] = jobs["monitor"]["steps"]
    assert check["env"] == {"DRIFT": "${{ needs.build.outputs.drift }}"} and check["run"] == 'test "$DRIFT" = success'


# --- what the first real run would have broken ------------------------------------------------------------------


class FakeRegistry(BaseHTTPRequestHandler):
    """The distribution API's manifest routes for one repository, behind a bearer-token challenge as GHCR's."""

    manifests: ClassVar[dict[str, tuple[bytes, str]]] = {}  # digest -> (bytes, media type)
    tags: ClassVar[dict[str, str]] = {}  # tag -> digest
    seen: ClassVar[list[str]] = []

    def answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorised(self) -> bool:
        self.seen.append(f"{self.command} {self.path} {self.headers.get('Authorization', '')}")
        if self.path.startswith("/token"):
            return True
        if self.headers.get("Authorization") == "Bearer t0k":
            return True
        port = self.server.server_address[1]
        self.answer(401, WWW_Authenticate=f'Bearer realm="http://127.0.0.1:{port}/token",service="fake"')
        return False

    def reference(self) -> str:
        ref = self.path.rsplit("/", 1)[1]
        return self.tags.get(ref, ref)

    def do_GET(self) -> None:
        if not self.authorised():
            return
        if self.path.startswith("/token"):
            assert self.headers["Authorization"] == "Basic " + base64.b64encode(b"bot:s3cret").decode()
            self.answer(200, json.dumps({"token": "t0k"}).encode())
        elif self.path == "/v2/":
            self.answer(200, b"{}")
        else:
            body, media_type = self.manifests[self.reference()]
            self.answer(200, body, Content_Type=media_type, Docker_Content_Digest=self.reference())

    def do_HEAD(self) -> None:
        if self.authorised():
            self.answer(200, Docker_Content_Digest=self.reference())

    def do_PUT(self) -> None:
        if self.authorised():
            body = self.rfile.read(int(self.headers["Content-Length"]))
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            self.manifests[digest] = (body, self.headers["Content-Type"])
            self.tags[self.path.rsplit("/", 1)[1]] = digest
            self.answer(201, Docker_Content_Digest=digest)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fake registry on loopback with an index (amd64 image + attestation) pushed; `docker login` done."""
    image = json.dumps({"mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}).encode()
    amd64 = "sha256:" + hashlib.sha256(image).hexdigest()
    index = json.dumps({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"digest": "sha256:" + "a" * 64, "platform": {"os": "unknown", "architecture": "unknown"}},
        {"digest": amd64, "platform": {"os": "linux", "architecture": "amd64"}},
    ]}).encode()  # fmt: skip
    index_digest = "sha256:" + hashlib.sha256(index).hexdigest()
    FakeRegistry.manifests = {amd64: (image, "application/vnd.oci.image.manifest.v1+json"),
                              index_digest: (index, "application/vnd.oci.image.index.v1+json")}  # fmt: skip
    FakeRegistry.tags, FakeRegistry.seen = {"1.2.3-20261125060000": index_digest}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(b"bot:s3cret").decode()
    (config / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    try:
        yield f"{host}/o/r"
    finally:
        server.shutdown()
        server.server_close()


def test_deploy_gets_the_linux_amd64_manifest_not_the_index(registry: str) -> None:
    index = FakeRegistry.tags["1.2.3-20261125060000"]
    amd64 = json.loads(FakeRegistry.manifests[index][0])["manifests"][1]["digest"]
    assert platform_image(f"{registry}@{index}") == f"{registry}@{amd64}"
    assert platform_image(f"{registry}@{amd64}") == f"{registry}@{amd64}"  # already one image
    # The registry asked for a token, which came from docker's stored login: Basic to the token service only.
    assert any(line.startswith("GET /token?") for line in FakeRegistry.seen)
    FakeRegistry.manifests[index] = (FakeRegistry.manifests[index][0].replace(b"amd64", b"arm64"), "x")
    with pytest.raises(ReleaseError, match="has no linux/amd64 image"):
        platform_image(f"{registry}@{index}")


def test_promote_puts_the_very_manifest_under_latest_and_the_version(registry: str) -> None:
    index = FakeRegistry.tags["1.2.3-20261125060000"]
    assert cli.main(["promote", "--image", f"{registry}@{index}", "--version", "1.2.3"]) == 0
    # The tags resolve to the digest verified, not to a new index wrapping it.
    assert FakeRegistry.tags == {"1.2.3-20261125060000": index, "latest": index, "1.2.3": index}
    assert cli.main(["promote", "--image", f"{registry}:1.2.3-x", "--version", "1.2.3"]) == 1


def test_latest_moves_only_after_the_service_serves_the_image() -> None:
    jobs = load("deploy.yml")["jobs"]
    promote = jobs["promote"]
    assert promote["needs"] == ["preflight", "version", "build", "deploy"]
    assert "needs.deploy.result == 'success'" in promote["if"] and "changed == 'true'" in promote["if"]
    [run] = [s for s in promote["steps"] if "-m release promote" in s.get("run", "")]
    assert run["env"]["IMAGE"] == "${{ needs.build.outputs.pushed }}"
    # Then retention: the served image and the newest stamp-tagged ones stay (release/prune_images.py).
    assert promote["steps"][-1]["run"] == 'python3 -m release.prune_images --image "$IMAGE"'
    assert run["run"] == 'python3 -m release promote --image "$IMAGE" --version "$VERSION"'
    assert promote["permissions"] == {"contents": "read", "packages": "write"}
    verify = jobs["deploy"]["steps"][-1]
    assert verify["run"].startswith("python3 -m release verify")  # deploy's last step: promote follows it


def test_a_run_with_no_new_model_deploys_nothing_and_says_so(tmp_path: Path) -> None:
    jobs = load("deploy.yml")["jobs"]
    [card] = [s for _, s in steps_of(load("deploy.yml")) if s.get("id") == "card"]
    assert card["env"]["SERVED"] == "${{ steps.previous.outputs.previous_version }}"
    assert card["run"].endswith('--served "$SERVED"')
    assert jobs["build"]["outputs"]["changed"] == "${{ steps.card.outputs.changed }}"
    assert "needs.build.outputs.changed == 'true'" in jobs["deploy"]["if"]


def test_a_scheduled_run_without_the_test_job_still_builds_and_deploys() -> None:
    """A job after a skipped one is skipped too, transitively, unless its condition says otherwise: without these
    conditions a scheduled run (no test job) stopped after `version` (the workflow rehearsal's runs b to f)."""
    jobs = load("deploy.yml")["jobs"]
    assert jobs["test"]["if"] == "github.event_name != 'schedule'"
    for job in ("version", "build", "deploy", "promote", "monitor"):
        assert jobs[job]["if"].startswith("${{ !cancelled() &&"), job


def test_the_workflow_choices_a_first_real_run_needs() -> None:
    workflow = load("deploy.yml")
    jobs = workflow["jobs"]
    on = workflow[True]  # YAML 1.1 reads the key `on` as true
    # Not minute 0: the busiest slot, the most delayed and the first dropped.
    [schedule] = on["schedule"]
    minute = schedule["cron"].split()[0]
    assert minute.isdigit() and minute != "0" and schedule["cron"].endswith(" */6 * * *")
    # The full suite on pushes and manual runs; a scheduled run changes no code.
    assert jobs["test"]["if"] == "github.event_name != 'schedule'"
    assert "needs.test.result != 'failure'" in jobs["version"]["if"] and "!cancelled()" in jobs["version"]["if"]
    # Only main releases; a manual run from another branch tests only.
    assert jobs["preflight"]["if"] == "github.ref == 'refs/heads/main'"
    # The registry and image name in one place, which the workflow rehearsal points elsewhere.
    assert workflow["env"]["IMAGE_NAME"] == "${{ vars.REGISTRY || 'ghcr.io' }}/${{ github.repository }}"
    push = step_using(workflow, "docker/build-push-action", push=True)
    assert "ignore-error=true" in push["with"]["cache-to"]  # a cache that cannot be saved never fails the run
    attest = step_using(workflow, "actions/attest-build-provenance")
    assert "github.event.repository.visibility == 'public'" in attest["if"]  # private repositories have none
    if os.environ.get("ACT") != "true":  # the workflow rehearsal's copy lacks it: act's schema does not know it
        assert jobs["build"]["permissions"]["artifact-metadata"] == "write"
    upload = step_using(workflow, "actions/upload-artifact")
    assert upload["with"]["overwrite"] is True and upload["with"]["retention-days"] == 30
    assert jobs["build"]["env"]["DOCKER_BUILD_RECORD_RETENTION_DAYS"] == 7  # two build records a run


def test_the_smoke_test_asks_every_pair_the_real_server_serves(mixed_model_dir: Path) -> None:
    with running_api(mixed_model_dir) as base:
        lines = check_service(base, timeout=10)
    assert [line.split(" at ")[0] for line in lines] == ["BTC-USD", "ETH-USD"]  # hourly and daily side by side
    with pytest.raises(ReleaseError, match="did not answer within 1 s"):
        check_service(f"http://127.0.0.1:{free_port()}", timeout=1)


def test_every_run_smoke_tests_the_image_it_deploys() -> None:
    [smoke] = [s for _, s in steps_of(load("deploy.yml")) if "-m release smoke" in s.get("run", "")]
    assert smoke["env"]["IMAGE"] == "${{ steps.card.outputs.image }}"  # the amd64 image by digest, as deployed
