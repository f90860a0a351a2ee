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
from cryptopredict.files import write_atomically
from cryptopredict.settings import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INTERVAL,
    DEFAULT_MIN_ROWS,
    DEFAULT_MODEL_DIR,
    DEFAULT_START,
    DEFAULT_SYMBOL,
    DEFAULT_TIMEFRAME,
)
from cryptopredict.training.backtest import BacktestPlan, backtest
from cryptopredict.training.barcache import fetch_with_cache
from cryptopredict.training.bars import (
    AlpacaOptions,
    BarsError,
    coarsen,
    drop_incomplete,
    embedded_path,
    fetch_alpaca_bars,
    naive_utc,
    read_csv_bars,
    validate_bars,
)
from cryptopredict.training.gate import GateThresholds, find_failures
from cryptopredict.training.model import ModelSpec, fit_model, fit_window, materialise_forecast, serialise_model
from cryptopredict.training.report import render_report

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
    min_rows: int = DEFAULT_MIN_ROWS
    model_dir: Path = DEFAULT_MODEL_DIR
    until: dt.date | None = None
    report_path: Path | None = None
    git_commit: str | None = None
    gate: GateThresholds = field(default_factory=GateThresholds)
    bars_cache: Path | None = None  # a folder of fetched bars, so live retrains fetch only what is new
    backtest_plan: BacktestPlan | None = None  # None: the default plan for the timeframe
    alpaca: AlpacaOptions = field(default_factory=AlpacaOptions)

    def until_moment(self) -> dt.datetime | None:
        """`until` as the instant training pretends it is: midnight UTC at the start of that day."""
        return dt.datetime.combine(self.until, dt.time(), tzinfo=dt.UTC) if self.until else None


def load_bars(settings: TrainSettings, now: dt.datetime) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Bars from the chosen source from `settings.start` on, validated, with a description of their origin."""
    start = dt.datetime.combine(settings.start, dt.time(), tzinfo=dt.UTC)
    if settings.source == "alpaca":
        if settings.bars_cache:
            frame = fetch_with_cache(
                settings.bars_cache, settings.symbol, settings.timeframe, start, now, settings.alpaca
            )
        else:
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
        frame = coarsen(read_csv_bars(path), settings.timeframe)
        origin = {"kind": settings.source, "path": path.name, "sha256": sha256_hex(path.read_bytes())}
        staleness_now = None
    frame = drop_incomplete(frame[frame["ds"] >= naive_utc(start)], settings.timeframe, now)
    return validate_bars(frame, timeframe=settings.timeframe, min_rows=settings.min_rows, now=staleness_now), origin


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def default_report_path(model_dir: Path) -> Path:
    """The HTML model card sits next to the artifact, not inside it: serving never needs it."""
    return Path(model_dir).with_name(Path(model_dir).name + "-report.html")


@dataclass(frozen=True)
class TrainResult:
    manifest: dict[str, Any]
    failures: list[str]
    report_path: Path | None


def train(settings: TrainSettings, now: dt.datetime | None = None) -> TrainResult:
    """Backtest, gate, fit, materialise and publish. A failed gate publishes nothing.

    `now` (default: the current time, or `settings.until`) is the moment training pretends it is:
    only bars that had closed by then are used.
    """
    if now is None:
        now = settings.until_moment() or dt.datetime.now(dt.UTC)
    bars, origin = load_bars(settings, now)
    result = backtest(bars, ModelSpec(timeframe=settings.timeframe), settings.interval, settings.backtest_plan)
    failures = find_failures(result.table, settings.gate)
    window = fit_window(bars, result.spec)
    model = fit_model(bars, result.spec)
    table = materialise_forecast(
        model,
        window,
        spec=result.spec,
        band=result.band,
        symbol=settings.symbol,
        horizon_days=settings.horizon_days,
        interval=settings.interval,
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
        "source": origin,
        "first_bar": _iso(window["ds"].iloc[0]),
        "last_bar": _iso(window["ds"].iloc[-1]),
        "rows": len(window),
        "trained_at": _iso(trained_at),
        "trained_until": _iso(now),
        "git_commit": settings.git_commit,
        "packages": package_versions(),
        "model": result.spec.describe(),
        "backtest": result.summary(),
        "gate": {**settings.gate.describe(), "passed": not failures, "failures": failures},
    }
    report_path = settings.report_path or default_report_path(settings.model_dir)
    if not failures:
        manifest = write_artifact(
            settings.model_dir, {FORECAST_FILE: forecast_bytes, MODEL_FILE: serialise_model(model)}, manifest
        )
    write_atomically(report_path, render_report(table, manifest, failures))
    return TrainResult(manifest=manifest, failures=failures, report_path=report_path)


def _iso(moment: dt.datetime | pd.Timestamp) -> str:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
