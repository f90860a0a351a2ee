"""The model card as text: the backtest table for a terminal, and in Markdown for a job summary.

Standard library only, so a CI step can print it without the training dependencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cryptopredict.core.forecast import LEVELS
from cryptopredict.core.tables import render_fixed_width, render_markdown
from cryptopredict.core.timeframe import TIMEFRAMES

# The model's band coverage at every level (the nominal in the header), then the default band's naive coverage,
# and last how far from nominal the gate let each level's coverage fall, in points (50 / 80 / 95 %).
COLUMNS = (
    "horizon",
    "model MAPE",
    "naive MAPE",
    "ratio",
    "MASE",
    *(f"{level}% cover" for level in LEVELS),
    "naive cover",
    "model width",
    "gate ± points",
)


def _percent(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


_BY_UNIT = {timeframe.unit: timeframe for timeframe in TIMEFRAMES.values()}


def horizon_label(row: dict[str, Any]) -> str:
    """A backtest row's horizon: '1 day', '7 days', '720 hours (30 days)' (see Timeframe.horizon_label)."""
    return _BY_UNIT[row["unit"]].horizon_label(row["horizon"])


def _row_cells(row: dict[str, Any]) -> list[str]:
    model, naive = row["model"], row["naive"]
    return [
        horizon_label(row),
        f"{model['mape']:.2%}",
        f"{naive['mape']:.2%}",
        f"{row['mape_ratio']:.3f}",
        f"{model['mase']:.3f}",
        *(_percent(band["coverage"], 1) for band in model["levels"]),
        _percent(naive["coverage"], 1),
        _percent(model["width"], 1),
        "/".join(_points(band["tolerance"]) for band in model["levels"]),
    ]


def _points(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.3g}"


def format_table(table: Sequence[dict[str, Any]]) -> str:
    """The backtest as a fixed-width table for a terminal or a job summary."""
    return render_fixed_width(COLUMNS, [_row_cells(r) for r in table])


def format_markdown(table: Sequence[dict[str, Any]]) -> str:
    """The same table in Markdown (for GitHub's job summary)."""
    return render_markdown(COLUMNS, [_row_cells(r) for r in table])
