"""The quality gate: a new model is published only if its backtest clears these thresholds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from cryptopredict.training.card import horizon_label


@dataclass(frozen=True)
class GateThresholds:
    """The thresholds, named as the card's `gate` names them (manifest.Gate)."""

    max_mape_ratio: float = 1.10
    min_coverage: float = 0.70  # the band of the served columns' level (80 %)
    max_coverage: float = 0.90
    # Every level (50, 80 and 95 %) within this of its nominal coverage: 7 points, tighter than the 80 % band's
    # 70-90 %, so both hold for it; widened where the backtest cannot measure coverage that precisely (see
    # coverage_tolerance).
    max_coverage_gap: float = 0.07

    def describe(self) -> dict[str, float]:
        """The thresholds as the card's `gate` holds them (building a Gate refuses a name it does not declare)."""
        return asdict(self)


# Two standard errors: a band calibrated exactly is refused by chance in about 5 % of the checks (each level at
# each horizon), not in half of them, as a fixed 7 points would at 30 days on two years of daily bars.
COVERAGE_Z = 2.0


def coverage_tolerance(nominal: float, independent: int, gap: float) -> float:
    """How far from `nominal` a band's measured coverage may fall: `gap`, or COVERAGE_Z standard errors of the
    share of `independent` outcomes a calibrated band would hold, if that is wider.

    725 daily origins: at 1 day 2 x sqrt(0.5 x 0.5 / 725) = 3.7 points at 50 %, so 7; at 30 days they hold only 24
    independent outcomes, and 2 x sqrt(0.5 x 0.5 / 24) = 20.4 points."""
    return max(gap, COVERAGE_Z * math.sqrt(nominal * (1 - nominal) / max(independent, 1)))


def with_tolerances(table: Sequence[dict[str, Any]], thresholds: GateThresholds) -> list[dict[str, Any]]:
    """The backtest table with each of the model's bands carrying the tolerance the gate judges it by (the card
    records it); the naive forecast's bands keep none."""
    rows = []
    for row in table:
        model = row["model"]
        levels = [{**band, "tolerance": _tolerance(row, band, thresholds.max_coverage_gap)} for band in model["levels"]]
        rows.append({**row, "model": {**model, "levels": levels}})
    return rows


def _tolerance(row: dict[str, Any], band: dict[str, Any], gap: float) -> float:
    return coverage_tolerance(band["nominal"], row["independent"], gap)


# The kinds of failure, as find_failures words them; advice() reads them back.
MAPE_FAILURE = "MAPE ratio to naive"
TOO_FEW_ERRORS = "too few backtest errors to calibrate and score"
COVERAGE_FAILURE = "band coverage"
LONGER_HISTORY = "a longer history (an earlier --start, or more bars in --data)"


def advice(failures: Sequence[str]) -> str:
    """What to try after a refusal, by the kinds of failure: one line."""
    tries = []
    if any(MAPE_FAILURE in failure for failure in failures):
        tries.append(
            f"for the MAPE ratio, {LONGER_HISTORY} or, to accept a model no better than the naive forecast, "
            "--gate-max-mape-ratio"
        )
    if any(TOO_FEW_ERRORS in failure for failure in failures):
        tries.append(f"for too few errors, {LONGER_HISTORY} or a denser backtest (--backtest-refits)")
    if any(COVERAGE_FAILURE in failure for failure in failures):
        tries.append(
            f"for the band's coverage, {LONGER_HISTORY} to calibrate it on more errors, or a wider tolerance "
            "(--gate-max-coverage-gap; --gate-min-coverage/--gate-max-coverage for the default band)"
        )
    return "to try: " + "; ".join(tries) if tries else ""


def find_failures(table: Sequence[dict[str, Any]], thresholds: GateThresholds) -> list[str]:
    """Every failed check, as readable lines; empty when the model passes."""
    failures = []
    for row in table:
        name = horizon_label(row)
        ratio = row["mape_ratio"]
        if not ratio <= thresholds.max_mape_ratio:
            failures.append(f"{name}: {MAPE_FAILURE} {ratio:.3f} > {thresholds.max_mape_ratio:.2f}")
        coverage = row["model"]["coverage"]
        if coverage is None:
            failures.append(f"{name}: {TOO_FEW_ERRORS} the band")
        elif not thresholds.min_coverage <= coverage <= thresholds.max_coverage:
            failures.append(
                f"{name}: {COVERAGE_FAILURE} {coverage:.1%} outside "
                f"{thresholds.min_coverage:.0%}-{thresholds.max_coverage:.0%}"
            )
        failures += _level_failures(name, row, thresholds.max_coverage_gap)
    return failures


def _level_failures(name: str, row: dict[str, Any], gap: float) -> list[str]:
    """Each level's band whose coverage is unknown, or further than its tolerance (`gap` at least, see
    coverage_tolerance) from its nominal coverage."""
    failures = []
    for band in row["model"]["levels"]:
        level, nominal, coverage = band["level"], band["nominal"], band["coverage"]
        if coverage is None:
            if row["model"]["coverage"] is not None:  # else already said, for every level
                failures.append(f"{name}: {TOO_FEW_ERRORS} the {level}% band")
        # The epsilon absorbs float error only: 0.73 - 0.80 is -0.0700...006.
        elif not abs(coverage - nominal) <= (tolerance := _tolerance(row, band, gap)) + 1e-12:
            failures.append(
                f"{name}: {level}% {COVERAGE_FAILURE} {coverage:.2%} outside "
                f"{max(nominal - tolerance, 0.0):.1%}-{min(nominal + tolerance, 1.0):.1%} "
                f"({_why(row, tolerance, gap)})"
            )
    return failures


def _why(row: dict[str, Any], tolerance: float, gap: float) -> str:
    """'nominal ± 7 points', or where sampling widened it, 'nominal ± 20.4 points: 2 standard errors over 24
    independent 30-day outcomes'."""
    if tolerance == gap:
        return f"nominal ± {gap * 100:g} points"
    n, horizon, unit = row["independent"], row["horizon"], row["unit"]
    return (
        f"nominal ± {tolerance * 100:.1f} points: {COVERAGE_Z:g} standard errors over {n} independent "
        f"{horizon}-{unit} outcome{'' if n == 1 else 's'}"
    )
