"""The release rehearsal's steps a to e (rehearsals/release_steps.py describes them), one function each, and the
verdict line each prints."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from cryptopredict.core.dates import format_utc, parse_utc
from cryptopredict.training.barstore import OVERLAP_BARS
from rehearsals.runs import FIRST_RUN, SIX_HOURS, Run, git
from tests.fakes.alpaca import earliest_starts

if TYPE_CHECKING:  # release_steps.py runs these steps: imported for the annotations only
    from rehearsals.release_steps import Rehearsal

STALLED_VERIFY_SECONDS = 30  # step e's verify, which is meant to run out


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


def worst_ratios(manifest: dict[str, Any]) -> dict[str, float]:
    """Each pair's highest backtest MAPE ratio to naive, over its gated horizons."""
    return {
        symbol: max(row["mape_ratio"] for row in card["backtest"]["horizons"])
        for symbol, card in manifest["pairs"].items()
    }


def rehearse_push(r: Rehearsal, verdicts: Verdicts, now: dt.datetime) -> Run:
    """a. a push to main: tagged, pushed, deployed and verified."""
    began = time.monotonic()
    a = r.release("a", now)
    served = a.pairs  # the pairs the later steps follow
    dropped = a.manifest.get("run", {}).get("dropped", {})
    left_out = "".join(f"; {symbol} left out ({reason[:70]}…)" for symbol, reason in dropped.items())
    tags_a = {tag: r.registry_digest(tag) for tag in ("latest", "0.1.0", f"0.1.0-{a.outputs.get('stamp')}")}
    verdicts.check(
        "a. push to main",
        [
            (a.failed_step is None, "every step passed"),
            ("v0.1.0" in git(r.work / "origin.git", "tag", "--list").split(), "v0.1.0 pushed to origin"),
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
    return a


def rehearse_scheduled_run(r: Rehearsal, verdicts: Verdicts, now: dt.datetime, a: Run) -> Run:
    """b. a scheduled run six hours later: new bars only, a new model, the tags moved."""
    began = time.monotonic()
    b = r.release("b", now)
    served = a.pairs
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
    return b


def rehearse_one_pair_failing(r: Rehearsal, verdicts: Verdicts, now: dt.datetime, a: Run, b: Run) -> Run:
    """c. one pair failing its gate: it keeps its previous fit while the others refit."""
    began = time.monotonic()
    ratios = worst_ratios(a.manifest) if a.manifest else {}
    ordered = sorted(ratios, key=ratios.__getitem__)
    weak = ordered[-1] if ordered else ""
    limit = (ratios[ordered[-1]] + ratios[ordered[-2]]) / 2 if len(ordered) > 1 else 0.0
    c1 = r.release("c1", now, f"--refit-after-hours 0 --gate-max-mape-ratio {limit:.4f}")
    served = a.pairs
    cards_a, cards_b = a.manifest.get("pairs", {}), b.manifest.get("pairs", {})
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
    return c1


def rehearse_every_pair_failing(r: Rehearsal, verdicts: Verdicts, now: dt.datetime, c1: Run) -> None:
    """c. every pair failing its gate: nothing pushed or deployed."""
    began = time.monotonic()
    deploys = len(r.render_status().get("deploys", []))
    c2 = r.release("c2", now, "--refit-after-hours 0 --gate-max-mape-ratio 0.5")
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


def rehearse_registry_down(r: Rehearsal, verdicts: Verdicts, now: dt.datetime, c1: Run) -> None:
    """d. the registry down when the previous model is pulled: the run fails loudly."""
    began = time.monotonic()
    r.stop_registry()
    d = r.release("d", now)
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


def rehearse_hook_refusing(r: Rehearsal, verdicts: Verdicts, now: dt.datetime, c1: Run) -> None:
    """e. the deploy hook answering 503: the previous deployment keeps serving."""
    began = time.monotonic()
    r.render_control(hook_status=503)
    e1 = r.release("e1", now)
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


def rehearse_stalled_deploy(r: Rehearsal, verdicts: Verdicts, now: dt.datetime, c1: Run) -> None:
    """e. a deployed container that never reports the new version: verify fails within its stated time."""
    began = time.monotonic()
    r.render_control(break_deploys=True)
    e2 = r.release("e2", now, verify_seconds=STALLED_VERIFY_SECONDS)
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


def rehearse(r: Rehearsal) -> int:
    """Steps a to e in order, each run six hours after the one before (d at c2's hour); the steps that failed."""
    verdicts = Verdicts()
    now = FIRST_RUN
    a = rehearse_push(r, verdicts, now)
    now += SIX_HOURS
    b = rehearse_scheduled_run(r, verdicts, now, a)
    now += SIX_HOURS
    c1 = rehearse_one_pair_failing(r, verdicts, now, a, b)
    now += SIX_HOURS
    rehearse_every_pair_failing(r, verdicts, now, c1)
    rehearse_registry_down(r, verdicts, now, c1)
    now += SIX_HOURS
    rehearse_hook_refusing(r, verdicts, now, c1)
    now += SIX_HOURS
    rehearse_stalled_deploy(r, verdicts, now, c1)
    return verdicts.failed
