"""A record's summary as text, for train.py, the job summary, release/monitor.py and release/model_card.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptopredict.core.tables import render_fixed_width, render_markdown
from cryptopredict.core.track.records import BucketFigures, Drift, Figures, Rules, TrackSummary

SUMMARY_COLUMNS = ("horizon", "points", "MAPE", "naive MAPE", "ratio", "coverage")


def _cells(label: str, figures: Mapping[str, Any]) -> list[str]:
    def share(value: float | None, digits: int) -> str:
        return "n/a" if value is None else f"{value:.{digits}%}"

    ratio = figures[Figures.mape_ratio]
    return [
        label,
        str(figures[Figures.points]),
        share(figures[Figures.mape], 2),
        share(figures[Figures.naive_mape], 2),
        "n/a" if ratio is None else f"{ratio:.3f}",
        share(figures[Figures.coverage], 1),
    ]


def summary_rows(summary: Mapping[str, Any]) -> list[list[str]]:
    """The summary's rows: each bucket, then overall, then the drift window."""
    drift = summary[TrackSummary.drift]
    rows = [_cells(b[BucketFigures.bucket], b[BucketFigures.figures]) for b in summary[TrackSummary.buckets]]
    rows.append(_cells("all", summary[TrackSummary.overall]))
    rows.append(_cells(f"last {drift[Drift.rules][Rules.window_days]} days", drift[Drift.figures]))
    return rows


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary as a fixed-width table."""
    return render_fixed_width(SUMMARY_COLUMNS, summary_rows(summary))


def format_summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as a Markdown table."""
    return render_markdown(SUMMARY_COLUMNS, summary_rows(summary))


def verdict_line(summary: Mapping[str, Any]) -> str:
    """'BTC/USD: degraded: live coverage 52.0 % ...' or 'BTC/USD: ok (312 points in the last 30 days)'."""
    drift = summary[TrackSummary.drift]
    window = drift[Drift.figures][Figures.points]
    rules = drift[Drift.rules]
    if drift[Drift.status] == "degraded":
        return f"{summary[TrackSummary.symbol]}: degraded: {'; '.join(drift[Drift.reasons])}"
    if drift[Drift.status] == "too few points":
        return (
            f"{summary[TrackSummary.symbol]}: not judged: {window} points in the last {rules[Rules.window_days]} days, "
            f"fewer than {rules[Rules.min_points]}"
        )
    figures = drift[Drift.figures]
    ratio = figures[Figures.mape_ratio]
    return (
        f"{summary[TrackSummary.symbol]}: ok: live coverage {figures[Figures.coverage]:.1%}, MAPE ratio "
        f"{'n/a' if ratio is None else format(ratio, '.3f')} over {window} points in the last "
        f"{rules[Rules.window_days]} days"
    )
