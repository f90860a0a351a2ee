"""The release loop, rehearsed on this machine with the scripts the deploy workflow runs: push, tag, deploy, verify.

Usage (as root): python3 -m rehearsals.release_steps [--work /var/tmp/crypto-predict-rehearsal] [--data CSV]

Everything runs on 127.0.0.1: a private Docker daemon (rehearsals/private_docker.sh, as `make image-test` starts it),
Debian's docker-registry in GHCR's place, the fake Alpaca market-data server with hourly bars, and a fake Render
(tests/fakes/render.py) that takes the deploy hook, pulls the image it names from the registry, runs it and
serves it at the URL verify polls. Each run plays the workflow's jobs in order, on a clone of this repository's
HEAD with a bare clone as `origin`:
  version   release/next_version.py --tag --push origin, release/run_instant.py --now (the run's clock)
  build     release.py preflight; the bar store restored as actions/cache would; release.py previous-model;
            docker build (the Dockerfile trains: SOURCE=alpaca against the fake Alpaca, UNTIL, TRAIN_OPTIONS);
            release.py tags and docker push of each; release.py card (from the pushed digest); the bar store saved
            from the run-outputs stage
  deploy    release.py deploy (imgURL by digest), release.py verify
The GitHub-only parts (build-push-action's BuildKit build with SBOM and provenance, attest-build-provenance, GHCR,
actions/cache, Render itself) are not here; the README lists them.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import free_port, require_file
from benchmarks.market import scaled
from cryptopredict.core.dates import format_utc, parse_utc
from cryptopredict.training.bars import HOURLY_BTC_USD
from cryptopredict.training.barstore import OVERLAP_BARS
from tests.fakes.alpaca import FakeAlpaca, bars_from_csv, earliest_starts

ROOT = Path(__file__).resolve().parent.parent


PYTHON = sys.executable
REPOSITORY = "rehearsal/crypto-predict"  # the GHCR path github.repository would give
BASE_IMAGE = "local/python:3.11-slim-bookworm"  # rehearsals/private_docker.sh's stand-in for the pinned base
FIRST_RUN = dt.datetime(2025, 10, 1, 6, 17, 42, tzinfo=dt.UTC)  # inside the hourly bars, at a run's usual minute
SIX_HOURS = dt.timedelta(hours=6)
# Three hourly pairs with models of their own: the hourly BTC/USD bars in data/, and the same bars one and two years
# earlier moved forward (52 and 104 weeks, keeping weekday and hour) at other price levels.
PAIR_SERIES = {"BTC/USD": (0, 1.0), "ETH/USD": (52, 0.04), "SOL/USD": (104, 0.002)}
VERIFY_SECONDS = 180  # a healthy deploy here goes live within seconds
STALLED_VERIFY_SECONDS = 30
# The classic builder's deprecation notice, which ends every docker build's stderr here (no buildx on this machine).
LEGACY_BUILDER_NOTICE = (
    "legacy builder is deprecated",
    "Install the buildx component",
    "docs.docker.com/go/buildx",
)  # step e's verify, which is meant to run out


@dataclass
class Run:
    """One workflow run as the rehearsal played it."""

    name: str
    failed_step: str | None = None
    message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return self.outputs.get("image", "").rpartition("@")[2]


def read_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT's `key=value` lines and `key<<EOF` heredocs."""
    values: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    while lines:
        line = lines.pop(0)
        if "<<" in line and "=" not in line.split("<<")[0]:
            key, marker = line.split("<<", 1)
            body = []
            while lines and lines[0] != marker:
                body.append(lines.pop(0))
            lines.pop(0)
            values[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


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
        self.runs: dict[str, Run] = {}

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
        for symbol, (weeks, scale) in PAIR_SERIES.items():
            moved = shift_bars(bars_from_csv(self.data, "2019", "2026"), dt.timedelta(weeks=weeks))
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

    def release(
        self, name: str, event: str, now: dt.datetime, train_options: str = "", verify_seconds: float = 0
    ) -> Run:
        """The deploy workflow's jobs, in order, for a run at `now`; stops at the first failing step."""
        run = Run(name)
        self.runs[name] = run
        assert self.fake_alpaca is not None
        self.fake_alpaca.requests.clear()
        release = [PYTHON, "-m", "release"]  # the checkout's scripts, as the workflow runs them
        try:
            self.step(run, "version", [PYTHON, "-m", "release.next_version", "--tag", "--push", "origin"])
            clock = [PYTHON, "-m", "release.run_instant", "--now", format_utc(now)]
            instant = subprocess.run(clock, cwd=self.workspace, capture_output=True, text=True, check=True).stdout
            run.outputs.update(line.split("=", 1) for line in instant.split())  # type: ignore[misc]
            secrets = {"RENDER_SERVICE_URL": self.service_url, "RENDER_DEPLOY_HOOK_URL": self.hook_url}
            self.step(run, "preflight", [*release, "preflight"], **secrets)
            # actions/cache: restore data/cache from the last saved run; the checkout has no previous model.
            cache = self.workspace / "data/cache"
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(self.workspace / "data/previous-model", ignore_errors=True)
            if (self.cache / "bars.sqlite").exists():
                cache.mkdir(parents=True)
                shutil.copy(self.cache / "bars.sqlite", cache / "bars.sqlite")
            self.step(run, "previous-model",
                      [*release, "previous-model", "--image", self.image, "--dest", "data/previous-model"])  # fmt: skip
            local = f"rehearsal-build:{run.outputs['stamp']}"
            settings = {
                "PAIRS": ",".join(PAIR_SERIES), "UNTIL": run.outputs["until"], "TRAIN_OPTIONS": train_options,
                "GIT_COMMIT": git(self.workspace, "rev-parse", "HEAD").strip(), "ALPACA_DATA_URL": self.fake_alpaca.url,
            }  # fmt: skip
            version, stamp = run.outputs["version"], run.outputs["stamp"]
            plan = [*release, "plan", "--image", self.image, "--version", version, "--stamp", stamp]
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
            served = run.outputs.get("previous_version", "")
            card = [*release, "card", "--image", pushed, "--out", str(self.work / "cards" / name), "--served", served]
            self.step(run, "card", card)
            run.manifest = json.loads((self.work / "cards" / name / "model/manifest.json").read_text())
            self.step(run, "smoke", [*release, "smoke", "--image", run.outputs["image"], "--port", str(free_port())])
            # The bar store this run updated, from the stage that holds it (the image does not): actions/cache saves.
            outputs = f"rehearsal-outputs:{run.outputs['stamp']}"
            self.step(run, "bar-store", ["docker", "build", "--network", "host", *arguments, "--target", "run-outputs",
                                         "-t", outputs, "."])  # fmt: skip
            container = docker_out(self, "create", outputs, "none")
            self.step(run, "bar-store", ["docker", "cp", f"{container}:/cache/bars.sqlite", str(self.cache)])
            docker_out(self, "rm", container)
            if run.outputs.get("changed") == "true":  # the deploy job's condition: a run with no new model stops here
                self.step(run, "deploy", [*release, "deploy", "--image", run.outputs["image"], "--attempts", "2",
                                          "--wait", "1"], RENDER_DEPLOY_HOOK_URL=self.hook_url)  # fmt: skip
                self.step(run, "verify", [*release, "verify", "--url", self.service_url, "--expected",
                                          run.outputs["model_version"], "--timeout",
                                          str(verify_seconds or VERIFY_SECONDS), "--interval", "2"])  # fmt: skip
                # The promote job: latest and X.Y.Z move only to the image now verifiably served.
                self.step(run, "promote", [*release, "promote", "--image", pushed, "--version", version])
                # Retention, with a small window so that the rehearsal sees an image go: the served one stays.
                self.step(run, "prune", [PYTHON, "-m", "release.prune_images", "--image", self.image, "--keep", "2"])
            # The workflow's monitor job: a pair whose live track record has drifted fails the run after the deploy.
            self.step(run, "monitor", [PYTHON, "-m", "release.monitor", str(self.work / "cards" / name / "model")])
        except StepFailed as failure:
            run.failed_step, run.message = failure.step, failure.message
        run.requests = list(self.fake_alpaca.requests)
        return run

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.hook_port}/deploy/srv-rehearsal?key={self.key}"

    # --- what the registry and the fake Render hold --------------------------------------------------------------

    def registry_digest(self, tag: str) -> str:
        """The digest a tag resolves to, through the registry's HTTP API (no docker involved)."""
        accept = ", ".join(
            (
                "application/vnd.oci.image.index.v1+json",
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.list.v2+json",
                "application/vnd.docker.distribution.manifest.v2+json",
            )
        )
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


class StepFailed(Exception):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step, self.message = step, message


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def docker_out(rehearsal: Rehearsal, *args: str) -> str:
    return subprocess.run(
        ["docker", *args], env=rehearsal.env(), check=True, capture_output=True, text=True
    ).stdout.strip()


def http_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read() or b"{}")
    except (OSError, ValueError):
        return None


def wait_for(ready: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {seconds:.0f} s")
        time.sleep(0.3)


def shift_bars(bars: list[dict[str, Any]], by: dt.timedelta) -> list[dict[str, Any]]:
    return [{**bar, "t": format_utc(parse_utc(bar["t"]) + by)} for bar in bars]


def worst_ratios(manifest: dict[str, Any]) -> dict[str, float]:
    """Each pair's highest backtest MAPE ratio to naive, over its gated horizons."""
    return {
        symbol: max(row["mape_ratio"] for row in card["backtest"]["horizons"])
        for symbol, card in manifest["pairs"].items()
    }


# --- the steps and their checks ----------------------------------------------------------------------------------


class Verdicts:
    def __init__(self) -> None:
        self.failed = 0

    def check(self, label: str, checks: list[tuple[bool, str]], run: Run | None, began: float) -> None:
        failures = [what for ok, what in checks if not ok]
        self.failed += bool(failures)
        detail = "; ".join(failures) if failures else "; ".join(what for _, what in checks[-3:])
        seconds = time.monotonic() - began
        outcome = "FAIL" if failures else "PASS"
        note = f" [run stopped at {run.failed_step}: {run.message}]" if run and run.failed_step else ""
        print(f"{outcome} {label} ({seconds:.0f} s): {detail}{note}", flush=True)


def rehearse(r: Rehearsal) -> int:
    verdicts = Verdicts()
    now = FIRST_RUN

    began = time.monotonic()
    a = r.release("a", "push", now)
    served = sorted(a.manifest.get("pairs", {}))  # the pairs the later steps follow
    dropped = a.manifest.get("run", {}).get("dropped", {})
    left_out = "".join(f"; {symbol} left out ({reason[:70]}…)" for symbol, reason in dropped.items())
    tags_a = {tag: r.registry_digest(tag) for tag in ("latest", "0.1.0", f"0.1.0-{a.outputs.get('stamp')}")}
    verdicts.check(
        "a. push to main",
        [
            (a.failed_step is None, "every step passed"),
            ("refs/tags/v0.1.0" in git(r.work / "origin.git", "show-ref", "--tags"), "v0.1.0 pushed to origin"),
            (
                set(tags_a.values()) == {a.digest} and a.digest.startswith("sha256:"),
                f"registry: {', '.join(tags_a)} on {a.digest[:19]}",
            ),
            (r.live_digest() == a.digest, "fake Render runs that digest"),
            (r.served_version() == a.outputs.get("model_version"), f"verify saw {a.outputs.get('model_version')}"),
            # A pair whose bands the gate refuses is left out, as in production; the steps need two to compare.
            (len(served) >= 2, f"published {', '.join(served)}{left_out}"),
        ],
        a,
        began,
    )

    began, now = time.monotonic(), now + SIX_HOURS
    b = r.release("b", "schedule", now)
    starts = earliest_starts(b.requests)
    earliest = parse_utc(a.outputs.get("until", format_utc(FIRST_RUN))) - dt.timedelta(hours=OVERLAP_BARS + 1)
    cards_a, cards_b = a.manifest.get("pairs", {}), b.manifest.get("pairs", {})
    verdicts.check(
        "b. scheduled run six hours later",
        [
            (b.failed_step is None, "every step passed"),
            (b.outputs.get("version") == "0.1.0" and b.outputs.get("created") == "false", "same version, no new tag"),
            (
                len(starts) == 3 and all(parse_utc(s) >= earliest for s in starts.values()),
                f"only new bars fetched ({len(b.requests)} requests, from {min(starts.values(), default='?')})",
            ),
            (
                b.outputs.get("previous_digest") == a.digest
                and b.outputs.get("previous_version") == a.outputs.get("model_version"),
                "the previous model came from :latest (run a's)",
            ),
            (
                all(
                    cards_b.get(s, {}).get("update") == "reanchor"
                    and cards_b[s]["fitted_at"] == cards_a[s]["fitted_at"]
                    for s in served
                ),
                "each pair re-anchored its stored fit",
            ),
            (b.outputs.get("model_version") not in ("", a.outputs.get("model_version")), "a new model version"),
            (
                r.registry_digest("latest") == r.registry_digest("0.1.0") == b.digest != a.digest
                and r.registry_digest(f"0.1.0-{a.outputs.get('stamp')}") == a.digest,
                f"latest and 0.1.0 moved to {b.digest[:19]}, 0.1.0-{a.outputs.get('stamp')} still {a.digest[:19]}",
            ),
            (r.live_digest() == b.digest, "fake Render runs the new digest"),
        ],
        b,
        began,
    )

    began, now = time.monotonic(), now + SIX_HOURS
    ratios = worst_ratios(a.manifest) if a.manifest else {}
    ordered = sorted(ratios, key=ratios.__getitem__)
    weak = ordered[-1] if ordered else ""
    limit = (ratios[ordered[-1]] + ratios[ordered[-2]]) / 2 if len(ordered) > 1 else 0.0
    c1 = r.release("c1", "schedule", now, f"--refit-after-hours 0 --gate-max-mape-ratio {limit:.4f}")
    run_c1 = c1.manifest.get("run", {})
    cards_c = c1.manifest.get("pairs", {})
    label = f"c. one pair failing its gate (MAPE ratio limit {limit:.4f}, {weak} at {ratios.get(weak, 0):.4f})"
    others = sorted(set(served) - {weak})
    verdicts.check(
        label,
        [
            (c1.failed_step is None, "every step passed"),
            (
                list(run_c1.get("kept", {})) == [weak] and sorted(run_c1.get("updated", [])) == others,
                f"{weak} kept ({run_c1.get('kept', {}).get(weak, '')[:60]}…), the others refitted",
            ),
            (
                cards_c.get(weak, {}).get("fitted_at") == cards_a.get(weak, {}).get("fitted_at")
                and cards_c.get(weak, {}).get("last_bar") != cards_b.get(weak, {}).get("last_bar"),
                f"{weak} serves its previous fit, re-anchored at the newest bar",
            ),
            (
                r.live_digest() == c1.digest and r.served_version() == c1.outputs.get("model_version"),
                "deployed and verified",
            ),
            (
                r.registry_digest(f"0.1.0-{a.outputs.get('stamp')}") == "(HTTP 404)"
                and r.registry_digest(f"0.1.0-{b.outputs.get('stamp')}") == b.digest,
                "retention kept the two newest builds and pruned run a's",
            ),
        ],
        c1,
        began,
    )

    began, now = time.monotonic(), now + SIX_HOURS
    deploys = len(r.render_status().get("deploys", []))
    c2 = r.release("c2", "schedule", now, "--refit-after-hours 0 --gate-max-mape-ratio 0.5")
    verdicts.check(
        "c. every pair failing its gate",
        [
            (c2.failed_step == "build", "the run failed at the build (train.py: no pair updated)"),
            (
                r.registry_digest("latest") == c1.digest
                and not any(c2.outputs.get("stamp", "?") in tag for tag in r.registry_tags()),
                "nothing pushed",
            ),
            (
                len(r.render_status().get("deploys", [])) == deploys and r.live_digest() == c1.digest,
                "nothing deployed: the fake Render still serves the previous digest",
            ),
        ],
        c2,
        began,
    )

    began = time.monotonic()
    r.stop_registry()
    d = r.release("d", "schedule", now)
    r.start_registry()
    verdicts.check(
        "d. registry unreachable for the previous model",
        [
            (
                d.failed_step == "previous-model" and "not training from scratch" in d.message.lower(),
                f"failed loudly: {d.message[:90]}…",
            ),
            (not d.requests and "build" not in d.seconds, "nothing fetched or trained"),
            (
                r.registry_digest("latest") == c1.digest and r.live_digest() == c1.digest,
                "registry and service unchanged",
            ),
        ],
        d,
        began,
    )

    began, now = time.monotonic(), now + SIX_HOURS
    r.render_control(hook_status=503)
    e1 = r.release("e1", "schedule", now)
    r.render_control(hook_status=None)
    verdicts.check(
        "e. deploy hook answering 503",
        [
            (e1.failed_step == "deploy" and "HTTP 503" in e1.message, f"failed: {e1.message[:100]}"),
            (e1.seconds.get("deploy", 99) < 30, f"within the hook's attempts ({e1.seconds.get('deploy', 0):.1f} s)"),
            (
                r.live_digest() == c1.digest and r.served_version() == c1.outputs.get("model_version"),
                "the previous deployment keeps serving",
            ),
            (r.registry_digest("latest") == c1.digest, "latest still names the served image"),
        ],
        e1,
        began,
    )

    began, now = time.monotonic(), now + SIX_HOURS
    r.render_control(break_deploys=True)
    e2 = r.release("e2", "schedule", now, verify_seconds=STALLED_VERIFY_SECONDS)
    r.render_control(break_deploys=False)
    waited = e2.seconds.get("verify", 0)
    verdicts.check(
        "e. a deployed container that never reports the new version",
        [
            (e2.failed_step == "verify" and "did not report model" in e2.message, f"failed: {e2.message[:100]}"),
            (
                STALLED_VERIFY_SECONDS <= waited <= STALLED_VERIFY_SECONDS + 12,
                f"after {waited:.1f} s of a stated {STALLED_VERIFY_SECONDS} s",
            ),
            (
                r.live_digest() == c1.digest and r.served_version() == c1.outputs.get("model_version"),
                "the previous deployment keeps serving",
            ),
            (
                r.registry_digest("latest") == c1.digest and e2.outputs.get("previous_digest") == c1.digest,
                "latest still names the served image, which this run trained on from",
            ),
        ],
        e2,
        began,
    )
    return verdicts.failed


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
