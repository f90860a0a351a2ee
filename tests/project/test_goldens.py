"""The layout may change, what a user gets may not: every API answer, the artifact's files and every command's help
and exit code, against what tests/goldens.py captured (tests/data/goldens.json; clock-set values masked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.goldens import GOLDENS, URLS, capture_answers, capture_artifact, capture_help

EXPECTED: dict[str, Any] = json.loads(GOLDENS.read_text())


@pytest.fixture(params=["daily", "hourly"])
def fixture_dir(request: pytest.FixtureRequest) -> tuple[str, Path]:
    name = {"daily": "trained_model_dir", "hourly": "hourly_model_dir"}[request.param]
    return request.param, request.getfixturevalue(name)


def test_the_artifact_files_are_the_captured_bytes(fixture_dir: tuple[str, Path]) -> None:
    kind, model_dir = fixture_dir
    assert capture_artifact(model_dir) == EXPECTED["artifact"][kind]


def test_every_answer_is_the_captured_one(fixture_dir: tuple[str, Path]) -> None:
    kind, model_dir = fixture_dir
    answers = capture_answers(model_dir, URLS[kind])
    assert answers.keys() == EXPECTED["answers"][kind].keys()
    for url, answer in answers.items():
        assert answer == EXPECTED["answers"][kind][url], url


@pytest.mark.slow
def test_every_command_has_its_captured_help_and_exit_code() -> None:
    helps = capture_help()
    assert helps.keys() == EXPECTED["help"].keys()
    for name, answer in helps.items():
        assert answer == EXPECTED["help"][name], name
