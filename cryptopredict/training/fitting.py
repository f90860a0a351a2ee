"""One pair's new model: refitted (backtest, quality gate, Prophet fit) or the stored one re-anchored at the newest
close, materialised into its forecast table, card and files."""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any

import pandas as pd

from cryptopredict.core.artifact import pair_files
from cryptopredict.core.dates import format_utc
from cryptopredict.core.forecast import ForecastTable, coverage_of
from cryptopredict.core.manifest import Gate, PairCard, Update
from cryptopredict.core.timeframe import timeframe_of
from cryptopredict.core.typed_json import build
from cryptopredict.training.backtest import backtest, fit_plan
from cryptopredict.training.gate import find_failures, with_tolerances
from cryptopredict.training.model import (
    ModelSpec,
    deserialise_model,
    fit_model,
    fit_window,
    materialise_forecast,
    read_band_file,
    serialise_model,
    write_band_file,
)
from cryptopredict.training.settings import TrainSettings
from cryptopredict.training.stored import PairEntry

RECORDED_PACKAGES = ("prophet", "cmdstanpy", "pandas", "numpy", "alpaca-py")


@dataclass(frozen=True)
class FittedPair:
    """A pair's new model (refitted, or the stored one re-anchored), whether or not it passed the gate."""

    symbol: str
    card: dict[str, Any]
    table: ForecastTable
    forecast: bytes
    model: bytes
    band: bytes
    failures: list[str]
    plan_note: str | None = None  # set when the backtest ran a smaller plan than the default

    def entry(self) -> PairEntry:
        names = pair_files(self.symbol)
        return PairEntry(self.card, {names.forecast: self.forecast, names.prophet: self.model, names.band: self.band})


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def fit_pair(
    settings: TrainSettings, symbol: str, bars: pd.DataFrame, origin: dict[str, Any], now: dt.datetime, workers: int
) -> FittedPair:
    """Backtest, gate, fit and materialise one pair (in a worker process when pairs run in parallel)."""
    spec = ModelSpec(timeframe=settings.bar_timeframe)
    # Before any fit: a history too short for the backtest is refused (or the plan shrunk) at once.
    start = pd.Timestamp(settings.start)
    plan, plan_note = fit_plan(bars, settings.bar_timeframe, settings.backtest_plan, start=start)
    result = backtest(bars, spec, settings.level, plan, workers=workers)
    result = replace(result, table=with_tolerances(result.table, settings.gate))  # the card records them
    failures = find_failures(result.table, settings.gate)
    window = fit_window(bars, result.spec)
    model = fit_model(bars, result.spec)
    table = materialise_forecast(
        model,
        bars,
        spec=result.spec,
        band=result.band,
        symbol=symbol,
        horizon_days=settings.horizon_days,
        level=settings.level,
    )
    trained_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fit = dict(  # the card's fields known at the fit; _finish adds the rest
        symbol=symbol,
        timeframe=settings.bar_timeframe.name,
        interval=coverage_of(settings.level),
        horizon_days=settings.horizon_days,
        source=origin,
        first_bar=format_utc(window["ds"].iloc[0]),
        fit_last_bar=format_utc(window["ds"].iloc[-1]),
        rows=len(window),
        fitted_at=format_utc(trained_at),
        git_commit=settings.git_commit,
        packages=package_versions(),
        model=result.spec.describe(),
        backtest=result.summary(),
        gate=build(Gate, **settings.gate.describe(), passed=not failures, failures=failures),
    )
    band = write_band_file(result.band, result.spec.damping, settings.level)
    fitted = _finish(symbol, fit, table, serialise_model(model), band, failures, now, made_at=trained_at)
    return replace(fitted, plan_note=plan_note)


def reanchor_pair(
    settings: TrainSettings, stored: PairEntry, bars: pd.DataFrame, origin: dict[str, Any], now: dt.datetime
) -> FittedPair:
    """The stored model and band, materialised again from the newest close: no backtest, no fit."""
    symbol = stored.card["symbol"]
    names = pair_files(symbol)
    model = deserialise_model(stored.files[names.prophet])
    band, damping = read_band_file(stored.files[names.band])
    spec = ModelSpec(timeframe=timeframe_of(stored.card["timeframe"]), damping=damping)
    table = materialise_forecast(
        model,
        bars,
        spec=spec,
        band=band,
        symbol=symbol,
        horizon_days=settings.horizon_days,
        level=settings.level,
    )
    fit = stored.card | dict(source=origin, horizon_days=settings.horizon_days)
    return _finish(symbol, fit, table, stored.files[names.prophet], stored.files[names.band], [], now, "reanchor")


def _finish(
    symbol: str,
    fit: dict[str, Any],
    table: ForecastTable,
    model: bytes,
    band: bytes,
    failures: list[str],
    now: dt.datetime,
    update: Update = "refit",
    made_at: dt.datetime | None = None,
) -> FittedPair:
    """The card of a table made in this run (the fit's fields, stamped with this run's), and its files.

    `made_at` (default: now) is when the table was made: a refit passes its fit's time, so the two agree."""
    forecast = table.to_json()
    trained_at = made_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = dict(
        model_version=f"{trained_at:%Y%m%dT%H%M%SZ}-{hashlib.sha256(forecast).hexdigest()[:8]}",
        update=update,
        last_bar=format_utc(table.last_bar),
        trained_at=format_utc(trained_at),
        trained_until=format_utc(now),
    )
    return FittedPair(symbol, build(PairCard, **(fit | stamp)), table, forecast, model, band, failures)
