"""The release loop's workflows, parsed (YAML) and held to what a first real run needs.

Pinned actions, one-line glue, the same tests everywhere, the image pushed being the one carded, deployed, verified
and promoted, and the jobs' conditions and order. `make release-rehearsal` plays the whole loop with a real
registry and Docker daemon.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.release.workflows import DIGEST, WORKFLOWS, dockerfile_base, load, step_using, steps_of
from tests.servers import ROOT

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


def test_a_drifted_pair_fails_the_run_after_the_deploy_not_before() -> None:
    jobs = load("deploy.yml")["jobs"]
    [drift] = [s for s in jobs["build"]["steps"] if s.get("id") == "drift"]
    assert drift["run"] == "python3 -m release.monitor card/model" and drift["continue-on-error"] is True
    assert jobs["build"]["outputs"]["drift"] == "${{ steps.drift.outcome }}"
    assert jobs["monitor"]["needs"] == ["build", "deploy"]
    [check] = jobs["monitor"]["steps"]
    assert check["env"] == {"DRIFT": "${{ needs.build.outputs.drift }}"} and check["run"] == 'test "$DRIFT" = success'


# --- what the first real run would have broken ------------------------------------------------------------------


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


def test_every_run_smoke_tests_the_image_it_deploys() -> None:
    [smoke] = [s for _, s in steps_of(load("deploy.yml")) if "-m release smoke" in s.get("run", "")]
    assert smoke["env"]["IMAGE"] == "${{ steps.card.outputs.image }}"  # the amd64 image by digest, as deployed
