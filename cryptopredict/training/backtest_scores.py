"""Scoring the backtest's forecast paths: the damping, each horizon's Scores records for the model and the naive
forecast, and the band calibrated for serving.

A band scored at an origin is calibrated only on errors that were already known at that origin (sequential
split-conformal), so the coverage it reports is out of sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptopredict.core.forecast import DEFAULT_LEVEL, LEVELS, BandQuantiles, coverage_of
from cryptopredict.core.manifest import HorizonScores, LevelScores, Scores
from cryptopredict.core.timeframe import Timeframe
from cryptopredict.core.typed_json import build

DAMPING_CANDIDATES = (0.1, 0.2, 0.35, 0.5, 0.75, 1.0)
MIN_CALIBRATION = 30  # errors needed before a band is scored
# The band is calibrated on the most recent errors: a year of them, short enough to follow volatility regimes
# (the whole history over-covered calm years by 5 points), but never fewer than 52 non-overlapping errors at
# the horizon, because overlapping errors look calmer than they are (a year of 30-day errors under-covered).
CALIBRATION_DAYS = 365
MIN_INDEPENDENT_ERRORS = 52


def calibration_size(timeframe: Timeframe, h: int) -> int:
    """How many of the most recent errors at horizon `h` calibrate the band (origins sit every `origin_every` bars)."""
    bars = max(CALIBRATION_DAYS * 86_400 // timeframe.seconds, MIN_INDEPENDENT_ERRORS * h)
    return -(-bars // timeframe.origin_every)


class BacktestError(ValueError):
    """The backtest cannot run: too little history, or no outcome to score."""


@dataclass(frozen=True)
class OriginPath:
    """What one origin produced: the close there, Prophet's log-change path, and what really happened."""

    position: int  # row of the origin bar in the bars frame
    fit: int  # row of the refit origin whose model made this forecast
    origin: pd.Timestamp
    close: float
    drift: np.ndarray  # undamped log change 1..H bars ahead
    actual: np.ndarray  # closes 1..H bars ahead (NaN where the history has a gap)
    scored: bool


@dataclass(frozen=True)
class PathMatrix:
    """The same paths as arrays, one row per origin, so that scoring 720 horizons stays vectorised."""

    position: np.ndarray
    close: np.ndarray
    drift: np.ndarray  # (origins, H)
    actual: np.ndarray  # (origins, H)
    scored: np.ndarray  # bool

    @classmethod
    def of(cls, paths: Sequence[OriginPath] | PathMatrix) -> PathMatrix:
        if isinstance(paths, PathMatrix):
            return paths
        return cls(
            position=np.array([p.position for p in paths], dtype=np.int64),
            close=np.array([p.close for p in paths], dtype=float),
            drift=np.array([p.drift for p in paths], dtype=float),
            actual=np.array([p.actual for p in paths], dtype=float),
            scored=np.array([p.scored for p in paths], dtype=bool),
        )

    def log_errors(self, damping: float | None, h: int) -> np.ndarray:
        """log(actual / forecast) at horizon h for each origin (NaN where the outcome is missing); None = naive."""
        factor = 0.0 if damping is None else damping
        with np.errstate(invalid="ignore"):
            return np.log(self.actual[:, h - 1]) - np.log(self.close) - factor * self.drift[:, h - 1]


Paths = Sequence[OriginPath] | PathMatrix


def level_probabilities() -> list[float]:
    """The quantiles' probabilities, every level's lower tail then every level's upper tail."""
    tails = [(1 - coverage_of(level)) / 2 for level in LEVELS]
    return [*tails, *(1 - tail for tail in tails)]


def calibrate_band(paths: Paths, damping: float, timeframe: Timeframe) -> BandQuantiles:
    """Split-conformal quantiles of the log errors at every horizon 1..H and every level, from the most recent
    origins.

    Nested by construction: one sample's quantiles are monotone in their probability, and the running minimum
    (maximum) over the horizon keeps that order."""
    matrix = PathMatrix.of(paths)
    probabilities = level_probabilities()
    low: dict[int, list[float]] = {level: [] for level in LEVELS}
    high: dict[int, list[float]] = {level: [] for level in LEVELS}
    for h in range(1, timeframe.calibrated_bars + 1):
        errors = matrix.log_errors(damping, h)
        errors = errors[~np.isnan(errors)][-calibration_size(timeframe, h) :]
        quantiles = np.quantile(errors, probabilities)
        for k, level in enumerate(LEVELS):
            q_low, q_high = float(quantiles[k]), float(quantiles[len(LEVELS) + k])
            # Uncertainty cannot shrink with the horizon; smooth the sampling noise out.
            low[level].append(min(q_low, low[level][-1] if low[level] else 0.0))
            high[level].append(max(q_high, high[level][-1] if high[level] else 0.0))
    band = BandQuantiles(low=low, high=high)
    if problems := band.problems():  # cannot happen (see above); a regression must not reach an artifact
        raise AssertionError(problems[0])
    return band


def _score(paths: Paths, damping: float | None, h: int, calibration_size: int) -> dict[str, Any]:
    """MAPE, MAE, and each level's sequentially calibrated band's coverage and width, over the scored origins."""
    matrix = PathMatrix.of(paths)
    probabilities = level_probabilities()
    errors = matrix.log_errors(damping, h)
    abs_pct, abs_err = [], []
    covered: dict[int, list[bool]] = {level: [] for level in LEVELS}
    width: dict[int, list[float]] = {level: [] for level in LEVELS}
    for i in np.flatnonzero(matrix.scored & ~np.isnan(errors)):
        # Calibrate on errors whose outcome was known at this origin: origins at least h bars earlier.
        known = errors[: int(np.searchsorted(matrix.position, matrix.position[i] - h, side="right"))]
        known = known[~np.isnan(known)][-calibration_size:]
        actual = matrix.actual[i, h - 1]
        forecast = actual / math.exp(errors[i])
        abs_pct.append(abs(forecast - actual) / actual)
        abs_err.append(abs(forecast - actual))
        if len(known) >= MIN_CALIBRATION:
            quantiles = np.quantile(known, probabilities)
            for k, level in enumerate(LEVELS):
                q_low, q_high = quantiles[k], quantiles[len(LEVELS) + k]
                covered[level].append(bool(q_low <= errors[i] <= q_high))
                width[level].append(math.exp(q_high) - math.exp(q_low))
    if not abs_pct:  # every outcome at this horizon falls in a gap of the history: nothing to score
        raise BacktestError(f"no scored origin has an observed close {h} bars later")
    return {
        "mape": float(np.mean(abs_pct)),
        "mae": float(np.mean(abs_err)),
        # None, not NaN, where no band could be calibrated: the manifest is strict JSON.
        "coverage": {level: float(np.mean(c)) if c else None for level, c in covered.items()},
        "width": {level: float(np.mean(w)) if w else None for level, w in width.items()},
        "origins": len(abs_pct),
        "band_origins": len(covered[DEFAULT_LEVEL]),
    }


def _scores(result: dict[str, Any], mase: float, level: int) -> dict[str, Any]:
    """A forecast's Scores record: the band of `level` (the served columns' level) and every level's."""
    return build(
        Scores,
        mape=result["mape"],
        mase=mase,
        coverage=result["coverage"][level],
        width=result["width"][level],
        levels=[
            build(
                LevelScores,
                level=each,
                nominal=coverage_of(each),
                coverage=result["coverage"][each],
                width=result["width"][each],
                tolerance=None,  # the gate's to fill in (gate.with_tolerances), on the model's bands
            )
            for each in LEVELS
        ],
    )


def independent_outcomes(origins: int, timeframe: Timeframe, h: int) -> int:
    """Non-overlapping `h`-bar windows among `origins` consecutive origins (`origin_every` bars apart): how many
    independent outcomes a share measured over them rests on. 725 daily origins hold 24 30-day windows."""
    return origins * timeframe.origin_every // max(h, timeframe.origin_every)


def score(paths: Paths, damping: float, timeframe: Timeframe, level: int) -> list[dict[str, Any]]:
    """The backtest table: one row per reported horizon, model and naive side by side."""
    matrix = PathMatrix.of(paths)
    rows = []
    for h in timeframe.horizons:
        model = _score(matrix, damping, h, calibration_size(timeframe, h))
        naive = _score(matrix, None, h, calibration_size(timeframe, h))
        rows.append(
            build(
                HorizonScores,
                horizon=h,
                unit=timeframe.unit,
                origins=model["origins"],
                independent=independent_outcomes(model["band_origins"], timeframe, h),
                mape_ratio=model["mape"] / naive["mape"],
                model=_scores(model, model["mae"] / naive["mae"], level),
                naive=_scores(naive, 1.0, level),
            )
        )
    return rows


def choose_damping(paths: Paths, timeframe: Timeframe) -> float:
    """The damping with the lowest mean MAPE ratio to the naive forecast over the reported horizons.

    Zero is not a candidate: it would drop Prophet altogether and serve the naive forecast.
    """
    matrix = PathMatrix.of(paths)

    def mean_ratio(damping: float) -> float:
        ratios = []
        for h in timeframe.horizons:
            model, naive = matrix.log_errors(damping, h), matrix.log_errors(None, h)
            keep = matrix.scored & ~np.isnan(model)
            ratios.append(np.mean(np.abs(1 - np.exp(-model[keep]))) / np.mean(np.abs(1 - np.exp(-naive[keep]))))
        return float(np.mean(ratios))

    return min(DAMPING_CANDIDATES, key=mean_ratio)
