"""The release loop, rehearsed on loopback with the scripts the deploy workflow runs: push, tag, deploy, verify.

Usage (as root): python3 -m rehearsals.release_steps [--work /var/tmp/crypto-predict-rehearsal] [--data CSV]

Everything runs on 127.0.0.1: a private Docker daemon (rehearsals/private_docker.sh, as `make image-test` starts it),
Debian's docker-registry in GHCR's place, the fake Alpaca market-data server with hourly bars, and a fake Render
(tests/fakes/render.py) that takes the deploy hook, pulls the image it names from the registry, runs it and
serves it at the URL verify polls. Each run plays the workflow's jobs in order, on a clone of this repository's
HEAD with a bare clone as `origin`:
  version   release/next_version.py --tag --push origin, release/run_instant.py --now (the run's clock)
  build     python3 -m release preflight; the bar store restored as actions/cache would; python3 -m release
            previous-model; python3 -m release plan; docker build (the Dockerfile trains: SOURCE=alpaca against the
            fake Alpaca, UNTIL, TRAIN_OPTIONS) and docker push of each planned tag; python3 -m release card (from
            the pushed digest) and smoke; the bar store saved from the run-outputs stage
  deploy    python3 -m release deploy (imgURL by digest), python3 -m release verify
  promote   python3 -m release promote, release/prune_images.py
  monitor   release/monitor.py on the pushed image's model
The GitHub-only parts (build-push-action's BuildKit build with SBOM and provenance, attest-build-provenance, GHCR,
actions/cache, Render itself) are not here; docs/deployment.md lists them ("What the rehearsals cannot prove").

Steps, each checked and printed as one verdict line:
  a. a push to main: tag v0.1.0 on origin; latest, 0.1.0 and 0.1.0-<stamp> on one digest in the registry (its
     HTTP API); the fake Render runs that digest; verify passes.
  b. a scheduled run six hours later, same commit: only new bars fetched; a new model version; latest and 0.1.0
     move, the first 0.1.0-<stamp> still resolves to the old digest; the previous model came from :latest.
  c. one pair failing its gate (a refit forced with a MAPE-ratio limit between the pairs' own): it keeps its
     previous model while the others update; then every pair failing: nothing pushed or deployed, the run fails,
     the fake Render still serves the previous digest.
  d. the registry down when the previous model is pulled: the run fails loudly, nothing is trained.
  e. the deploy hook answering 503, then a deployed container that never becomes healthy: the run fails with a
     clear message within its stated time, and the previous deployment keeps serving.
Exits 0 only if every step passes. Trains on the hourly BTC/USD bars in data/ (--data) for realistic models.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.harness import require_file
from benchmarks.market import scaled
from cryptopredict.core.dates import format_utc, parse_utc
from cryptopredict.training.bars import HOURLY_BTC_USD
from rehearsals.release_scenarios import rehearse
from rehearsals.runs import Run, StepFailed, git, http_json, read_outputs, wait_for
from release.registry import MANIFEST_TYPES
from tests.fakes.alpaca import FakeAlpaca, bars_from_csv
from tests.fakes.loopback import free_port

ROOT = Path(__file__).resolve().parent.parent


PYTHON = sys.executable
RELEASE = [PYTHON, "-m", "release"]  # the checkout's scripts, as the workflow runs them
REPOSITORY = "rehearsal/crypto-predict"  # the GHCR path github.repository would give
BASE_IMAGE = "local/python:3.11-slim-bookworm"  # rehearsals/private_docker.sh's stand-in for the pinned base
# Three hourly pairs with models of their own: the hourly BTC/USD bars in data/, and the same bars one and two years
# earlier moved forward (52 and 104 weeks, keeping weekday and hour) at other price levels.
PAIR_SERIES = {"BTC/USD": (0, 1.0), "ETH/USD": (52, 0.04), "SOL/USD": (104, 0.002)}
VERIFY_SECONDS = 180  # a healthy deploy here goes live within seconds
# The classic builder's deprecation notice, which ends the stderr of every docker build the rehearsal runs (no buildx).
LEGACY_BUILDER_NOTICE = (
    "legacy builder is deprecated",
    "Install the buildx component",
    "docs.docker.com/go/buildx",
)


class Rehearsal:
    """The loopback services and the runner's workspace, kept across the runs."""

    def __init__(self, work: Path, data: Path) -> None:
        self.work = work
        self.data = data
        self.docker_dir = work / "docker"
        self.docker_host = f"unix://{self.docker_dir}/docker.sock"
        self.registry_port = free_port()
        self.registry: subprocess.Popen[bytes] | None = None
        self.fake_alpaca: FakeAlpaca | None = None
        self.render: subprocess.Popen[bytes] | None = None
        self.hook_port, self.service_port = free_port(), free_port()
        self.key = os.urandom(8).hex()  # the deploy hook's key: a secret, never printed
        self.workspace = work / "workspace"
        self.cache = work / "actions-cache"  # what actions/cache restores and saves: data/cache

    @property
    def image(self) -> str:
        return f"127.0.0.1:{self.registry_port}/{REPOSITORY}"

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.service_port}"

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.docker_host, **extra}

    # --- services ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self.work.exists():
            shutil.rmtree(self.work / "registry", ignore_errors=True)
            for stale in (self.workspace, self.cache, self.work / "origin.git", self.work / "cards"):
                shutil.rmtree(stale, ignore_errors=True)
        self.work.mkdir(parents=True, exist_ok=True)
        subprocess.run(["bash", str(ROOT / "rehearsals/private_docker.sh"), "start", str(self.docker_dir)], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        for container in docker_out(self, "ps", "--all", "--quiet").split():
            docker_out(self, "rm", "--force", container)  # left by an interrupted rehearsal
        self.start_registry()
        bars = {}
        history = bars_from_csv(self.data, "2019", "2026")
        for symbol, (weeks, scale) in PAIR_SERIES.items():
            moved = shift_bars(history, dt.timedelta(weeks=weeks))
            bars[symbol] = scaled(moved, scale)
        self.fake_alpaca = FakeAlpaca(series=bars, page_size=10_000)
        self.render = subprocess.Popen(
            [PYTHON, "-m", "tests.fakes.render", "--image", f"{self.image}:latest", "--key", self.key,
             "--hook-port", str(self.hook_port), "--service-port", str(self.service_port), "--health-timeout", "30"],
            env=self.env(),
        )  # fmt: skip
        wait_for(lambda: http_json(f"http://127.0.0.1:{self.hook_port}/_status") is not None, "the fake Render")
        origin = self.work / "origin.git"
        subprocess.run(["git", "clone", "--quiet", "--bare", "--no-tags", str(ROOT), str(origin)], check=True)
        for tag in git(origin, "tag", "--list").split():
            git(origin, "tag", "-d", tag)
        subprocess.run(["git", "clone", "--quiet", str(origin), str(self.workspace)], check=True)
        self.cache.mkdir()

    def start_registry(self) -> None:
        config = self.work / "registry.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {self.work / 'registry'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.registry_port}\n"
        )
        if not shutil.which("docker-registry"):
            for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "docker-registry"]):
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        log = (self.work / "registry.log").open("ab")
        self.registry = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
        wait_for(lambda: http_json(f"http://127.0.0.1:{self.registry_port}/v2/") is not None, "the registry")

    def stop_registry(self) -> None:
        if self.registry:
            self.registry.send_signal(signal.SIGTERM)
            self.registry.wait(timeout=30)
            self.registry = None

    def stop(self) -> None:
        if self.render:
            self.render.send_signal(signal.SIGTERM)
            try:
                self.render.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.render.kill()
        self.stop_registry()
        if self.fake_alpaca:
            self.fake_alpaca.close()
        subprocess.run(["bash", str(ROOT / "rehearsals/private_docker.sh"), "stop", str(self.docker_dir)], check=False)

    # --- one workflow run ----------------------------------------------------------------------------------------

    def step(self, run: Run, name: str, command: list[str], cwd: Path | None = None, **env: str) -> dict[str, str]:
        """One step as Actions runs it: its own $GITHUB_OUTPUT, the job summary, fail on a non-zero exit."""
        outputs_file = self.work / "step-output"
        outputs_file.unlink(missing_ok=True)
        began = time.monotonic()
        result = subprocess.run(
            command, cwd=cwd or self.workspace, capture_output=True, text=True,
            env=self.env(GITHUB_OUTPUT=str(outputs_file), GITHUB_STEP_SUMMARY=str(self.work / "summary.md"), **env),
        )  # fmt: skip
        run.seconds[name] = time.monotonic() - began
        with (self.work / "rehearsal.log").open("a") as log:
            log.write(f"\n### {run.name} / {name}: exit {result.returncode}\n{result.stdout}\n{result.stderr}\n")
        if result.returncode != 0:
            said = [
                line.strip()
                for line in (result.stderr.strip() or result.stdout).splitlines()
                if line.strip() and not any(words in line for words in LEGACY_BUILDER_NOTICE)
            ]
            raise StepFailed(name, said[-1] if said else f"exit {result.returncode}")
        outputs = read_outputs(outputs_file)
        run.outputs.update(outputs)
        return outputs

    def release(self, name: str, now: dt.datetime, train_options: str = "", verify_seconds: float = 0) -> Run:
        """The deploy workflow's jobs, in order, for a run at `now`; stops at the first failing step."""
        run = Run(name)
        assert self.fake_alpaca is not None
        self.fake_alpaca.requests.clear()
        try:
            self.prepare_build(run, now)
            arguments, pushed = self.build_and_push(run, train_options)
            self.check_pushed(run, pushed)
            self.save_bar_store(run, arguments)
            if run.outputs.get("changed") == "true":  # the deploy job's condition: a run with no new model stops here
                self.deploy_and_promote(run, pushed, verify_seconds)
            # The workflow's monitor job: a pair whose live track record has drifted fails the run after the deploy.
            self.step(run, "monitor", [PYTHON, "-m", "release.monitor", str(self.work / "cards" / name / "model")])
        except StepFailed as failure:
            run.failed_step, run.message = failure.step, failure.message
        run.requests = list(self.fake_alpaca.requests)
        return run

    def prepare_build(self, run: Run, now: dt.datetime) -> None:
        """The version job, then the build job's steps before the build: preflight, cache, previous-model."""
        self.step(run, "version", [PYTHON, "-m", "release.next_version", "--tag", "--push", "origin"])
        clock = [PYTHON, "-m", "release.run_instant", "--now", format_utc(now)]
        instant = subprocess.run(clock, cwd=self.workspace, capture_output=True, text=True, check=True).stdout
        run.outputs.update(line.split("=", 1) for line in instant.split())  # type: ignore[misc]
        secrets = {"RENDER_SERVICE_URL": self.service_url, "RENDER_DEPLOY_HOOK_URL": self.hook_url}
        self.step(run, "preflight", [*RELEASE, "preflight"], **secrets)
        # actions/cache: restore data/cache from the last saved run; the checkout has no previous model.
        cache = self.workspace / "data/cache"
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(self.workspace / "data/previous-model", ignore_errors=True)
        if (self.cache / "bars.sqlite").exists():
            cache.mkdir(parents=True)
            shutil.copy(self.cache / "bars.sqlite", cache / "bars.sqlite")
        self.step(run, "previous-model",
                  [*RELEASE, "previous-model", "--image", self.image, "--dest", "data/previous-model"])  # fmt: skip

    def build_and_push(self, run: Run, train_options: str) -> tuple[list[str], str]:
        """plan, docker build and the push of each tag: the build arguments, and the image pushed (by digest)."""
        assert self.fake_alpaca is not None
        local = f"rehearsal-build:{run.outputs['stamp']}"
        settings = {
            "PAIRS": ",".join(PAIR_SERIES), "UNTIL": run.outputs["until"], "TRAIN_OPTIONS": train_options,
            "GIT_COMMIT": git(self.workspace, "rev-parse", "HEAD").strip(), "ALPACA_DATA_URL": self.fake_alpaca.url,
        }  # fmt: skip
        version, stamp = run.outputs["version"], run.outputs["stamp"]
        plan = [*RELEASE, "plan", "--image", self.image, "--version", version, "--stamp", stamp]
        planned = self.step(run, "plan", plan, **settings)
        arguments = [f"--build-arg=PYTHON_IMAGE={BASE_IMAGE}"]
        arguments += [f"--build-arg={line}" for line in planned["build_args"].splitlines()]
        self.step(run, "build", ["docker", "build", "--network", "host", *arguments, "-t", local, "."])
        tags = planned["tags"]
        for tag in tags.splitlines():
            self.step(run, "push", ["docker", "tag", local, tag])
            self.step(run, "push", ["docker", "push", "--quiet", tag])
        pushed = docker_out(self, "image", "inspect", "--format", "{{index .RepoDigests 0}}", local)
        run.outputs["pushed"] = pushed
        return arguments, pushed

    def check_pushed(self, run: Run, pushed: str) -> None:
        """card (from the pushed digest), then smoke."""
        served = run.outputs.get("previous_version", "")
        cards = self.work / "cards" / run.name
        card = [*RELEASE, "card", "--image", pushed, "--out", str(cards), "--served", served]
        self.step(run, "card", card)
        run.manifest = json.loads((cards / "model/manifest.json").read_text())
        self.step(run, "smoke", [*RELEASE, "smoke", "--image", run.outputs["image"], "--port", str(free_port())])

    def save_bar_store(self, run: Run, arguments: list[str]) -> None:
        """The bar store this run updated, from the stage that holds it (the image does not): actions/cache saves."""
        outputs = f"rehearsal-outputs:{run.outputs['stamp']}"
        self.step(run, "bar-store", ["docker", "build", "--network", "host", *arguments, "--target", "run-outputs",
                                     "-t", outputs, "."])  # fmt: skip
        container = docker_out(self, "create", outputs, "none")
        self.step(run, "bar-store", ["docker", "cp", f"{container}:/cache/bars.sqlite", str(self.cache)])
        docker_out(self, "rm", container)

    def deploy_and_promote(self, run: Run, pushed: str, verify_seconds: float) -> None:
        """The deploy job (deploy, verify), then the promote job (promote, prune)."""
        self.step(run, "deploy", [*RELEASE, "deploy", "--image", run.outputs["image"], "--attempts", "2",
                                  "--wait", "1"], RENDER_DEPLOY_HOOK_URL=self.hook_url)  # fmt: skip
        self.step(run, "verify", [*RELEASE, "verify", "--url", self.service_url, "--expected",
                                  run.outputs["model_version"], "--timeout",
                                  str(verify_seconds or VERIFY_SECONDS), "--interval", "2"])  # fmt: skip
        # The promote job: latest and X.Y.Z move only to the image now verifiably served.
        self.step(run, "promote", [*RELEASE, "promote", "--image", pushed, "--version", run.outputs["version"]])
        # Retention, with a small window so that the rehearsal sees an image go: the served one stays.
        self.step(run, "prune", [PYTHON, "-m", "release.prune_images", "--image", self.image, "--keep", "2"])

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.hook_port}/deploy/srv-rehearsal?key={self.key}"

    # --- what the registry and the fake Render hold --------------------------------------------------------------

    def registry_digest(self, tag: str) -> str:
        """The digest a tag resolves to, through the registry's HTTP API (no docker involved)."""
        accept = ", ".join(MANIFEST_TYPES)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.registry_port}/v2/{REPOSITORY}/manifests/{tag}",
            method="HEAD",
            headers={"Accept": accept},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return str(response.headers["Docker-Content-Digest"])
        except urllib.error.HTTPError as error:
            return f"(HTTP {error.code})"

    def registry_tags(self) -> list[str]:
        listing = http_json(f"http://127.0.0.1:{self.registry_port}/v2/{REPOSITORY}/tags/list") or {}
        return sorted(listing.get("tags") or [])

    def render_status(self) -> dict[str, Any]:
        return http_json(f"http://127.0.0.1:{self.hook_port}/_status") or {}

    def render_control(self, **control: Any) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.hook_port}/_control",
            data=json.dumps(control).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()

    def live_digest(self) -> str:
        """The digest the fake Render's live container runs, once no deploy is still in progress."""
        wait_for(lambda: all(d["result"] != "started" for d in self.render_status().get("deploys", [])), "deploys",
                 seconds=90)  # fmt: skip
        live = self.render_status().get("live") or {}
        return str(live.get("digest", "")).rpartition("@")[2]

    def served_version(self) -> str:
        return str((http_json(f"{self.service_url}/model") or {}).get("model_version", ""))


def docker_out(rehearsal: Rehearsal, *args: str) -> str:
    return subprocess.run(
        ["docker", *args], env=rehearsal.env(), check=True, capture_output=True, text=True
    ).stdout.strip()


def shift_bars(bars: list[dict[str, Any]], by: dt.timedelta) -> list[dict[str, Any]]:
    return [{**bar, "t": format_utc(parse_utc(bar["t"]) + by)} for bar in bars]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/crypto-predict-rehearsal"))
    parser.add_argument("--data", type=Path, default=HOURLY_BTC_USD, help="hourly bars (timestamp,…,close,…)")
    args = parser.parse_args()
    require_file(args.data, "release rehearsal")
    if os.geteuid() != 0:
        print("release rehearsal: run as root (it starts a Docker daemon)", file=sys.stderr)
        return 2
    began = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop what was started, as on Ctrl-C
    rehearsal = Rehearsal(args.work, args.data)
    try:
        rehearsal.start()
        failed = rehearse(rehearsal)
    finally:
        rehearsal.stop()
    print(f"release rehearsal: {'PASSED' if not failed else f'{failed} step(s) FAILED'} in "
          f"{time.monotonic() - began:.0f} s (log: {args.work / 'rehearsal.log'})")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
