"""The quality gate: a new model is published only if its backtest clears these thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from cryptopredict.manifest import HorizonScores, Scores
from cryptopredict.training.card import horizon_label


@dataclass(frozen=True)
class GateThresholds:
    """The thresholds, named as the card's `gate` names them (manifest.Gate)."""

    max_mape_ratio: float = 1.10
    min_coverage: float = 0.70
    max_coverage: float = 0.90

    def describe(self) -> dict[str, float]:
        """The thresholds as the card's `gate` holds them (Gate.make refuses a name it does not declare)."""
        return asdict(self)


def find_failures(table: Sequence[dict[str, Any]], thresholds: GateThresholds) -> list[str]:
    """Every failed check, as readable lines; empty when the model passes."""
    failures = []
    for row in table:
        name = horizon_label(row)
        ratio = row[HorizonScores.mape_ratio]
        if not ratio <= thresholds.max_mape_ratio:
            failures.append(f"{name}: MAPE ratio to naive {ratio:.3f} > {thresholds.max_mape_ratio:.2f}")
        coverage = row[HorizonScores.model][Scores.coverage]
        if coverage is None:
            failures.append(f"{name}: too few backtest errors to calibrate and score the band")
        elif not thresholds.min_coverage <= coverage <= thresholds.max_coverage:
            failures.append(
                f"{name}: band coverage {coverage:.1%} outside "
                f"{thresholds.min_coverage:.0%}-{thresholds.max_coverage:.0%}"
            )
    return failures
