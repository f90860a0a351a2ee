"""The backtest's origins and plan: no origin sees a bar after it, and a plan fits the history, shrinks to it or is
refused saying why.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cryptopredict.core.timeframe import DAY, HOUR
from cryptopredict.training import backtest as bt
from cryptopredict.training.backtest import BacktestError, BacktestPlan, ServiceForecaster, choose_origins, run_origins
from cryptopredict.training.bars import read_embedded_bars
from cryptopredict.training.model import ModelSpec
from tests.training.random_walks import ONE_DAY, walk


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
