"""The build job's release steps: preflight (Render's settings), plan (tags and build arguments) and
previous-model (the model being served, which this run trains on from)."""

from __future__ import annotations

import json
import sys
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from release.common import (
    DEPLOY_HOOK_URL,
    IMAGE_MODEL_DIR,
    SERVICE_URL,
    ReleaseError,
    copy_from_image,
    docker,
    last_line,
    repository_of,
)

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
# What a registry answers for a tag it has never held; any other pull failure is not "no image yet".
NO_SUCH_TAG = ("manifest unknown", "not found", "no such manifest", "name unknown")


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
