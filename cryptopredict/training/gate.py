"""The quality gate: a new model is published only if its backtest clears these thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptopredict.training.card import horizon_label


@dataclass(frozen=True)
class GateThresholds:
    max_mape_ratio: float = 1.10
    min_coverage: float = 0.70
    max_coverage: float = 0.90

    def describe(self) -> dict[str, float]:
        return {
            "max_mape_ratio": self.max_mape_ratio,
            "min_coverage": self.min_coverage,
            "max_coverage": self.max_coverage,
        }


def find_failures(table: Sequence[dict[str, Any]], thresholds: GateThresholds) -> list[str]:
    """Every failed check, as readable lines; empty when the model passes."""
    failures = []
    for row in table:
        name = horizon_label(row)
        if not row["mape_ratio"] <= thresholds.max_mape_ratio:
            failures.append(f"{name}: MAPE ratio to naive {row['mape_ratio']:.3f} > {thresholds.max_mape_ratio:.2f}")
        coverage = row["model"]["coverage"]
        if coverage is None:
            failures.append(f"{name}: too few backtest errors to calibrate and score the band")
        elif not thresholds.min_coverage <= coverage <= thresholds.max_coverage:
            failures.append(
                f"{name}: band coverage {coverage:.1%} outside "
                f"{thresholds.min_coverage:.0%}-{thresholds.max_coverage:.0%}"
            )
    return failures
