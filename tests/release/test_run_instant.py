"""The instant a workflow run trains up to (train.py --until) and its image stamp, and the workflow's use of them."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

import pytest
import yaml

from cryptopredict.core.dates import parse_utc
from release.run_instant import main, parse_instant, run_outputs
from tests.servers import ROOT


def outputs_of(text: str) -> dict[str, str]:
    """`key=value` lines as $GITHUB_OUTPUT reads them."""
    return dict(line.split("=", 1) for line in text.splitlines())


def test_the_run_trains_up_to_the_hour_it_started_in() -> None:
    now = dt.datetime(2026, 11, 25, 6, 17, 42, 123456, tzinfo=dt.UTC)
    assert run_outputs(now) == {"until": "2026-11-25T06:00:00Z", "stamp": "20261125061742"}


def test_an_instant_on_the_hour_is_kept() -> None:
    now = dt.datetime(2026, 11, 25, 18, tzinfo=dt.UTC)
    assert run_outputs(now)["until"] == "2026-11-25T18:00:00Z"


def test_an_offset_is_converted_to_utc_before_truncating() -> None:
    # 00:30 in Kolkata is 19:00 UTC the day before: the hour and the day both come from UTC.
    now = parse_instant("2026-11-26T00:30:05+05:30")
    assert run_outputs(now) == {"until": "2026-11-25T19:00:00Z", "stamp": "20261125190005"}


def test_train_py_reads_until_as_the_truncated_instant() -> None:
    until = run_outputs(dt.datetime(2026, 11, 25, 6, 59, 59, tzinfo=dt.UTC))["until"]
    assert parse_utc(until) == dt.datetime(2026, 11, 25, 6, tzinfo=dt.UTC)


@pytest.mark.parametrize("text", ["2026-11-25 06:17:42", "2026-11-25 at six", ""])
def test_an_unparseable_instant_is_refused(text: str) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--now", text])
    assert raised.value.code == 2


def test_the_script_prints_github_outputs_from_one_reading_of_the_clock() -> None:
    # As the workflow runs it: its own interpreter, no environment variables (-E) and no user site (-s), so only the
    # checkout it runs from is on the path (-I would drop that too).
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = subprocess.run(
        [sys.executable, "-E", "-s", "-m", "release.run_instant"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    after = dt.datetime.now(dt.UTC)
    values = outputs_of(result.stdout)
    assert sorted(values) == ["stamp", "until"]
    stamp = dt.datetime.strptime(values["stamp"], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    assert before <= stamp <= after
    assert values["until"] == f"{stamp:%Y-%m-%dT%H}:00:00Z"


def test_the_script_takes_the_instant_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--now", "2026-11-25T12:00:01Z"]) == 0
    assert capsys.readouterr().out == "until=2026-11-25T12:00:00Z\nstamp=20261125120001\n"


def test_the_deploy_workflow_trains_up_to_the_scripts_instant() -> None:
    jobs: dict[str, Any] = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())["jobs"]
    version = jobs["version"]
    step = next(s for s in version["steps"] if "release.run_instant" in s.get("run", ""))
    assert '>> "$GITHUB_OUTPUT"' in step["run"] or '| tee -a "$GITHUB_OUTPUT"' in step["run"]
    for key in ("until", "stamp"):
        assert version["outputs"][key] == f"${{{{ steps.{step['id']}.outputs.{key} }}}}"
    # The plan step turns the instant into the UNTIL build argument of both builds (the image, then its run-outputs
    # stage); release.plan_build's test checks that it passes UNTIL through.
    [plan] = [s for s in jobs["build"]["steps"] if s.get("id") == "plan"]
    assert plan["env"]["UNTIL"] == "${{ needs.version.outputs.until }}"
    builds = [s for s in jobs["build"]["steps"] if s.get("uses", "").startswith("docker/build-push-action")]
    assert len(builds) == 2
    for build in builds:
        assert build["with"]["build-args"] == "${{ steps.plan.outputs.build_args }}"
    assert jobs["build"]["env"]["STAMP"] == "${{ needs.version.outputs.stamp }}"


def test_now_takes_train_pys_grammar_a_day_included(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_instant("2026-11-25") == dt.datetime(2026, 11, 25, tzinfo=dt.UTC)  # midnight UTC, as --until
    assert parse_instant("2026-11-25T06:17:42") == dt.datetime(2026, 11, 25, 6, 17, 42, tzinfo=dt.UTC)  # no zone: UTC
    with pytest.raises(SystemExit):
        main(["--now", "2026-11-25 06:17:42"])
    assert "UTC unless it carries an offset" in capsys.readouterr().err  # the refusal says what to write
