"""What every release step shares: its error, the workflow's outputs and job summary, and the docker CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

SERVICE_URL = "RENDER_SERVICE_URL"  # repository variable: where verify reads /model
DEPLOY_HOOK_URL = "RENDER_DEPLOY_HOOK_URL"  # repository secret: Render's deploy hook, key included
IMAGE_MODEL_DIR = "/app/model"  # the final stage's MODEL_DIR


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


def write_summary(text: str) -> None:
    """A paragraph of the job summary ($GITHUB_STEP_SUMMARY), or stderr outside a workflow."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(text + "\n\n")
    else:
        print(f"release: {text}", file=sys.stderr)


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
