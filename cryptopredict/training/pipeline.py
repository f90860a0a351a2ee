"""One training run: bars in, a published artifact out. Any failure leaves the previous artifact as it was."""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from cryptopredict.artifact import FORECAST_FILE, MODEL_FILE, sha256_hex, write_artifact
from cryptopredict.settings import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INTERVAL,
    DEFAULT_MIN_ROWS,
    DEFAULT_MODEL_DIR,
    DEFAULT_SEED,
    DEFAULT_START,
    DEFAULT_SYMBOL,
    DEFAULT_TIMEFRAME,
)
from cryptopredict.training.bars import (
    AlpacaOptions,
    BarsError,
    embedded_path,
    fetch_alpaca_bars,
    naive_utc,
    read_csv_bars,
    validate_bars,
)
from cryptopredict.training.model import fit_model, materialise_forecast, serialise_model

Source = Literal["embedded", "alpaca", "csv"]
RECORDED_PACKAGES = ("prophet", "cmdstanpy", "pandas", "numpy", "alpaca-py")


@dataclass(frozen=True)
class TrainSettings:
    """Everything one training run depends on."""

    source: Source = "embedded"
    data_path: Path | None = None
    symbol: str = DEFAULT_SYMBOL
    timeframe: str = DEFAULT_TIMEFRAME
    start: dt.date = DEFAULT_START
    horizon_days: int = DEFAULT_HORIZON_DAYS
    interval: float = DEFAULT_INTERVAL
    seed: int = DEFAULT_SEED
    min_rows: int = DEFAULT_MIN_ROWS
    model_dir: Path = DEFAULT_MODEL_DIR
    alpaca: AlpacaOptions = field(default_factory=AlpacaOptions)


def load_bars(settings: TrainSettings, now: dt.datetime) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Bars from the chosen source from `settings.start` on, validated, with a description of their origin."""
    start = dt.datetime.combine(settings.start, dt.time(), tzinfo=dt.UTC)
    if settings.source == "alpaca":
        frame = fetch_alpaca_bars(settings.symbol, settings.timeframe, start, now, settings.alpaca)
        origin: dict[str, Any] = {"kind": "alpaca", "feed": "us", "url": settings.alpaca.url_override or "default"}
        staleness_now: dt.datetime | None = now
    else:
        if settings.source == "csv":
            if settings.data_path is None:
                raise BarsError("the csv source needs a file: --data PATH")
            path = Path(settings.data_path)
        elif settings.timeframe != "1Day":
            raise BarsError("the embedded history has daily bars only; use --timeframe 1Day or --source alpaca")
        else:
            path = embedded_path(settings.symbol, settings.timeframe)
        frame = read_csv_bars(path)
        origin = {"kind": settings.source, "path": path.name, "sha256": sha256_hex(path.read_bytes())}
        staleness_now = None
    frame = frame[frame["ds"] >= naive_utc(start)].reset_index(drop=True)
    return validate_bars(frame, timeframe=settings.timeframe, min_rows=settings.min_rows, now=staleness_now), origin


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def train(settings: TrainSettings, now: dt.datetime | None = None) -> dict[str, Any]:
    """Fit, materialise and publish; returns the manifest written."""
    now = now or dt.datetime.now(dt.UTC)
    bars, origin = load_bars(settings, now)
    model = fit_model(bars, interval=settings.interval)
    table = materialise_forecast(
        model,
        bars,
        symbol=settings.symbol,
        timeframe=settings.timeframe,
        horizon_days=settings.horizon_days,
        interval=settings.interval,
        seed=settings.seed,
    )
    forecast_bytes = table.to_json()
    trained_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    version = f"{trained_at:%Y%m%dT%H%M%SZ}-{hashlib.sha256(forecast_bytes).hexdigest()[:8]}"
    manifest = {
        "model_version": version,
        "symbol": settings.symbol,
        "timeframe": settings.timeframe,
        "interval": settings.interval,
        "horizon_days": settings.horizon_days,
        "seed": settings.seed,
        "source": origin,
        "first_bar": _iso(bars["ds"].iloc[0]),
        "last_bar": _iso(bars["ds"].iloc[-1]),
        "rows": len(bars),
        "trained_at": _iso(trained_at),
        "packages": package_versions(),
    }
    return write_artifact(
        settings.model_dir, {FORECAST_FILE: forecast_bytes, MODEL_FILE: serialise_model(model)}, manifest
    )


def _iso(moment: dt.datetime | pd.Timestamp) -> str:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
