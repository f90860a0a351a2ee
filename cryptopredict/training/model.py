"""Fitting the Prophet model and materialising its forecast over every bar the API may be asked about."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from prophet import Prophet
from prophet.serialize import model_to_json

from cryptopredict.forecast import ForecastTable, significant
from cryptopredict.settings import timeframe_seconds


def quiet_stan_logs() -> None:
    """cmdstanpy logs every optimisation at INFO; training output should stay readable."""
    logger = logging.getLogger("cmdstanpy")
    # cmdstanpy installs its own INFO handler on first use unless the logger already has one.
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.setLevel(logging.WARNING)


def fit_model(bars: pd.DataFrame, *, interval: float) -> Prophet:
    """Fit Prophet on the closes."""
    quiet_stan_logs()
    model = Prophet(interval_width=interval)
    model.fit(bars[["ds", "close"]].rename(columns={"close": "y"}))
    return model


def serialise_model(model: Prophet) -> bytes:
    """Prophet's own JSON form (never pickle: unpickling runs code)."""
    return model_to_json(model).encode()


def materialise_forecast(
    model: Prophet, bars: pd.DataFrame, *, symbol: str, timeframe: str, horizon_days: int, interval: float, seed: int
) -> ForecastTable:
    """Evaluate the model once on a regular grid from the first bar to the last bar plus the horizon."""
    step = timeframe_seconds(timeframe)
    first, last = bars["ds"].iloc[0], bars["ds"].iloc[-1]
    grid = pd.date_range(first, last + pd.Timedelta(days=horizon_days), freq=pd.Timedelta(seconds=step))
    # Prophet draws its intervals from numpy's global generator; a fixed seed makes them reproducible.
    np.random.seed(seed)
    predicted = model.predict(pd.DataFrame({"ds": grid}))
    # A price cannot be negative, whatever an additive trend extrapolates to.
    mid = predicted["yhat"].clip(lower=0).to_numpy()
    low = np.minimum(predicted["yhat_lower"].clip(lower=0).to_numpy(), mid)
    high = np.maximum(predicted["yhat_upper"].to_numpy(), mid)
    actual = bars.set_index("ds")["close"].reindex(grid)
    return ForecastTable(
        symbol=symbol,
        timeframe=timeframe,
        start=epoch_seconds(first),
        step=step,
        last_bar=epoch_seconds(last),
        interval=interval,
        prediction=[significant(v) for v in mid],
        low=[significant(v) for v in low],
        high=[significant(v) for v in high],
        actual=[None if pd.isna(v) else significant(float(v)) for v in actual],
    )


def epoch_seconds(stamp: pd.Timestamp) -> int:
    """Naive-UTC timestamp to Unix seconds."""
    return int(pd.Timestamp(stamp).tz_localize("UTC").timestamp())
