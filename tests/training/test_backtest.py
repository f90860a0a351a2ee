"""The backtest's bookkeeping, the conformal band and the gate, on series small enough to check by hand."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from cryptopredict.core.forecast import LEVELS, BandQuantiles
from cryptopredict.core.timeframe import DAY, HOUR
from cryptopredict.training import backtest as bt
from cryptopredict.training import backtest_scores
from cryptopredict.training.backtest import (
    BacktestError,
    BacktestPlan,
    OriginPath,
    ServiceForecaster,
    calibrate_band,
    choose_origins,
    run_origins,
    score,
)
from cryptopredict.training.backtest_scores import independent_outcomes
from cryptopredict.training.bars import read_embedded_bars
from cryptopredict.training.gate import COVERAGE_Z, GateThresholds, coverage_tolerance, find_failures, with_tolerances
from cryptopredict.training.model import ModelSpec

ONE_DAY = pd.Timedelta(days=1)


def path(position: int, close: float, actual: list[float], drift: list[float] | None = None) -> OriginPath:
    return OriginPath(
        position=position,
        fit=position,
        origin=pd.Timestamp("2024-01-01") + ONE_DAY * position,
        close=close,
        drift=np.array(drift or [0.0] * len(actual)),
        actual=np.array(actual, dtype=float),
        scored=True,
    )


def walk(bars: int, sigma: float, seed: int, freq: str = "D") -> pd.DataFrame:
    """A seeded geometric random walk of `bars` closes, `sigma` per bar, one bar per `freq` from 2020-01-01."""
    rng = random.Random(seed)
    closes = [30_000.0]
    for _ in range(bars - 1):
        closes.append(closes[-1] * math.exp(rng.gauss(0.0, sigma)))
    return pd.DataFrame({"ds": pd.date_range("2020-01-01", periods=bars, freq=freq), "close": closes})


def test_naive_scores_by_hand() -> None:
    paths = [path(0, 100.0, [110.0]), path(1, 200.0, [190.0])]
    [scores] = [backtest_scores._score(paths, None, 1, calibration_size=365)]
    assert scores["mape"] == pytest.approx((0.10 / 1.10 + 0.10 / 1.90) / 2)  # |100-110|/110, |200-190|/190
    assert scores["mae"] == pytest.approx(10.0)
    assert scores["origins"] == 2
    assert scores["coverage"] == {50: None, 80: None, 95: None}  # too few earlier errors to calibrate a band


def test_model_forecast_applies_the_damped_drift() -> None:
    # Prophet expects +log(1.21) over one bar; damped by half that is exactly +10 %: 100 -> 110, a perfect hit.
    paths = [path(0, 100.0, [110.0], drift=[math.log(1.21)])]
    assert backtest_scores._score(paths, 0.5, 1, calibration_size=365)["mape"] == pytest.approx(0.0, abs=1e-12)
    assert backtest_scores._score(paths, 1.0, 1, calibration_size=365)["mape"] == pytest.approx(0.1)  # 121 vs 110


def test_no_origin_sees_a_bar_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    bars = walk(400, 0.02, seed=1)
    seen_last: dict[int, pd.Timestamp] = {}
    real_fit = bt.fit_model

    def recording_fit(seen: pd.DataFrame, spec: ModelSpec) -> object:
        seen_last[len(seen) - 1] = seen["ds"].iloc[-1]
        return real_fit(seen, spec)

    monkeypatch.setattr(bt, "fit_model", recording_fit)
    plan = BacktestPlan(scored=24, warmup=6, span_days=150)
    paths = run_origins(bars, ServiceForecaster(ModelSpec()), DAY, plan, workers=1)
    fits = sorted({p.fit for p in paths})
    assert len(fits) == 30
    assert sorted(seen_last) == fits  # each fit saw exactly the bars up to its refit origin
    for fit, last_seen in seen_last.items():
        assert last_seen == bars["ds"].iloc[fit]
    for p in paths:
        assert p.fit <= p.position  # a forecast only uses a fit made at or before its origin
        assert p.close == bars["close"].iloc[p.position]
        assert list(p.actual[:3]) == list(bars["close"].iloc[p.position + 1 : p.position + 4])
    assert sum(p.scored for p in paths) >= 150 - 30


def test_origins_cover_the_last_two_years_by_default() -> None:
    bars = read_embedded_bars("BTC/USD", DAY)
    bars = bars[bars["ds"] >= "2021-01-01"].reset_index(drop=True)
    plan = BacktestPlan()
    positions = choose_origins(bars, plan, 30, ONE_DAY)
    scored = positions[-plan.scored :]
    assert len(scored) == 120
    assert bars["ds"].iloc[scored[-1]] == bars["ds"].iloc[-1] - 30 * ONE_DAY
    assert (bars["ds"].iloc[scored[-1]] - bars["ds"].iloc[scored[0]]).days >= 729
    assert positions == sorted(set(positions))


def test_too_short_a_history_is_a_clear_error() -> None:
    with pytest.raises(BacktestError, match=r"the backtest needs history from .* the history starts 2020-01-01"):
        choose_origins(walk(300, 0.02, seed=2), BacktestPlan(), 30, ONE_DAY)


@pytest.mark.parametrize("timeframe", [DAY, HOUR])
def test_bars_needed_is_exactly_what_choose_origins_accepts(timeframe: bt.Timeframe) -> None:
    step = pd.Timedelta(seconds=timeframe.seconds)
    for plan in (BacktestPlan.for_timeframe(timeframe), BacktestPlan.smallest(timeframe)):
        needed = plan.bars_needed(timeframe)
        bars = walk(needed, 0.01, seed=4, freq=f"{timeframe.seconds}s")
        assert len(choose_origins(bars, plan, timeframe.calibrated_bars, step)) >= bt.MIN_SCORED_REFITS
        with pytest.raises(BacktestError):
            choose_origins(bars.iloc[1:].reset_index(drop=True), plan, timeframe.calibrated_bars, step)


def test_the_default_plan_needs_about_three_years_of_daily_bars() -> None:
    # 60 bars before the first fit, 60 warm-up refits (~368 days), 730 scored days, 30 days of outcomes.
    assert BacktestPlan.for_timeframe(DAY).bars_needed(DAY) == 1190
    assert BacktestPlan.smallest(DAY) == BacktestPlan(scored=24, warmup=12, span_days=120)
    assert BacktestPlan.smallest(DAY).bars_needed(DAY) == 274


def test_a_long_history_gets_the_default_plan() -> None:
    bars = walk(BacktestPlan().bars_needed(DAY), 0.02, seed=5)
    assert bt.fit_plan(bars, DAY, None) == (BacktestPlan(), None)


def test_a_short_history_gets_the_largest_smaller_plan_that_fits() -> None:
    bars = walk(500, 0.02, seed=5)  # 2020-01-01 to 2021-05-14
    plan, note = bt.fit_plan(bars, DAY, None)
    step = pd.Timedelta(days=1)
    assert BacktestPlan.smallest(DAY).span_days < plan.span_days < BacktestPlan().span_days
    assert plan.scored == round(120 * plan.span_days / 730) and plan.warmup == plan.scored // 2
    assert plan.bars_needed(DAY) <= 500
    choose_origins(bars, plan, 30, step)
    # One day more would not fit: it is the largest.
    with pytest.raises(BacktestError):
        choose_origins(bars, BacktestPlan().shrunk(DAY, plan.span_days + 1), 30, step)
    assert note == (
        "the history has 500 daily bars (2020-01-01 to 2021-05-14), fewer than the default backtest's 1190: "
        f"backtest shrunk to {plan.scored} scored and {plan.warmup} warm-up refits over {plan.span_days} days, "
        "30 days of outcomes after the last origin, 60 bars before the first fit"
    )


def test_a_history_below_the_smallest_plan_is_refused_with_the_number() -> None:
    bars = walk(200, 0.02, seed=5)
    with pytest.raises(BacktestError) as caught:
        bt.fit_plan(bars, DAY, None)
    message = str(caught.value)
    assert message.startswith(
        "the history has 200 daily bars (2020-01-01 to 2020-07-18); the backtest needs at least 274 "
    )
    assert message.endswith(": give it a longer history")  # the file starts after --start: no earlier --start
    assert "--backtest-span-days" not in message  # a shorter span would not help: the smallest plan is refused
    with pytest.raises(BacktestError, match=r"give it more history \(an earlier --start\)$"):
        bt.fit_plan(bars, DAY, None, start=pd.Timestamp("2020-01-01"))


def test_an_explicit_plan_is_kept_or_refused_never_shrunk() -> None:
    plan = BacktestPlan(scored=24, warmup=12, span_days=120)
    bars = walk(400, 0.02, seed=5)
    assert bt.fit_plan(bars, DAY, plan) == (plan, None)
    with pytest.raises(BacktestError, match=r"needs at least 1190 .*a shorter --backtest-span-days, or leave out"):
        bt.fit_plan(bars, DAY, BacktestPlan())


def test_conformal_band_recovers_a_known_random_walk() -> None:
    sigma, days = 0.02, 2_400
    closes = walk(days, sigma, seed=3)["close"].to_numpy()
    paths = [
        OriginPath(
            i, i, pd.Timestamp("2020-01-01") + ONE_DAY * i, closes[i], np.zeros(30), closes[i + 1 : i + 31], True
        )
        for i in range(days - 31)
    ]
    band = calibrate_band(paths, 0.0, DAY)
    # The normal distribution's quantiles at each level's upper tail: 75th, 90th, 97.5th percentiles.
    z = {50: 0.6745, 80: 1.2816, 95: 1.9600}
    for level in LEVELS:
        # One year of one-day errors pins the tails; longer horizons overlap and are checked by coverage.
        assert band.high[level][0] == pytest.approx(z[level] * sigma, rel=0.2), level
        assert band.low[level][0] == pytest.approx(-z[level] * sigma, rel=0.2), level
    rows = score(paths, 0.1, DAY, 80)
    for row in rows:
        # Overlapping h-day errors are about origins/h independent outcomes: allow 2.5 standard errors of that.
        independent = row["origins"] / row["horizon"]
        tolerance = 2.5 * math.sqrt(0.8 * 0.2 / independent)
        assert row["model"]["coverage"] == pytest.approx(0.8, abs=tolerance)
        assert row["naive"]["mase"] == 1.0
        levels = row["model"]["levels"]
        assert [b["level"] for b in levels] == list(LEVELS)
        assert [b["nominal"] for b in levels] == [0.5, 0.8, 0.95]
        for b in levels:
            nominal = b["nominal"]
            assert b["coverage"] == pytest.approx(nominal, abs=2.5 * math.sqrt(nominal * (1 - nominal) / independent))
        # The served columns' level is the 80 % band, reported twice: as `coverage` and among the levels.
        assert (levels[1]["coverage"], levels[1]["width"]) == (row["model"]["coverage"], row["model"]["width"])
        assert levels[0]["width"] < levels[1]["width"] < levels[2]["width"]
        assert levels[0]["coverage"] <= levels[1]["coverage"] <= levels[2]["coverage"]  # nested bands nest outcomes
    assert rows[0]["origins"] == days - 31


def test_band_widens_like_a_random_walk_past_the_calibrated_horizon() -> None:
    band = BandQuantiles(
        low={50: [-0.005, -0.01], 80: [-0.01, -0.02], 95: [-0.02, -0.04]},
        high={50: [0.005, 0.01], 80: [0.01, 0.02], 95: [0.02, 0.04]},
    )
    assert band.at(2) == (-0.02, 0.02)
    assert band.at(8) == pytest.approx((-0.04, 0.04))
    assert band.at(8, 95) == pytest.approx((-0.08, 0.08))
    assert band.at(8, 50) == pytest.approx((-0.02, 0.02))


def test_the_band_never_narrows_with_the_horizon() -> None:
    closes = walk(800, 0.03, seed=4)["close"].to_numpy()
    paths = [
        OriginPath(
            i, i, pd.Timestamp("2020-01-01") + ONE_DAY * i, closes[i], np.zeros(30), closes[i + 1 : i + 31], True
        )
        for i in range(800 - 31)
    ]
    band = calibrate_band(paths, 0.0, DAY)
    for level in LEVELS:
        assert all(a >= b for a, b in itertools.pairwise(band.low[level]))
        assert all(a <= b for a, b in itertools.pairwise(band.high[level]))
    # And nested at every horizon: the 95 % band around the 80 % one around the 50 % one.
    assert band.problems() == []
    for h in range(30):
        assert band.low[95][h] <= band.low[80][h] <= band.low[50][h] <= 0 <= band.high[50][h]
        assert band.high[50][h] <= band.high[80][h] <= band.high[95][h]


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


@dataclass(frozen=True)
class FlatForecaster:
    """Unanchored: always forecasts exp(level) = 100, whatever the last close."""

    name: str = "flat"
    anchored: bool = False

    def fit(self, seen: pd.DataFrame) -> Callable[[pd.DatetimeIndex], np.ndarray]:
        return lambda times: np.full(len(times), math.log(100.0))


@dataclass(frozen=True)
class LineForecaster:
    """Unanchored: forecasts 100 * exp(0.001 * days since 2020-01-01) for any time, whatever the last close."""

    name: str = "line"
    anchored: bool = False

    def fit(self, seen: pd.DataFrame) -> Callable[[pd.DatetimeIndex], np.ndarray]:
        return lambda times: math.log(100.0) + 0.001 * ((times - pd.Timestamp("2020-01-01")) / ONE_DAY).to_numpy()


def test_an_unanchored_forecaster_is_scored_on_its_own_level() -> None:
    bars = walk(400, 0.02, seed=5)  # daily from 2020-01-01: bar i is day i
    closes = bars["close"].to_numpy()
    paths = run_origins(bars, LineForecaster(), DAY, BacktestPlan(scored=24, warmup=6, span_days=150), workers=1)
    scored = [p for p in paths if p.scored]
    assert len(scored) > 100
    rows = score(paths, 1.0, DAY, 80)  # undamped: the forecaster's own forecast
    for h, row in zip(DAY.horizons, rows, strict=True):
        # By hand: the forecast for day i + h is the line's value on that day, not a move from the close on day i.
        forecasts = [100.0 * math.exp(0.001 * (p.position + h)) for p in scored]
        actuals = [closes[p.position + h] for p in scored]
        for p, forecast in zip(scored, forecasts, strict=True):
            assert p.close * math.exp(p.drift[h - 1]) == pytest.approx(forecast, rel=1e-12)
        mape = np.mean([abs(f - a) / a for f, a in zip(forecasts, actuals, strict=True)])
        naive = np.mean([abs(closes[p.position] - a) / a for p, a in zip(scored, actuals, strict=True)])
        assert row["origins"] == len(scored)
        assert row["model"]["mape"] == pytest.approx(mape, rel=1e-12)
        assert row["naive"]["mape"] == pytest.approx(naive, rel=1e-12)
        assert row["mape_ratio"] == pytest.approx(mape / naive, rel=1e-12)


# --- hourly bars: 720-hour paths from origins every six hours -----------------------------------------------------

ONE_HOUR = pd.Timedelta(hours=1)
HOURLY_SIGMA = 0.02 / math.sqrt(24)  # 2 % a day


def test_hourly_origins_close_on_the_six_hour_grid_with_720_bar_paths() -> None:
    bars = walk(1_500, HOURLY_SIGMA, seed=6, freq="h")
    plan = BacktestPlan(scored=24, warmup=4, span_days=20)
    paths = run_origins(bars, FlatForecaster(), HOUR, plan, workers=1)
    assert len({p.fit for p in paths}) == 28
    closes_at = {(p.origin + ONE_HOUR).hour for p in paths}
    assert closes_at == {0, 6, 12, 18}  # the closes a six-hourly retrain anchors at, and only those
    assert all((p.origin + ONE_HOUR) == (p.origin + ONE_HOUR).floor("6h") for p in paths)
    # Every such close from the first refit on is an origin, each forecast by the latest fit made at or before it.
    positions = [p.position for p in paths]
    assert all(b - a == HOUR.origin_every for a, b in itertools.pairwise(positions))
    assert all(p.fit <= p.position < p.fit + 6 * 24 for p in paths)
    for p in paths:
        assert len(p.drift) == len(p.actual) == HOUR.calibrated_bars == 720
        assert p.close == bars["close"].iloc[p.position]
        assert list(p.actual) == list(bars["close"].iloc[p.position + 1 : p.position + 721])  # all 720 outcomes


def hourly_paths(bars: int, drift_at_720: float, seed: int) -> list[OriginPath]:
    """Naive forecasts (zero drift) from every six-hour close of an hourly walk, except `drift_at_720` 720 h out."""
    closes = walk(bars, HOURLY_SIGMA, seed=seed, freq="h")["close"].to_numpy()
    drift = np.zeros(720)
    drift[-1] = drift_at_720
    return [
        OriginPath(i, i, pd.Timestamp("2020-01-01") + ONE_HOUR * i, closes[i], drift, closes[i + 1 : i + 721], True)
        for i in range(5, bars - 720, HOUR.origin_every)
    ]


def test_hourly_scores_the_four_horizons_and_the_gate_names_the_720_hour_row() -> None:
    # The model is the naive forecast up to 168 h and 65 % too high at 720 h: only that row fails.
    paths = hourly_paths(6_000, drift_at_720=0.5, seed=7)
    rows = score(paths, 1.0, HOUR, 80)
    assert [(r["horizon"], r["unit"]) for r in rows] == [(1, "hour"), (24, "hour"), (168, "hour"), (720, "hour")]
    assert [r["mape_ratio"] for r in rows[:3]] == [1.0, 1.0, 1.0]
    assert rows[3]["mape_ratio"] > 2
    assert all(r["origins"] == len(paths) for r in rows)
    assert all(r["model"]["coverage"] is not None for r in rows)  # enough earlier errors at every horizon
    failures = find_failures(rows, GateThresholds(min_coverage=0.0, max_coverage=1.0, max_coverage_gap=1.0))
    assert failures == [f"{HOUR.horizon_label(720)}: MAPE ratio to naive {rows[3]['mape_ratio']:.3f} > 1.10"]


def test_the_hourly_band_is_calibrated_720_hours_ahead_and_never_narrows() -> None:
    paths = hourly_paths(6_000, drift_at_720=0.0, seed=8)
    band = calibrate_band(paths, 0.0, HOUR)
    assert band.problems() == []  # every level, 720 steps each, nested
    low, high = band.low[80], band.high[80]
    assert len(low) == len(high) == 720
    assert all(a >= b for a, b in itertools.pairwise(low))
    assert all(a <= b for a, b in itertools.pairwise(high))
    z = 1.2816  # the normal distribution's 90th percentile
    assert high[0] == pytest.approx(z * HOURLY_SIGMA, rel=0.2)
    assert low[0] == pytest.approx(-z * HOURLY_SIGMA, rel=0.2)
    assert high[-1] > 10 * high[0]  # 720 hours of a random walk: about sqrt(720) = 27 times as wide
    assert band.at(721)[1] > high[-1]  # and past the calibrated horizon it keeps widening
