"""The workflow rehearsal's scenarios a to f (rehearsals/workflow.py describes them), one function each, and the
verdict line each prints."""

from __future__ import annotations

import datetime as dt
import re
import time
import urllib.request
from typing import TYPE_CHECKING

from rehearsals.runs import FIRST_RUN, SIX_HOURS, git

if TYPE_CHECKING:  # workflow.py runs these scenarios: imported for the annotations only
    from rehearsals.workflow import ActRun, WorkflowRehearsal


class Verdicts:
    """One line per scenario, and the count of failures."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, bool, float]] = []

    def check(self, label: str, checks: list[tuple[bool, str]], runs: list[ActRun]) -> None:
        failures = [what for ok, what in checks if not ok]
        seconds = sum(run.seconds for run in runs)
        detail = "; ".join(failures) if failures else "; ".join(what for _, what in checks)
        ran = ", ".join(f"{run.name}: {run.summary()} {run.seconds:.0f} s" for run in runs)
        self.lines.append((label, not failures, seconds))
        print(f"{'FAIL' if failures else 'PASS'} {label} ({seconds:.0f} s): {detail} [{ran}]", flush=True)


def succeeded(run: ActRun, *skipped: str) -> bool:
    """act exited 0 and every job it ran succeeded; `skipped` jobs must not have run."""
    return run.returncode == 0 and set(run.jobs.values()) == {"succeeded"} and not set(skipped) & set(run.jobs)


def create_service(r: WorkflowRehearsal) -> None:
    """The README's Blueprint step: Render creates the service and deploys its image, `:latest`, once."""
    urllib.request.urlopen(urllib.request.Request(r.hook_url, method="POST"), timeout=30).close()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not r.live_digest().startswith("sha256:"):
        time.sleep(2)


def logged_previous_model(run: ActRun) -> str:
    """The model version previous-model said was being served, from the run's log."""
    found = re.search(r"release: the model being served, (\S+), from", run.log.read_text(errors="replace"))
    return found[1] if found else ""


def rehearse_from_zero(r: WorkflowRehearsal, verdicts: Verdicts, now: dt.datetime) -> tuple[ActRun, str]:
    """a. The README's "Render, from zero", in its order: COLD_START=true and no Render settings for the first run
    (a push: the whole test suite runs); then the Blueprint (the service on :latest); then the hook and URL."""
    a = r.act_run("a", "push", now, {"COLD_START": "true"}, {})
    digest_a = r.registry_digest("latest")
    create_service(r)
    verdicts.check(
        "a. from zero, the README's setup in its order",
        [
            (succeeded(a, "deploy"), f"the first run succeeded without Render settings, deploying nothing: {a.jobs}"),
            ("v0.1.0" in git(r.work / "origin.git", "tag", "--list").split(), "v0.1.0 pushed to origin"),
            (
                digest_a.startswith("sha256:") and r.registry_digest(f"0.1.0-{now:%Y%m%d%H%M%S}") == digest_a,
                "its image pushed, and tagged latest (no service to verify yet)",
            ),
            (
                bool(a.model_version) and r.served_version() == a.model_version,
                f"the service created from :latest answers the model the run built, {a.model_version or '-'}",
            ),
        ],
        [a],
    )
    return a, digest_a


def rehearse_new_bars(
    r: WorkflowRehearsal, verdicts: Verdicts, now: dt.datetime, a: ActRun, digest_a: str
) -> tuple[ActRun, str]:
    """b. a scheduled run with new bars: trains, pushes, deploys, verifies, promotes."""
    settings_vars, settings_secrets = r.render_settings
    b = r.act_run("b", "schedule", now, settings_vars, settings_secrets)
    digest_b = r.registry_digest("latest")
    verdicts.check(
        "b. scheduled run with new bars",
        [
            (succeeded(b, "test"), "every job succeeded (no test suite on a schedule)"),
            (b.model_version not in ("", a.model_version), f"a new model {b.model_version}"),
            (digest_b not in (digest_a, "") and r.live_digest() == digest_b, "deployed by digest, then latest moved"),
            (r.served_version() == b.model_version, "the service answers it"),
            (logged_previous_model(b) == a.model_version, "trained on from the model served"),
        ],
        [b],
    )
    return b, digest_b


def rehearse_no_new_bar(
    r: WorkflowRehearsal, verdicts: Verdicts, now: dt.datetime, b: ActRun, digest_b: str
) -> tuple[ActRun, str]:
    """c. a scheduled run in the same hour: the image carries the served model, nothing is deployed."""
    settings_vars, settings_secrets = r.render_settings
    tags_before = set(r.registry_tags())
    c = r.act_run("c", "schedule", now, settings_vars, settings_secrets)
    stamp_c = f"0.1.0-{now:%Y%m%d%H%M%S}"
    digest_c = r.registry_digest(stamp_c)
    verdicts.check(
        "c. scheduled run with no new bar",
        [
            (succeeded(c, "test", "deploy"), f"succeeded, deploying nothing: {c.jobs}"),
            (c.model_version == b.model_version, f"the image carries the served model {b.model_version}"),
            (
                r.registry_digest("latest") == digest_b and r.served_version() == b.model_version,
                "latest and the service unchanged",
            ),
            (set(r.registry_tags()) - tags_before == {stamp_c}, f"one new stamp tag, {stamp_c}"),
        ],
        [c],
    )
    return c, digest_c


def rehearse_rerun(
    r: WorkflowRehearsal, verdicts: Verdicts, now: dt.datetime, b: ActRun, digest_b: str, c: ActRun, digest_c: str
) -> None:
    """d. run c re-run: its stamp tag does not move; the re-run's image is tagged -r2."""
    settings_vars, settings_secrets = r.render_settings
    stamp_c = f"0.1.0-{now:%Y%m%d%H%M%S}"
    d = r.act_run("d", "schedule", now, settings_vars, settings_secrets, rerun=c)
    verdicts.check(
        "d. run c re-run (attempt 2)",
        [
            (succeeded(d, "test", "deploy"), f"succeeded, deploying nothing: {d.jobs}"),
            (r.registry_digest(stamp_c) == digest_c, f"{stamp_c} (never moves) still on {digest_c[7:19]}"),
            (r.registry_digest(f"{stamp_c}-r2").startswith("sha256:"), f"the re-run's image is {stamp_c}-r2"),
            (
                r.registry_digest("latest") == digest_b and r.served_version() == b.model_version,
                "latest and the service unchanged",
            ),
        ],
        [d],
    )


def rehearse_gate_refusing(
    r: WorkflowRehearsal, verdicts: Verdicts, now: dt.datetime, b: ActRun, digest_b: str
) -> None:
    """e. the gate refusing every pair: the build fails, nothing is pushed, the old deployment keeps serving."""
    settings_vars, settings_secrets = r.render_settings
    tags_before = set(r.registry_tags())
    refuse = {"TRAIN_OPTIONS": "--refit-after-hours 0 --gate-max-mape-ratio 0.5"}  # no pair passes
    e = r.act_run("e", "schedule", now, {**settings_vars, **refuse}, settings_secrets)
    verdicts.check(
        "e. the gate refusing every pair",
        [
            (e.returncode != 0 and e.jobs.get("build") == "failed", f"the run failed at the build: {e.jobs}"),
            (set(r.registry_tags()) == tags_before, "nothing pushed"),
            (
                r.registry_digest("latest") == digest_b and r.served_version() == b.model_version,
                "latest and the service unchanged: the old deployment keeps serving",
            ),
        ],
        [e],
    )


def rehearse_failed_deploys(r: WorkflowRehearsal, verdicts: Verdicts, now: dt.datetime, b: ActRun) -> None:
    """f. the hook answering 503, then a deploy that never reports the new model, then the next run."""
    settings_vars, settings_secrets = r.render_settings
    now += SIX_HOURS
    r.render_control(hook_status=503)
    f1 = r.act_run("f1", "schedule", now, settings_vars, settings_secrets)
    r.render_control(hook_status=None)
    now += SIX_HOURS
    r.render_control(break_deploys=True)
    f2 = r.act_run("f2", "schedule", now, settings_vars, settings_secrets)
    r.render_control(break_deploys=False)
    now += SIX_HOURS
    f3 = r.act_run("f3", "schedule", now, settings_vars, settings_secrets)
    verdicts.check(
        "f. the hook answering 503, then a deploy that never reports the new model, then the next run",
        [
            (f1.returncode != 0 and f1.jobs.get("deploy") == "failed", f"the hook's 503 failed the run: {f1.jobs}"),
            (f2.returncode != 0 and f2.jobs.get("deploy") == "failed", f"verify failed the run: {f2.jobs}"),
            ("promote" not in f1.jobs and "promote" not in f2.jobs, "latest not moved by either"),
            (logged_previous_model(f3) == b.model_version, f"the next run trained on from {b.model_version}"),
            (succeeded(f3, "test") and r.served_version() == f3.model_version, "and deployed its model"),
        ],
        [f1, f2, f3],
    )


def rehearse(r: WorkflowRehearsal) -> Verdicts:
    """Scenarios a to f in order, on the runs' clock."""
    verdicts = Verdicts()
    now = FIRST_RUN
    a, digest_a = rehearse_from_zero(r, verdicts, now)
    now += SIX_HOURS
    b, digest_b = rehearse_new_bars(r, verdicts, now, a, digest_a)
    now += dt.timedelta(minutes=10)  # the same hour: no bar has closed since b's instant
    c, digest_c = rehearse_no_new_bar(r, verdicts, now, b, digest_b)
    rehearse_rerun(r, verdicts, now, b, digest_b, c, digest_c)
    now += SIX_HOURS
    rehearse_gate_refusing(r, verdicts, now, b, digest_b)
    rehearse_failed_deploys(r, verdicts, now, b)
    return verdicts
