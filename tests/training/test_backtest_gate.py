"""The gate on the backtest's rows: every failed check named, every band level held within its tolerance of its
nominal coverage (seven points, or two standard errors over the independent outcomes).
"""

from __future__ import annotations

import math

import pytest

from cryptopredict.core.forecast import LEVELS
from cryptopredict.core.timeframe import DAY, HOUR
from cryptopredict.training.backtest_scores import independent_outcomes
from cryptopredict.training.gate import COVERAGE_Z, GateThresholds, coverage_tolerance, find_failures, with_tolerances


def row(
    horizon: int,
    ratio: float,
    coverage: float | None,
    levels: dict[int, float | None] | None = None,
    independent: int = 10_000,  # enough outcomes that every level's tolerance is the 7-point gap
) -> dict[str, object]:
    """A backtest row; each level's coverage is its nominal one unless given (the 80 % band's is `coverage`)."""
    shares = {50: 0.5, 80: coverage, 95: 0.95, **(levels or {})}
    bands = [{"level": lv, "nominal": lv / 100, "coverage": shares[lv], "width": 0.1} for lv in LEVELS]
    model = {"coverage": coverage, "levels": bands}
    return {"horizon": horizon, "unit": "day", "independent": independent, "mape_ratio": ratio, "model": model}


def test_gate_passes_a_good_model() -> None:
    assert find_failures([row(1, 1.0, 0.8), row(30, 1.1, 0.87)], GateThresholds()) == []
    # The 80 % band's own 70-90 % still holds, and inside it every level's 7 points: 90 % is now too wide.
    assert find_failures([row(30, 1.0, 0.9)], GateThresholds()) == [
        "30 days: 80% band coverage 90.00% outside 73.0%-87.0% (nominal ± 7 points)"
    ]


def test_gate_names_every_failed_check() -> None:
    failures = find_failures([row(1, 1.2, 0.8), row(7, 1.0, 0.75), row(30, 1.0, None)], GateThresholds())
    assert failures == [
        "1 day: MAPE ratio to naive 1.200 > 1.10",
        "30 days: too few backtest errors to calibrate and score the band",
    ]
    failures = find_failures([row(7, 1.0, 0.65, {80: 0.65})], GateThresholds())
    assert failures == [
        "7 days: band coverage 65.0% outside 70%-90%",
        "7 days: 80% band coverage 65.00% outside 73.0%-87.0% (nominal ± 7 points)",
    ]


def test_every_level_is_gated_within_seven_points_of_its_nominal_coverage() -> None:
    assert GateThresholds().max_coverage_gap == 0.07
    inside = {50: 0.43, 95: 1.0}  # both ends of the allowed ranges pass: 43-57 % and 88-100 %
    assert find_failures([row(1, 1.0, 0.73, inside), row(7, 1.0, 0.87, {50: 0.57, 95: 0.88})], GateThresholds()) == []
    failures = find_failures([row(1, 1.0, 0.8, {50: 0.4286}), row(30, 1.0, 0.72, {95: 0.8791})], GateThresholds())
    assert failures == [
        "1 day: 50% band coverage 42.86% outside 43.0%-57.0% (nominal ± 7 points)",
        # 72 % passes the 80 % band's own 70-90 %, not the 7 points every level must keep.
        "30 days: 80% band coverage 72.00% outside 73.0%-87.0% (nominal ± 7 points)",
        "30 days: 95% band coverage 87.91% outside 88.0%-100.0% (nominal ± 7 points)",
    ]
    no_errors = find_failures([row(7, 1.0, 0.8, {50: None})], GateThresholds())
    assert no_errors == ["7 days: too few backtest errors to calibrate and score the 50% band"]
    assert find_failures([row(1, 1.0, 0.8, {50: 0.3})], GateThresholds(max_coverage_gap=0.25)) == []


def test_independent_outcomes_count_non_overlapping_windows() -> None:
    assert independent_outcomes(725, DAY, 1) == 725
    assert independent_outcomes(725, DAY, 7) == 103
    assert independent_outcomes(725, DAY, 30) == 24  # 725 / 30 = 24.2 whole 30-day windows
    # Hourly origins sit six bars apart: 1-hour outcomes never overlap, 720-hour ones span 120 origins each.
    assert independent_outcomes(2_900, HOUR, 1) == independent_outcomes(2_900, HOUR, 6) == 2_900
    assert independent_outcomes(2_900, HOUR, 720) == 24
    assert independent_outcomes(0, DAY, 30) == 0


def test_the_coverage_tolerance_is_seven_points_or_two_standard_errors() -> None:
    # 1 day, 725 origins: 2 x sqrt(0.25 / 725) = 3.7 points at 50 %, under the 7-point gap.
    assert coverage_tolerance(0.5, 725, 0.07) == 0.07
    # 30 days, 725 origins: 24 independent outcomes, 2 x sqrt(0.25 / 24) = 20.4 points at 50 %, 16.3 at 80 %.
    assert (
        coverage_tolerance(0.5, 24, 0.07) == pytest.approx(2 * math.sqrt(0.25 / 24)) == pytest.approx(0.2041, abs=1e-4)
    )
    assert (
        coverage_tolerance(0.8, 24, 0.07) == pytest.approx(2 * math.sqrt(0.16 / 24)) == pytest.approx(0.1633, abs=1e-4)
    )
    assert coverage_tolerance(0.95, 24, 0.07) == pytest.approx(2 * math.sqrt(0.0475 / 24))
    assert coverage_tolerance(0.95, 725, 0.07) == 0.07
    assert coverage_tolerance(0.5, 0, 0.07) == 1.0  # no independent outcome: counted as one, nothing is refused
    assert COVERAGE_Z == 2.0


def test_a_band_is_refused_only_beyond_its_widened_tolerance() -> None:
    # ETH/USD at 30 days on the embedded history: 24 independent outcomes, 50 % band 62.5 %, 80 % band 89.8 %.
    eth = row(30, 1.0, 0.898, {50: 0.625, 95: 0.977}, independent=24)
    assert find_failures([eth], GateThresholds()) == []
    # The same shares measured on 10,000 independent outcomes would be miscalibrated: 7 points apply.
    assert find_failures([row(30, 1.0, 0.898, {50: 0.625, 95: 0.977})], GateThresholds()) == [
        "30 days: 50% band coverage 62.50% outside 43.0%-57.0% (nominal ± 7 points)",
        "30 days: 80% band coverage 89.80% outside 73.0%-87.0% (nominal ± 7 points)",
    ]
    failures = find_failures([row(30, 1.0, 0.8, {50: 0.71, 95: 0.85}, independent=24)], GateThresholds())
    assert failures == [
        "30 days: 50% band coverage 71.00% outside 29.6%-70.4% "
        "(nominal ± 20.4 points: 2 standard errors over 24 independent 30-day outcomes)",
        "30 days: 95% band coverage 85.00% outside 86.1%-100.0% "
        "(nominal ± 8.9 points: 2 standard errors over 24 independent 30-day outcomes)",
    ]
    # The 80 % band keeps its own 70-90 % however wide its sampling tolerance (16.3 points here).
    assert find_failures([row(30, 1.0, 0.93, independent=24)], GateThresholds()) == [
        "30 days: band coverage 93.0% outside 70%-90%"
    ]


def test_the_gate_records_each_models_band_tolerance_in_the_table() -> None:
    table = [row(1, 1.0, 0.8, independent=725), row(30, 1.0, 0.8, independent=24)]
    judged = with_tolerances(table, GateThresholds())
    assert [[b["tolerance"] for b in r["model"]["levels"]] for r in judged] == [
        [0.07, 0.07, 0.07],
        [coverage_tolerance(n / 100, 24, 0.07) for n in LEVELS],
    ]
    assert all("tolerance" not in b for r in table for b in r["model"]["levels"])  # the backtest's rows untouched
