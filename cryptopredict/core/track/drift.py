"""The drift verdict: a record's newest points judged by its drift rules."""

from __future__ import annotations

import bisect
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from cryptopredict.core.dates import format_utc
from cryptopredict.core.track.records import DAY_SECONDS, Drift, DriftRules, Rules
from cryptopredict.core.typed_json import build

if TYPE_CHECKING:
    from cryptopredict.core.track.record import TrackRecord


def judge_drift(record: TrackRecord) -> dict[str, Any]:
    """The verdict on the newest `window_days` of the record's points (Drift)."""
    rules = record.drift_rules
    start = None
    members: range = range(0)
    if record.date:
        start = bisect.bisect_right(record.date, record.date[-1] - rules.window_days * DAY_SECONDS)
        members = range(start, len(record.date))
    figures = record.tally(members).figures()
    reasons: list[str] = []
    if figures["points"] < rules.min_points:
        status = "too few points"
    else:
        reasons = broken_rules(rules, record.level, figures)
        status = "degraded" if reasons else "ok"
    return build(
        Drift,
        status=status,
        degraded=status == "degraded",
        window_start=None if start is None else format_utc(record.date[start]),
        figures=figures,
        reasons=reasons,
        rules=build(Rules, **asdict(rules)),
    )


def broken_rules(rules: DriftRules, level: int, figures: dict[str, Any]) -> list[str]:
    """Every rule the window's `figures` break, readable, for the band of `level`."""
    coverage, ratio = figures["coverage"], figures["mape_ratio"]
    reasons = []
    if not rules.min_coverage <= coverage <= rules.max_coverage:
        reasons.append(
            f"live coverage {coverage:.1%} over the last {rules.window_days} days is outside "
            f"{rules.min_coverage:.0%}-{rules.max_coverage:.0%} (nominal {level}%)"
        )
    if ratio is not None and ratio > rules.max_mape_ratio:
        reasons.append(
            f"live MAPE ratio {ratio:.3f} over the last {rules.window_days} days exceeds {rules.max_mape_ratio:g}"
        )
    return reasons
