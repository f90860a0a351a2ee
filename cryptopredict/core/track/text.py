"""A record's summary as text, for train.py, the job summary, release/monitor.py and release/model_card.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptopredict.core.tables import render_fixed_width, render_markdown

SUMMARY_COLUMNS = ("horizon", "points", "MAPE", "naive MAPE", "ratio", "coverage")


def _cells(label: str, figures: Mapping[str, Any]) -> list[str]:
    def share(value: float | None, digits: int) -> str:
        return "n/a" if value is None else f"{value:.{digits}%}"

    ratio = figures["mape_ratio"]
    return [
        label,
        str(figures["points"]),
        share(figures["mape"], 2),
        share(figures["naive_mape"], 2),
        "n/a" if ratio is None else f"{ratio:.3f}",
        share(figures["coverage"], 1),
    ]


def summary_rows(summary: Mapping[str, Any]) -> list[list[str]]:
    """The summary's rows: each bucket, then overall, then the drift window."""
    drift = summary["drift"]
    rows = [_cells(b["bucket"], b["figures"]) for b in summary["buckets"]]
    rows.append(_cells("all", summary["overall"]))
    rows.append(_cells(f"last {drift['rules']['window_days']} days", drift["figures"]))
    return rows


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary as a fixed-width table."""
    return render_fixed_width(SUMMARY_COLUMNS, summary_rows(summary))


def format_summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as a Markdown table."""
    return render_markdown(SUMMARY_COLUMNS, summary_rows(summary))


def verdict_line(summary: Mapping[str, Any]) -> str:
    """'BTC/USD: degraded: live coverage 52.0 % ...' or 'BTC/USD: ok (312 points in the last 30 days)'."""
    drift = summary["drift"]
    window = drift["figures"]["points"]
    rules = drift["rules"]
    if drift["status"] == "degraded":
        return f"{summary['symbol']}: degraded: {'; '.join(drift['reasons'])}"
    if drift["status"] == "too few points":
        return (
            f"{summary['symbol']}: not judged: {window} points in the last {rules['window_days']} days, "
            f"fewer than {rules['min_points']}"
        )
    figures = drift["figures"]
    ratio = figures["mape_ratio"]
    return (
        f"{summary['symbol']}: ok: live coverage {figures['coverage']:.1%}, MAPE ratio "
        f"{'n/a' if ratio is None else format(ratio, '.3f')} over {window} points in the last "
        f"{rules['window_days']} days"
    )
