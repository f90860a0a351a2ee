"""The model: Prophet's trend on log prices, anchored at the last close and damped, with a conformal band.

A forecast made at a bar with close `c` for `h` bars later is

    c * exp(damping * (f(t + h) - f(t)))

where `f` is Prophet's fit of the log close. Its band multiplies that by exp(q_low(h)) and exp(q_high(h)),
the quantiles of the out-of-sample log errors the backtest measured at horizon `h` (split-conformal), at every
level of forecast.LEVELS.
The same formula materialises every row of the table: a past bar is predicted from the close before it.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from prophet import Prophet
from prophet.serialize import model_from_json, model_to_json

from cryptopredict.core.dates import epoch_of
from cryptopredict.core.forecast import BandQuantiles, ForecastTable, levels_text, significant
from cryptopredict.core.timeframe import DAY, Timeframe

BAND_FORMAT = 2  # 1: the 80 % band only


@dataclass(frozen=True)
class ModelSpec:
    """The knobs of the model; `damping` is chosen by the backtest."""

    timeframe: Timeframe = DAY
    damping: float = 0.1
    changepoint_prior_scale: float = 0.005  # a stiff trend extrapolates less wildly

    @property
    def window(self) -> pd.Timedelta:
        return pd.Timedelta(days=self.timeframe.fit_window_days)

    def describe(self) -> dict[str, object]:
        return {
            "timeframe": self.timeframe.name,
            "damping": self.damping,
            "changepoint_prior_scale": self.changepoint_prior_scale,
            "fit_window_days": self.timeframe.fit_window_days,
            "target": "log close",
        }


def write_band_file(quantiles: BandQuantiles, damping: float, level: int) -> bytes:
    """The band file: what a later run needs, with the stored Prophet model, to re-anchor the forecast.

    The columns' level (`level`) at full precision, so a re-anchor reproduces them exactly; the others as the
    table stores them, which is all a re-anchor needs of them, and keeps an hourly pair's artifact small."""
    rounded = quantiles.rounded()
    levels = BandQuantiles(
        low={each: (quantiles if each == level else rounded).low[each] for each in quantiles.low},
        high={each: (quantiles if each == level else rounded).high[each] for each in quantiles.high},
    )
    body = {"format": BAND_FORMAT, "damping": damping, "levels": levels.to_dict()}
    return json.dumps(body, separators=(",", ":")).encode()


def read_band_file(raw: bytes) -> tuple[BandQuantiles, float]:
    """The quantiles and the damping from a band file; ValueError if it is not one of this format."""
    try:
        body = json.loads(raw)
        if body.get("format") == 1:
            # Written before levels: it cannot re-anchor the other levels' bands, so the pair is refitted.
            raise ValueError(f"the band file holds the 80 % band only; this version calibrates {levels_text()}")
        if body.get("format") != BAND_FORMAT:
            raise ValueError(f"not a band file of format {BAND_FORMAT}")
        return BandQuantiles.from_dict(body["levels"]), float(body["damping"])
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a band file: not JSON ({exc})") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a band file: {exc}") from None
    except ValueError as exc:
        message = str(exc)
        raise ValueError(message if "band file" in message else f"not a band file: {message}") from None


def quiet_stan_logs() -> None:
    """cmdstanpy logs every optimisation at INFO; training output should stay readable."""
    logger = logging.getLogger("cmdstanpy")
    # cmdstanpy installs its own INFO handler on first use unless the logger already has one.
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.setLevel(logging.WARNING)


def fit_window(bars: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The bars one fit uses: the most recent window."""
    newest = bars["ds"].iloc[-1]
    return bars[bars["ds"] > newest - spec.window].reset_index(drop=True)


def fit_model(bars: pd.DataFrame, spec: ModelSpec) -> Prophet:
    """Fit Prophet on the log close of the most recent window of `bars`."""
    quiet_stan_logs()
    window = fit_window(bars, spec)
    hourly = spec.timeframe.seconds < DAY.seconds
    model = Prophet(
        changepoint_prior_scale=spec.changepoint_prior_scale,
        # The backtest showed seasonal terms only add error at 1-30 days; intraday seasonality may help hourly bars.
        yearly_seasonality=False,
        weekly_seasonality=False,
        daily_seasonality=hourly,
        uncertainty_samples=0,  # the band comes from the backtest, not from Prophet's simulation
    )
    model.fit(pd.DataFrame({"ds": window["ds"], "y": np.log(window["close"].to_numpy())}))
    return model


def log_trend(model: Prophet, times: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """Prophet's fitted log close at `times`."""
    return model.predict(pd.DataFrame({"ds": pd.DatetimeIndex(times)}))["yhat"].to_numpy()


def serialise_model(model: Prophet) -> bytes:
    """Prophet's own JSON form (never pickle: unpickling runs code)."""
    return model_to_json(model).encode()


def deserialise_model(raw: bytes) -> Prophet:
    """A fitted model back from `serialise_model`'s JSON; ValueError if it cannot be read (say, another
    Prophet version wrote it)."""
    try:
        return model_from_json(raw.decode())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a Prophet model this version can load: {type(exc).__name__}: {exc}") from None


def materialise_forecast(
    model: Prophet,
    bars: pd.DataFrame,
    *,
    spec: ModelSpec,
    band: BandQuantiles,
    symbol: str,
    horizon_days: int,
    level: int,
) -> ForecastTable:
    """Evaluate the model once on a regular grid from the table's first bar to the last bar plus the horizon.

    The table reaches `table_history_days` back from the last bar; the forecast is anchored at the last close.
    """
    step = spec.timeframe.seconds
    last = bars["ds"].iloc[-1]
    bars = bars[bars["ds"] > last - pd.Timedelta(days=spec.timeframe.table_history_days)]
    first = bars["ds"].iloc[0]
    grid = pd.date_range(first, last + pd.Timedelta(days=horizon_days), freq=pd.Timedelta(seconds=step))
    trend = log_trend(model, grid)
    actual = bars.set_index("ds")["close"].reindex(grid).to_numpy()
    # Each grid point is predicted from the latest close strictly before it (the anchor).
    anchor = np.full(len(grid), -1)
    latest = -1
    for i, value in enumerate(actual):
        anchor[i] = latest
        if not np.isnan(value):
            latest = i
    rows = range(1, len(grid))  # the first bar has nothing before it to be predicted from
    prediction, low, high = [], [], []
    for i in rows:
        a = anchor[i]
        centre = actual[a] * math.exp(spec.damping * (trend[i] - trend[a]))
        q_low, q_high = band.at(i - a, level)  # the columns hold this level; the table keeps every level's
        prediction.append(significant(centre))
        low.append(significant(centre * math.exp(min(q_low, 0.0))))
        high.append(significant(centre * math.exp(max(q_high, 0.0))))
    return ForecastTable(
        symbol=symbol,
        timeframe=spec.timeframe.name,
        start=epoch_of(grid[1]),
        step=step,
        last_bar=epoch_of(last),
        level=level,
        prediction=prediction,
        low=low,
        high=high,
        actual=[None if np.isnan(v) else significant(float(v)) for v in actual[1:]],
        band=band.rounded(),
    )
