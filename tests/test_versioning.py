"""The release versioning the deploy workflow relies on."""

from __future__ import annotations

import pytest

from scripts.next_version import choose_version


def test_first_push_starts_at_0_1_0() -> None:
    assert choose_version("push", [], []) == ("0.1.0", True)


def test_a_push_bumps_the_patch_of_the_highest_tag() -> None:
    tags = ["v0.1.9", "v0.1.10", "v0.2.0", "not-a-version", "v1.0.0-rc1"]
    assert choose_version("push", [], tags) == ("0.2.1", True)


@pytest.mark.parametrize("event", ["schedule", "workflow_dispatch"])
def test_scheduled_and_manual_runs_reuse_the_version(event: str) -> None:
    assert choose_version(event, [], ["v0.1.3", "v0.1.4"]) == ("0.1.4", False)


def test_a_commit_that_has_a_version_keeps_it_even_on_a_push_rerun() -> None:
    assert choose_version("push", ["v0.1.3"], ["v0.1.3", "v0.1.4"]) == ("0.1.3", False)


def test_a_scheduled_run_before_any_release_is_refused() -> None:
    with pytest.raises(SystemExit, match="push to main once"):
        choose_version("schedule", [], [])
