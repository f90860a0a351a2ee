"""Rolling-origin backtest: refit on bars up to each refit origin, score against the naive forecast.

The model is refitted at evenly spread refit origins (120 over two years for daily bars, after 60 warm-up
refits that only calibrate); each fit then forecasts from every bar up to the next refit, as the service
does between retrains. Every bar is thus a forecast origin with the model's undamped log-change path for
1..H bars ahead, made from data up to that bar only. From those paths the backtest
chooses the damping, scores model and naive forecast per horizon (MAPE, MASE, band coverage and width),
and calibrates the band (backtest_scores.py). A band scored at an origin is calibrated only on errors that were
already known at that origin (sequential split-conformal), so the coverage it reports is out of sample.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cryptopredict.core.dates import format_utc
from cryptopredict.core.forecast import BandQuantiles
from cryptopredict.core.manifest import Backtest
from cryptopredict.core.timeframe import Timeframe
from cryptopredict.core.typed_json import build
from cryptopredict.training.backtest_scores import (
    CALIBRATION_DAYS,
    MIN_INDEPENDENT_ERRORS,
    BacktestError,
    OriginPath,
    PathMatrix,
    calibrate_band,
    choose_damping,
    score,
)
from cryptopredict.training.cluster import find_fanout
from cryptopredict.training.model import ModelSpec, fit_model, log_trend

# choose_origins refuses a backtest with fewer scored refits than this (or than the plan asks for, if fewer).
MIN_SCORED_REFITS = 24
# A shrunk plan's scored span holds at least this many calibrated horizons (4 x 30 days): fewer non-overlapping
# outcomes at the calibrated horizon would make the reported coverage noise.
MIN_SCORED_HORIZONS = 4


@dataclass(frozen=True)
class BacktestPlan:
    """Where refits go: `scored` of them over the last `span_days`, after `warmup` used only to calibrate."""

    scored: int = 120
    warmup: int = 60
    span_days: int = 730
    min_fit_bars: int = 60

    @classmethod
    def for_timeframe(cls, timeframe: Timeframe) -> BacktestPlan:
        # An hourly fit costs ~50x a daily one: fewer refits keep a training run near a minute.
        return cls(scored=timeframe.backtest_refits, warmup=timeframe.backtest_refits // 2)

    @classmethod
    def smallest(cls, timeframe: Timeframe) -> BacktestPlan:
        """The smallest plan `fit_plan` shrinks the default to: fewer bars than it needs are refused."""
        return cls.for_timeframe(timeframe).shrunk(timeframe, _min_span_days(timeframe))

    def shrunk(self, timeframe: Timeframe, span_days: int) -> BacktestPlan:
        """This plan over a shorter span, keeping its refit density, never below MIN_SCORED_REFITS scored refits."""
        scored = max(MIN_SCORED_REFITS, round(self.scored * span_days / self.span_days))
        return replace(self, scored=scored, warmup=scored // 2, span_days=span_days)

    def spacing(self) -> pd.Timedelta:
        """Between refit origins: the scored ones spread over the span; warm-up ones sit before it, as far apart."""
        return pd.Timedelta(days=self.span_days) / max(self.scored - 1, 1)

    def lead(self, max_horizon: int, step: pd.Timedelta) -> pd.Timedelta:
        """From the first (warm-up) refit origin to the last bar: warm-up, scored span, the horizon's outcomes."""
        return step * max_horizon + pd.Timedelta(days=self.span_days) + self.spacing() * self.warmup

    def bars_needed(self, timeframe: Timeframe) -> int:
        """Bars of gapless history this plan needs: `min_fit_bars` before the first refit, then its lead."""
        step = pd.Timedelta(seconds=timeframe.seconds)
        return self.min_fit_bars + math.ceil(self.lead(timeframe.calibrated_bars, step) / step) + 1

    def describe(self, timeframe: Timeframe) -> str:
        """'120 scored and 60 warm-up refits over 730 days, 30 days of outcomes after the last, ...'"""
        return (
            f"{self.scored} scored and {self.warmup} warm-up refits over {self.span_days} days, "
            f"{timeframe.horizon_label(timeframe.calibrated_bars)} of outcomes after the last origin, "
            f"{self.min_fit_bars} bars before the first fit"
        )


def _min_span_days(timeframe: Timeframe) -> int:
    return math.ceil(MIN_SCORED_HORIZONS * timeframe.calibrated_bars * timeframe.seconds / 86_400)


def choose_origins(bars: pd.DataFrame, plan: BacktestPlan, max_horizon: int, step: pd.Timedelta) -> list[int]:
    """Rows of the origins: evenly spread, each with `max_horizon` bars of outcome after it."""
    ds = bars["ds"]
    span_start = ds.iloc[-1] - step * max_horizon - pd.Timedelta(days=plan.span_days)
    spacing = plan.spacing()
    first_time = ds.iloc[-1] - plan.lead(max_horizon, step)
    earliest = ds.iloc[min(plan.min_fit_bars, len(ds) - 1)]
    if first_time < earliest:
        raise BacktestError(
            f"the backtest needs history from {first_time - (earliest - ds.iloc[0]):%Y-%m-%d} "
            f"({plan.scored} scored and {plan.warmup} warm-up refits over {plan.span_days} days); "
            f"the history starts {ds.iloc[0]:%Y-%m-%d}"
        )
    # Rounded to the second: float spacing must not drop the last origin just before its bar.
    times = [(first_time + spacing * k).round("s") for k in range(plan.warmup + plan.scored)]
    positions = []
    for moment in times:
        row = int(ds.searchsorted(moment, side="right")) - 1  # the last bar at or before the moment
        if row >= plan.min_fit_bars and (not positions or row > positions[-1]):
            positions.append(row)
    scored = [p for p in positions if ds.iloc[p] >= span_start - step]
    needed = min(MIN_SCORED_REFITS, plan.scored)
    if len(scored) < needed:
        raise BacktestError(
            f"the backtest needs at least {needed} origins with {max_horizon} bars after each; "
            f"the history ({ds.iloc[0]:%Y-%m-%d} to {ds.iloc[-1]:%Y-%m-%d}) allows {len(scored)}"
        )
    return positions


def _fits(bars: pd.DataFrame, plan: BacktestPlan, timeframe: Timeframe) -> bool:
    try:
        choose_origins(bars, plan, timeframe.calibrated_bars, pd.Timedelta(seconds=timeframe.seconds))
    except BacktestError:
        return False
    return True


def fit_plan(
    bars: pd.DataFrame, timeframe: Timeframe, plan: BacktestPlan | None, *, start: pd.Timestamp | None = None
) -> tuple[BacktestPlan, str | None]:
    """The plan to run on `bars`, and a line saying so when it is not the one asked for.

    A plan given explicitly runs as given or is refused. With none given, the timeframe's default runs when the
    history allows it; otherwise the largest shrunk plan that fits (fewer refits over a shorter span, the same
    refit density, MIN_SCORED_REFITS scored refits at least, the gate still applied); below the smallest plan
    the history is refused with the number of bars that plan needs. `start` is the first day the run asked for
    (--start): an earlier one is suggested only when the history begins there, as otherwise it would not help.
    """
    ds = bars["ds"]
    have = (
        f"the history has {len(ds)} {'daily' if timeframe.unit == 'day' else timeframe.unit + 'ly'} bars "
        f"({ds.iloc[0]:%Y-%m-%d} to {ds.iloc[-1]:%Y-%m-%d})"
        if len(ds)
        else "the history has no bars"
    )
    cut_by_start = start is not None and len(ds) > 0 and ds.iloc[0] - start < pd.Timedelta(seconds=timeframe.seconds)
    earlier = "an earlier --start, or " if cut_by_start else ""
    if plan is not None:
        if len(ds) and _fits(bars, plan, timeframe):
            return plan, None
        raise BacktestError(
            f"{have}; the backtest needs at least {plan.bars_needed(timeframe)} "
            f"({plan.describe(timeframe)}): give it {earlier}a shorter --backtest-span-days, or leave out "
            f"--backtest-refits and --backtest-span-days to let training choose a plan that fits"
        )
    default = BacktestPlan.for_timeframe(timeframe)
    if len(ds) and _fits(bars, default, timeframe):
        return default, None
    smallest = BacktestPlan.smallest(timeframe)
    step = pd.Timedelta(seconds=timeframe.seconds)
    # Widest span first: the first plan that fits keeps the most scored refits.
    for span_days in range(default.span_days - 1, smallest.span_days - 1, -1):
        candidate = default.shrunk(timeframe, span_days)
        # The lead check is choose_origins' first test, cheap enough to scan every span with.
        room = ds.iloc[-1] - ds.iloc[min(candidate.min_fit_bars, len(ds) - 1)] if len(ds) else pd.Timedelta(0)
        if candidate.lead(timeframe.calibrated_bars, step) <= room and _fits(bars, candidate, timeframe):
            return candidate, (
                f"{have}, fewer than the default backtest's {default.bars_needed(timeframe)}: "
                f"backtest shrunk to {candidate.describe(timeframe)}"
            )
    more = "give it more history (an earlier --start)" if cut_by_start else "give it a longer history"
    raise BacktestError(
        f"{have}; the backtest needs at least {smallest.bars_needed(timeframe)} "
        f"({smallest.describe(timeframe)}, its smallest honest plan; the default needs "
        f"{default.bars_needed(timeframe)}): {more}"
    )


LevelFunction = Callable[[pd.DatetimeIndex], np.ndarray]


class Forecaster(Protocol):
    """Anything the backtest can score: fitted on the bars seen so far, it gives a log-price level at any time.

    An anchored forecaster's forecast from a bar is that bar's close times exp(level(t) - level(bar)); an
    unanchored one forecasts exp(level(t)) whatever the last close was (as plain Prophet on prices does).
    """

    name: str
    anchored: bool

    def fit(self, seen: pd.DataFrame) -> LevelFunction: ...


@dataclass(frozen=True)
class ServiceForecaster:
    """The service's model: Prophet's trend on the log close (damped later, in scoring)."""

    spec: ModelSpec
    name: str = "service model"
    anchored: bool = True

    def fit(self, seen: pd.DataFrame) -> LevelFunction:
        model = fit_model(seen, self.spec)
        return lambda times: log_trend(model, times)


def _run_origin(args: tuple[pd.DataFrame, int, int, Forecaster, Timeframe, bool]) -> list[OriginPath]:
    """Fit at one refit origin, then forecast from every origin bar up to the next refit with that fit."""
    bars, position, next_position, forecaster, timeframe, scored = args
    seen = bars.iloc[: position + 1]  # no look-ahead: the fit sees the origin bar and nothing after it
    level_at = forecaster.fit(seen)
    horizon = timeframe.calibrated_bars
    step = pd.Timedelta(seconds=timeframe.seconds)
    ds = bars["ds"]
    closes = bars.set_index("ds")["close"]
    first = ds.iloc[position]
    times = pd.DatetimeIndex(
        [first + step * k for k in range(int((ds.iloc[next_position - 1] - first) / step) + horizon + 1)]
    )
    level = level_at(times)
    actual = closes.reindex(times).to_numpy(dtype=float)
    # Origins at the closes a scheduled retrain anchors at: every `origin_every` bars on the UTC grid.
    closes_at = (ds.iloc[position:next_position].astype("datetime64[s]").astype("int64") + timeframe.seconds).to_numpy()
    origin_rows = np.flatnonzero(closes_at % (timeframe.seconds * timeframe.origin_every) == 0) + position
    paths = []
    for row in origin_rows:
        k = int((ds.iloc[row] - first) / step)
        close = float(bars["close"].iloc[row])
        base = level[k] if forecaster.anchored else math.log(close)
        paths.append(
            OriginPath(
                position=int(row),
                fit=position,
                origin=ds.iloc[row],
                close=close,
                drift=level[k + 1 : k + horizon + 1] - base,
                actual=actual[k + 1 : k + horizon + 1],
                scored=scored,
            )
        )
    return paths


def run_origins(
    bars: pd.DataFrame, forecaster: Forecaster, timeframe: Timeframe, plan: BacktestPlan, workers: int | None = None
) -> list[OriginPath]:
    """Refit at every refit origin (in parallel processes or Dask tasks) and collect a path from every origin the fits
    cover."""
    horizon = timeframe.calibrated_bars
    step = pd.Timedelta(seconds=timeframe.seconds)
    positions = choose_origins(bars, plan, horizon, step)
    n_scored = min(plan.scored, len(positions))
    # A fit serves every bar until the next refit; the last serves up to the last bar with a full horizon after it.
    last_usable = int(bars["ds"].searchsorted(bars["ds"].iloc[-1] - step * horizon, side="right"))
    ends = [*positions[1:], max(last_usable, positions[-1] + 1)]
    jobs = [
        (bars, p, end, forecaster, timeframe, k >= len(positions) - n_scored)
        for k, (p, end) in enumerate(zip(positions, ends, strict=True))
    ]
    # Local processes, or the cluster when this runs in a Dask task (see cluster.py).
    fanout = find_fanout(workers or min(2, os.cpu_count() or 1))
    results = fanout.map(_run_origin, jobs, "refit", chunksize=4)
    return [path for batch in results for path in batch]


@dataclass(frozen=True)
class BacktestResult:
    spec: ModelSpec
    band: BandQuantiles
    table: list[dict[str, Any]]
    plan: BacktestPlan
    last_origin: pd.Timestamp
    first_scored: pd.Timestamp
    refits: int  # fits whose forecasts are scored
    refits_total: int  # including the warm-up fits that only calibrate

    def summary(self) -> dict[str, Any]:
        """What the manifest and /model carry."""
        return build(
            Backtest,
            origins=self.table[0]["origins"],
            refits=self.refits,
            warmup_refits=self.refits_total - self.refits,
            first_scored_origin=format_utc(self.first_scored),
            last_origin=format_utc(self.last_origin),
            band=(
                f"split-conformal on log errors, calibrated on the latest errors known at each origin: "
                f"{CALIBRATION_DAYS} days of them, or {MIN_INDEPENDENT_ERRORS} horizons' worth if longer; "
                f"calibrated {self.spec.timeframe.horizon_label(self.spec.timeframe.calibrated_bars)} ahead, "
                f"widening like the square root of the horizon past that"
            ),
            horizons=self.table,
        )


def backtest(
    bars: pd.DataFrame, spec: ModelSpec, level: int, plan: BacktestPlan | None = None, workers: int | None = None
) -> BacktestResult:
    """Run the backtest, choose the damping, score it, and calibrate the band for serving."""
    plan = plan or BacktestPlan.for_timeframe(spec.timeframe)  # callers choose it with fit_plan first
    paths = run_origins(bars, ServiceForecaster(spec), spec.timeframe, plan, workers)
    matrix = PathMatrix.of(paths)
    damping = choose_damping(matrix, spec.timeframe)
    chosen = replace(spec, damping=damping)
    return BacktestResult(
        spec=chosen,
        band=calibrate_band(matrix, damping, spec.timeframe),
        table=score(matrix, damping, spec.timeframe, level),
        plan=plan,
        last_origin=paths[-1].origin,
        first_scored=next(p.origin for p in paths if p.scored),
        refits=len({p.fit for p in paths if p.scored}),
        refits_total=len({p.fit for p in paths}),
    )
