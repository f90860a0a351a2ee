"""The workflow files, parsed: shared by the release tests that read them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from tests.servers import ROOT

WORKFLOWS = ROOT / ".github/workflows"
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
