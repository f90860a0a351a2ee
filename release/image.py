"""The release steps about the pushed image itself: card (its model and report), smoke (run it and ask it for
predictions) and promote (move `latest` and `X.Y.Z` to it once it is served)."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from release.common import IMAGE_MODEL_DIR, ReleaseError, copy_from_image, docker, repository_of, write_summary
from release.model_card import render_cards
from release.registry import OciRegistry

IMAGE_REPORT = "/app/model-report.html"  # the HTML model cards the final stage carries beside the model

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
    """Run the pushed image (by digest) on the host's network and smoke-test it: what a scheduled run checks
    instead of the whole test suite, since it changes no code."""
    name = f"crypto-predict-smoke-{port}"
    docker("run", "--detach", "--name", name, "--network", "host", "--env", f"PORT={port}", image)
    try:
        return check_service(f"http://127.0.0.1:{port}")
    finally:
        docker("rm", "--force", name, check=False)
