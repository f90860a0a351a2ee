"""The release steps the deploy workflow runs, one subcommand each; `make release-rehearsal` runs the same ones.

Usage: python3 -m release preflight
       python3 -m release plan --image NAME --version X.Y.Z --stamp STAMP [--attempt N]
       python3 -m release previous-model --image NAME --dest DIR
       python3 -m release card --image NAME@DIGEST --out DIR [--served MODEL_VERSION]
       python3 -m release deploy --image NAME@DIGEST [--attempts 3] [--wait 10]
       python3 -m release verify --url URL --expected MODEL_VERSION [--timeout 600] [--interval 10]
       python3 -m release promote --image NAME@DIGEST --version X.Y.Z
       python3 -m release smoke --image NAME@DIGEST [--port 18080]

A run pushes its image under its stamp tag only (`X.Y.Z-<stamp>`, forever that build); `latest` and `X.Y.Z` move
to it (promote) only once the service verifiably serves it, or when no service is configured yet. So `latest` is
always the model being served, which the next run trains on from (previous-model).

Standard library only (it runs on the runner's own Python); the docker CLI follows DOCKER_HOST. Values for later
steps go to $GITHUB_OUTPUT (stdout when unset) and the model card to $GITHUB_STEP_SUMMARY. The deploy hook's URL
holds Render's key, so it is read from the environment and never printed. Each failure is one line on stderr and
a non-zero exit, before anything is pushed or deployed when it can be known then.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from release.model_card import render_cards
from release.registry import OciRegistry, RegistryError

SERVICE_URL = "RENDER_SERVICE_URL"  # repository variable: where verify reads /model
DEPLOY_HOOK_URL = "RENDER_DEPLOY_HOOK_URL"  # repository secret: Render's deploy hook, key included
# What a run builds, from the environment (repository variables and the run's instant): build argument -> default.
BUILD_SETTINGS = {
    "SOURCE": "alpaca",
    "PAIRS": "BTC/USD,ETH/USD,SOL/USD",
    "TIMEFRAME": "",  # train.py's default for live data: hourly bars
    "UNTIL": "",  # the run's instant, from release/run_instant.py
    "GIT_COMMIT": "",
    "TRAIN_OPTIONS": "",  # e.g. --refit-after-hours 0 (the workflow's "refit" input)
    "ALPACA_DATA_URL": "",  # only the rehearsal's fake Alpaca
}
# Build arguments passed only when set: the workflow rehearsal's stand-in base (the Dockerfile pins the real one).
OPTIONAL_BUILD_SETTINGS = ("PYTHON_IMAGE",)
COLD_START = "COLD_START"  # repository variable: "true" lets a run start from scratch when `latest` cannot be read
IMAGE_MODEL_DIR = "/app/model"  # the final stage's MODEL_DIR
IMAGE_REPORT = "/app/model-report.html"  # the HTML model cards the final stage carries beside the model
# What a registry answers for a tag it has never held; any other pull failure is not "no image yet".
NO_SUCH_TAG = ("manifest unknown", "not found", "no such manifest", "name unknown")


class ReleaseError(RuntimeError):
    """A release step that cannot go on; its message is the one line the run prints."""


def write_outputs(values: Mapping[str, str]) -> None:
    """Step outputs in $GITHUB_OUTPUT's format (a heredoc for multi-line values), or on stdout."""
    lines = []
    for key, value in values.items():
        lines.append(f"{key}<<EOF\n{value}\nEOF" if "\n" in value else f"{key}={value}")
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def repository_of(image: str) -> str:
    """ghcr.io/Owner/Repo:tag or …@sha256:… -> ghcr.io/owner/repo (registries want lower case)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name.rsplit(":", 1)[0]
    return name.lower()


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise ReleaseError(f"docker {args[0]} failed: {last_line(result.stderr)}")
    return result


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def copy_from_image(image: str, sources: Mapping[str, Path]) -> None:
    """Copy paths out of an image (a container is created, never started)."""
    container = docker("create", image, "true").stdout.strip()
    try:
        for source, destination in sources.items():
            docker("cp", f"{container}:{source}", str(destination))
    finally:
        docker("rm", container, check=False)


# --- the steps ---------------------------------------------------------------------------------------------------


NOT_CONFIGURED = (
    f"Render is not configured yet ({SERVICE_URL} and {DEPLOY_HOOK_URL} are unset): this run builds the image, "
    "pushes it and tags it latest, and deploys nothing. Create the Render service from that image, then set both "
    "(README: Deployment)"
)


def check_preflight(env: Mapping[str, str]) -> dict[str, str]:
    """Everything deploy and verify need, checked before anything is built or pushed: `deploy=true`, or
    `deploy=false` when neither is set yet (the first run, before the Render service exists, which needs an image)."""
    settings = {SERVICE_URL: "repository variable", DEPLOY_HOOK_URL: "repository secret"}
    if not any(env.get(name, "").strip() for name in settings):
        return {"deploy": "false"}
    missing = []
    for name, kind in settings.items():
        value = env.get(name, "").strip()
        if not value:
            missing.append(f"{name} is not set (a {kind})")
        elif urllib.parse.urlsplit(value).scheme not in ("http", "https") or not urllib.parse.urlsplit(value).netloc:
            # The secret's value is never echoed, even when malformed.
            shown = "its value" if name == DEPLOY_HOOK_URL else repr(value)
            missing.append(f"{name}: {shown} is not an http(s) URL")
    if missing:
        raise ReleaseError("; ".join(missing) + ": nothing was built, pushed or deployed")
    return {"deploy": "true"}


def write_summary(text: str) -> None:
    """A paragraph of the job summary ($GITHUB_STEP_SUMMARY), or stderr outside a workflow."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(text + "\n\n")
    else:
        print(f"release: {text}", file=sys.stderr)


def plan_build(image: str, version: str, stamp: str, env: Mapping[str, str], attempt: int = 1) -> dict[str, str]:
    """What this run builds and pushes: the repository, its one tag (`X.Y.Z-<stamp>` names this build forever;
    `latest` and `X.Y.Z` move later, in promote) and the build arguments, one `KEY=value` per line.

    A re-run of a failed job keeps the run's stamp but builds another image: attempt N > 1 tags `X.Y.Z-<stamp>-rN`,
    so that no tag ever moves."""
    repository = repository_of(image)
    tags = [f"{repository}:{version}-{stamp}" + (f"-r{attempt}" if attempt > 1 else "")]
    arguments = [f"{key}={env.get(key, '').strip() or default}" for key, default in BUILD_SETTINGS.items()]
    arguments += [f"{key}={env[key].strip()}" for key in OPTIONAL_BUILD_SETTINGS if env.get(key, "").strip()]
    return {"repository": repository, "tags": "\n".join(tags), "build_args": "\n".join(arguments)}


def pull_previous_model(image: str, dest: Path, cold_start: bool) -> dict[str, str]:
    """The model of `<image>:latest` copied to `dest`; with no such tag yet, nothing (every pair trains from
    scratch). Any other failure (authentication, network, rate limit) stops the run: training from scratch then
    would drop every pair that fails its gate from production."""
    latest = f"{repository_of(image)}:latest"
    pulled = docker("pull", "--quiet", latest, check=False)
    if pulled.returncode != 0:
        cause = last_line(pulled.stderr)
        if any(words in cause.lower() for words in NO_SUCH_TAG) or cold_start:
            print(f"release: {latest} cannot be read ({cause}): no model is being served yet, every pair is "
                  "trained from scratch", file=sys.stderr)  # fmt: skip
            return {"previous_digest": "", "previous_version": ""}
        raise ReleaseError(
            f"cannot read the model being served from {latest}: {cause}. Not training from scratch (a pair that "
            f"failed its gate would leave production); rerun when the registry answers, or set {COLD_START}=true "
            "for one run if no image was ever pushed"
        )
    digest = docker("image", "inspect", "--format", "{{index .RepoDigests 0}}", latest).stdout.strip()
    if dest.exists():
        raise ReleaseError(f"{dest} already exists: it would be mixed with the model from {latest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    copy_from_image(latest, {IMAGE_MODEL_DIR: dest})
    version = json.loads((dest / "manifest.json").read_text())["model_version"]
    print(f"release: the model being served, {version}, from {digest}", file=sys.stderr)
    return {"previous_digest": digest.rpartition("@")[2], "previous_version": version}


PLATFORM = ("linux", "amd64")  # what the workflow builds, and what Render runs


def platform_image(image: str) -> str:
    """`image` (by digest) narrowed to its linux/amd64 image manifest: a pushed index also holds attestation
    manifests, and whether Render deploys an index is undocumented (other platforms refuse one)."""
    repository, _, digest = image.partition("@")
    body, _ = OciRegistry(repository_of(repository)).manifest(digest)
    manifest = json.loads(body)
    if "manifests" in manifest:  # an index: pick the platform's image, never an attestation manifest
        platforms = {(m.get("platform", {}).get("os"), m.get("platform", {}).get("architecture")): m["digest"]
                     for m in manifest["manifests"]}  # fmt: skip
        if PLATFORM not in platforms:
            raise ReleaseError(f"{image} has no {'/'.join(PLATFORM)} image: it holds {sorted(platforms)}")
        digest = platforms[PLATFORM]
    return f"{repository_of(image)}@{digest}"


def read_card(image: str, out: Path, served: str = "") -> dict[str, str]:
    """The model (into `out`/model) and model report of the image that was pushed (by digest), so the summary, the
    uploaded report, the drift monitor and the version verify waits for all describe exactly what is deployed.

    `image` in the outputs is its linux/amd64 manifest, which deploy sends; `changed` is false when its model is
    the one being served (`served`): a run with no new bar made no new model, and deploying it would change
    nothing, yet verify would pass before Render had switched."""
    if "@sha256:" not in image:
        raise ReleaseError(f"{image} does not name a digest: the card must come from the exact image pushed")
    docker("pull", "--quiet", image)
    out.mkdir(parents=True, exist_ok=True)
    copy_from_image(image, {IMAGE_MODEL_DIR: out / "model", IMAGE_REPORT: out})
    manifest = out / "model" / "manifest.json"
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        try:
            cards = render_cards(manifest)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReleaseError(f"the model card of {image} cannot be written: {exc!r}") from None
        write_summary(f"{cards}\nImage: `{image}`")
    version = json.loads(manifest.read_text())["model_version"]
    changed = version != served
    if not changed:
        write_summary(f"No new model: {version} is the model being served already, so nothing is deployed.")
    return {"model_version": version, "image": platform_image(image), "changed": str(changed).lower()}


def promote(image: str, version: str) -> list[str]:
    """Point `latest` and `X.Y.Z` at `image` (the pushed digest, attestations included): the image is now the one
    served. The very manifest is put under the tags, so they resolve to that digest; nothing is rebuilt."""
    if "@sha256:" not in image:
        raise ReleaseError(f"{image} does not name a digest: promote moves tags to exactly the image verified")
    repository, _, digest = image.partition("@")
    OciRegistry(repository_of(repository)).tag(digest, ["latest", version])
    tags = [f"{repository_of(image)}:{tag}" for tag in ("latest", version)]
    print(f"release: {', '.join(tags)} now name {image}", file=sys.stderr)
    return tags


def trigger_deploy(image: str, hook_url: str, attempts: int, wait_seconds: float) -> str:
    """POST Render's deploy hook with `imgURL` = the image by digest; retried on 5xx and network errors."""
    if "@sha256:" not in image:
        raise ReleaseError(f"{image} does not name a digest: Render would deploy whatever the tag points at then")
    if not hook_url:
        raise ReleaseError(f"{DEPLOY_HOOK_URL} is not set: nothing was deployed")
    separator = "&" if urllib.parse.urlsplit(hook_url).query else "?"
    url = f"{hook_url}{separator}imgURL={urllib.parse.quote(image, safe='')}"
    answers = []
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=30) as response:
                body = response.read(2_000).decode(errors="replace")
            deploy = json.loads(body).get("deploy", {}).get("id", "") if body.startswith("{") else ""
            print(f"release: Render accepted the deploy of {image}{f' ({deploy})' if deploy else ''}", file=sys.stderr)
            return deploy
        except urllib.error.HTTPError as error:
            answers.append(f"HTTP {error.code}")
            if error.code < 500:
                break  # a wrong key or image URL is not fixed by asking again
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            answers.append(f"no answer ({type(reason).__name__})")  # the reason could quote the URL and its key
        if attempt < attempts:
            time.sleep(wait_seconds)
    raise ReleaseError(
        f"Render's deploy hook refused the deploy ({', '.join(answers)}): nothing was deployed, the previous "
        "deployment keeps serving"
    )


def fetch_model_version(url: str, timeout: float) -> str:
    """The `model_version` a service's /model reports, or what went wrong, in a few words."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/model", timeout=timeout) as response:
            return str(json.loads(response.read()).get("model_version", ""))
    except urllib.error.HTTPError as error:
        return f"(HTTP {error.code})"
    except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as error:
        return f"({type(getattr(error, 'reason', error)).__name__})"


def wait_for_version(
    url: str,
    expected: str,
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    read: Callable[[str, float], str] = fetch_model_version,
) -> float:
    """Poll `url`/model until it reports `expected`; the seconds it took. Never longer than `timeout`: each
    request's own timeout is cut to what is left."""
    if not url:
        raise ReleaseError(f"{SERVICE_URL} is not set: cannot tell whether the deploy went live")
    began = clock()
    served = ""
    while True:
        left = timeout - (clock() - began)
        if left <= 0:
            break
        served = read(url, min(10.0, left))
        if served == expected:
            return clock() - began
        print(f"release: {url} serves {served or '(no version)'}, waiting for {expected}", file=sys.stderr)
        left = timeout - (clock() - began)
        if left <= 0:
            break
        sleep(min(interval, left))
    raise ReleaseError(
        f"{url} did not report model {expected} within {timeout:.0f} s (last: {served or 'no version'}); the "
        "previous deployment keeps serving: check the deploy in Render's dashboard"
    )


def read_json(url: str, timeout: float = 10.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return dict(json.loads(response.read()))


def check_service(base: str, timeout: float = 60.0) -> list[str]:
    """A smoke test of a running service: healthy within `timeout`, and every pair it lists answers a prediction at
    its newest bar with an ordered band. One line per pair; a ReleaseError on the first fault."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            read_json(f"{base}/health", timeout=2)
            break
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise ReleaseError(f"{base}/health did not answer within {timeout:.0f} s") from None
            time.sleep(0.5)
    lines = []
    try:
        pairs = read_json(f"{base}/pairs")["pairs"]
        if not pairs:
            raise ReleaseError(f"{base}/pairs lists no pair")
        for pair in pairs:
            date = urllib.parse.quote(pair["last_bar"], safe="")
            answer = read_json(f"{base}{pair['predict']}?date={date}")
            if not answer["prediction_low"] <= answer["prediction"] <= answer["prediction_high"]:
                raise ReleaseError(f"{pair['pair']}: the band does not hold the prediction: {answer}")
            lines.append(f"{pair['pair']} at {pair['last_bar']}: {answer['prediction']} ({answer['model_version']})")
    except urllib.error.HTTPError as error:
        raise ReleaseError(f"{error.url} answered HTTP {error.code}") from None
    except (OSError, KeyError, ValueError) as error:
        raise ReleaseError(f"{base} did not answer as a service of this version: {error}") from None
    return lines


def smoke(image: str, port: int) -> list[str]:
    """Run the pushed image (by digest) on this machine's network and smoke-test it: what a scheduled run checks
    instead of the whole test suite, since it changes no code."""
    name = f"crypto-predict-smoke-{port}"
    docker("run", "--detach", "--name", name, "--network", "host", "--env", f"PORT={port}", image)
    try:
        return check_service(f"http://127.0.0.1:{port}")
    finally:
        docker("rm", "--force", name, check=False)


# --- command line ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("preflight", help=f"{SERVICE_URL} and {DEPLOY_HOOK_URL} are set, before anything is built")
    plan = steps.add_parser("plan", help="the repository, tags and build arguments of this run's image")
    previous = steps.add_parser("previous-model", help="the model of <image>:latest, into --dest")
    card = steps.add_parser("card", help="model and report of the pushed image, into --out; the job summary")
    deploy = steps.add_parser("deploy", help=f"POST {DEPLOY_HOOK_URL} with imgURL=<image by digest>")
    verify = steps.add_parser("verify", help="poll <url>/model until it reports the expected model_version")
    promoted = steps.add_parser("promote", help="move latest and X.Y.Z to the image (by digest) now served")
    smoked = steps.add_parser("smoke", help="run the image and ask every pair it serves for a prediction")
    smoked.add_argument("--port", type=int, default=18080)
    for step in (plan, previous, card, deploy, promoted, smoked):
        step.add_argument("--image", required=True)
    for step in (plan, promoted):
        step.add_argument("--version", required=True)
    card.add_argument("--served", default="", help="the model_version being served (previous-model's)")
    plan.add_argument("--stamp", required=True)
    plan.add_argument("--attempt", type=int, default=1, help="github.run_attempt")
    previous.add_argument("--dest", type=Path, required=True)
    card.add_argument("--out", type=Path, required=True)
    deploy.add_argument("--attempts", type=int, default=3)
    deploy.add_argument("--wait", type=float, default=10.0, help="seconds between attempts")
    verify.add_argument("--url", default=os.environ.get(SERVICE_URL, ""))
    verify.add_argument("--expected", required=True)
    verify.add_argument("--timeout", type=float, default=600.0, help="seconds, all attempts included")
    verify.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args(argv)
    try:
        if args.step == "preflight":
            outputs = check_preflight(os.environ)
            if outputs["deploy"] == "true":
                print(f"release: {SERVICE_URL} and {DEPLOY_HOOK_URL} are set", file=sys.stderr)
            else:
                write_summary(NOT_CONFIGURED)
            write_outputs(outputs)
        elif args.step == "plan":
            write_outputs(plan_build(args.image, args.version, args.stamp, os.environ, args.attempt))
        elif args.step == "previous-model":
            cold_start = os.environ.get(COLD_START, "").strip().lower() == "true"
            write_outputs(pull_previous_model(args.image, args.dest, cold_start))
        elif args.step == "card":
            write_outputs(read_card(args.image, args.out, args.served))
        elif args.step == "promote":
            promote(args.image, args.version)
        elif args.step == "smoke":
            for line in smoke(args.image, args.port):
                print(f"release: smoke: {line}", file=sys.stderr)
        elif args.step == "deploy":
            deploy_id = trigger_deploy(args.image, os.environ.get(DEPLOY_HOOK_URL, ""), args.attempts, args.wait)
            write_outputs({"deploy_id": deploy_id})
        else:
            seconds = wait_for_version(args.url, args.expected, args.timeout, args.interval)
            print(f"release: {args.url} serves {args.expected} ({seconds:.0f} s after the deploy)", file=sys.stderr)
    except (ReleaseError, RegistryError) as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
