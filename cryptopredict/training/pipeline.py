"""One training run: for each pair, bars in and a model out; then one artifact with every pair that has a model.

A pair whose bars cannot be had, whose backtest cannot run, or whose model fails the quality gate keeps the
model it had in the previous artifact (if any) while the other pairs update. Nothing is published when no pair
updates, and any failure before the final swap leaves the previous artifact exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from cryptopredict.artifact import FORMAT, ArtifactError, pair_files, read_verified_files, sha256_hex, write_artifact
from cryptopredict.files import write_atomically
from cryptopredict.forecast import ForecastTable
from cryptopredict.settings import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INTERVAL,
    DEFAULT_MIN_ROWS,
    DEFAULT_MODEL_DIR,
    DEFAULT_PAIRS,
    DEFAULT_START,
    DEFAULT_TIMEFRAME,
)
from cryptopredict.training.backtest import BacktestError, BacktestPlan, backtest
from cryptopredict.training.bars import (
    AlpacaOptions,
    BarsError,
    coarsen,
    drop_incomplete,
    embedded_path,
    fetch_alpaca_bars,
    naive_utc,
    read_csv_bars,
    read_embedded_bars,
    validate_bars,
)
from cryptopredict.training.barstore import sync_bars
from cryptopredict.training.gate import GateThresholds, find_failures
from cryptopredict.training.model import ModelSpec, fit_model, fit_window, materialise_forecast, serialise_model
from cryptopredict.training.report import render_report

Source = Literal["embedded", "alpaca", "csv"]
RECORDED_PACKAGES = ("prophet", "cmdstanpy", "pandas", "numpy", "alpaca-py")
DEFAULT_WORKERS = 2


@dataclass(frozen=True)
class TrainSettings:
    """Everything one training run depends on."""

    source: Source = "embedded"
    data_path: Path | None = None  # a CSV file, for a run with one pair
    pairs: tuple[str, ...] = DEFAULT_PAIRS
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
    bar_store: Path | None = None  # an SQLite file of fetched bars, so live retrains fetch only what is new
    backtest_plan: BacktestPlan | None = None  # None: the default plan for the timeframe
    alpaca: AlpacaOptions = field(default_factory=AlpacaOptions)
    workers: int = DEFAULT_WORKERS  # processes: pairs in parallel, or one pair's backtest refits

    def until_moment(self) -> dt.datetime | None:
        """`until` as the instant training pretends it is: midnight UTC at the start of that day."""
        return dt.datetime.combine(self.until, dt.time(), tzinfo=dt.UTC) if self.until else None


def load_bars(settings: TrainSettings, symbol: str, now: dt.datetime) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One pair's bars from the chosen source from `settings.start` on, validated, with their origin."""
    start = dt.datetime.combine(settings.start, dt.time(), tzinfo=dt.UTC)
    if settings.source == "alpaca":
        if settings.bar_store:
            frame = sync_bars(settings.bar_store, symbol, settings.timeframe, start, now, settings.alpaca)
            if frame.empty:
                raise BarsError(f"Alpaca returned no {settings.timeframe} bars for {symbol} since {start:%Y-%m-%d}")
        else:
            frame = fetch_alpaca_bars(symbol, settings.timeframe, start, now, settings.alpaca)
        origin: dict[str, Any] = {"kind": "alpaca", "feed": "us", "url": settings.alpaca.url_override or "default"}
        staleness_now: dt.datetime | None = now
    else:
        if settings.source == "csv":
            if settings.data_path is None:
                raise BarsError("the csv source needs a file: --data PATH")
            path = Path(settings.data_path)
            frame = read_csv_bars(path)
        elif settings.timeframe != "1Day":
            raise BarsError("the embedded history has daily bars only; use --timeframe 1Day or --source alpaca")
        else:
            path = embedded_path(symbol, settings.timeframe)
            frame = read_embedded_bars(symbol, settings.timeframe)
        frame = coarsen(frame, settings.timeframe)
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
class FittedPair:
    """A pair's new model, whether or not it passed the gate."""

    symbol: str
    card: dict[str, Any]
    table: ForecastTable
    forecast: bytes
    model: bytes
    failures: list[str]


def fit_pair(
    settings: TrainSettings, symbol: str, bars: pd.DataFrame, origin: dict[str, Any], now: dt.datetime, workers: int
) -> FittedPair:
    """Backtest, gate, fit and materialise one pair (in a worker process when pairs run in parallel)."""
    spec = ModelSpec(timeframe=settings.timeframe)
    result = backtest(bars, spec, settings.interval, settings.backtest_plan, workers=workers)
    failures = find_failures(result.table, settings.gate)
    window = fit_window(bars, result.spec)
    model = fit_model(bars, result.spec)
    table = materialise_forecast(
        model,
        window,
        spec=result.spec,
        band=result.band,
        symbol=symbol,
        horizon_days=settings.horizon_days,
        interval=settings.interval,
    )
    forecast = table.to_json()
    trained_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    card = {
        "model_version": f"{trained_at:%Y%m%dT%H%M%SZ}-{hashlib.sha256(forecast).hexdigest()[:8]}",
        "symbol": symbol,
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
    return FittedPair(symbol, card, table, forecast, serialise_model(model), failures)


FitJob = tuple[TrainSettings, str, pd.DataFrame, dict[str, Any], dt.datetime]


def _fit_job(job: FitJob, workers: int) -> FittedPair | str:
    """fit_pair, with a backtest that cannot run coming back as its message (also across a process pool)."""
    try:
        return fit_pair(*job, workers=workers)
    except BacktestError as exc:
        return f"backtest: {exc}"


@dataclass(frozen=True)
class PairOutcome:
    """What happened to one pair in this run."""

    symbol: str
    status: Literal["updated", "kept", "dropped"]  # dropped: failed, and no previous model to keep
    reason: str | None = None  # why it did not update
    fitted: FittedPair | None = None  # the new model, when one was fitted (even if the gate refused it)


@dataclass(frozen=True)
class TrainResult:
    manifest: dict[str, Any] | None  # the published manifest, or None when nothing was published
    outcomes: dict[str, PairOutcome]
    report_path: Path | None

    @property
    def failures(self) -> list[str]:
        """Every reason a pair did not update, prefixed with its symbol."""
        return [f"{o.symbol}: {o.reason}" for o in self.outcomes.values() if o.status != "updated"]


def fit_all(settings: TrainSettings, now: dt.datetime) -> dict[str, FittedPair | str]:
    """Load every pair's bars (in this process: the bar store has one writer), then fit them in parallel."""
    loaded: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = {}
    results: dict[str, FittedPair | str] = {}
    if settings.data_path is not None and len(settings.pairs) != 1:
        raise BarsError("a CSV file holds one pair: give exactly one with --pairs")
    for symbol in settings.pairs:
        try:
            loaded[symbol] = load_bars(settings, symbol, now)
        except BarsError as exc:
            results[symbol] = f"bars: {exc}"
    jobs: list[FitJob] = [(settings, symbol, bars, origin, now) for symbol, (bars, origin) in loaded.items()]
    if len(jobs) == 1 or settings.workers == 1:
        # One pair at a time: each backtest spreads its refits over the worker processes instead.
        for job in jobs:
            results[job[1]] = _fit_job(job, settings.workers)
    elif jobs:
        with ProcessPoolExecutor(max_workers=min(settings.workers, len(jobs))) as pool:
            for job, fitted in zip(jobs, pool.map(partial(_fit_job, workers=1), jobs), strict=True):
                results[job[1]] = fitted
    return {symbol: results[symbol] for symbol in settings.pairs}


def read_previous(model_dir: Path) -> tuple[dict[str, dict[str, Any]], dict[str, bytes]]:
    """The previous artifact's pair cards and files, if there is a valid one of this format."""
    try:
        manifest, contents = read_verified_files(model_dir)
    except ArtifactError:
        return {}, {}
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("pairs"), dict):
        return {}, {}
    return manifest["pairs"], contents


def train(settings: TrainSettings, now: dt.datetime | None = None) -> TrainResult:
    """Fit every pair, then publish one artifact with the pairs that updated and the kept ones.

    `now` (default: the current time, or `settings.until`) is the moment training pretends it is: only bars
    that had closed by then are used.
    """
    if now is None:
        now = settings.until_moment() or dt.datetime.now(dt.UTC)
    fitted = fit_all(settings, now)
    previous_cards, previous_files = read_previous(settings.model_dir)
    outcomes: dict[str, PairOutcome] = {}
    cards: dict[str, dict[str, Any]] = {}
    files: dict[str, bytes] = {}
    for symbol, result in fitted.items():
        forecast_name, model_name = pair_files(symbol)
        if isinstance(result, FittedPair) and not result.failures:
            cards[symbol] = result.card
            files[forecast_name], files[model_name] = result.forecast, result.model
            outcomes[symbol] = PairOutcome(symbol, "updated", fitted=result)
            continue
        reason = result if isinstance(result, str) else "quality gate: " + "; ".join(result.failures)
        pair_fitted = result if isinstance(result, FittedPair) else None
        if symbol in previous_cards and forecast_name in previous_files and model_name in previous_files:
            cards[symbol] = previous_cards[symbol]
            files[forecast_name], files[model_name] = previous_files[forecast_name], previous_files[model_name]
            outcomes[symbol] = PairOutcome(symbol, "kept", reason, pair_fitted)
        else:
            outcomes[symbol] = PairOutcome(symbol, "dropped", reason, pair_fitted)
    # Pairs no longer configured are not carried over: the configuration says what is served.
    manifest = None
    if any(o.status == "updated" for o in outcomes.values()):
        published_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        versions = json.dumps({s: c["model_version"] for s, c in sorted(cards.items())}).encode()
        manifest = write_artifact(
            settings.model_dir,
            files,
            {
                "format": FORMAT,
                "model_version": f"{published_at:%Y%m%dT%H%M%SZ}-{hashlib.sha256(versions).hexdigest()[:8]}",
                "published_at": _iso(published_at),
                "git_commit": settings.git_commit,
                "pairs": dict(sorted(cards.items())),
                "run": {
                    "updated": [s for s, o in outcomes.items() if o.status == "updated"],
                    "kept": {s: o.reason for s, o in outcomes.items() if o.status == "kept"},
                    "dropped": {s: o.reason for s, o in outcomes.items() if o.status == "dropped"},
                },
            },
        )
    report_path = None
    sections = [(o.fitted.table, o.fitted.card, o.fitted.failures) for o in outcomes.values() if o.fitted]
    if sections:
        report_path = settings.report_path or default_report_path(settings.model_dir)
        write_atomically(report_path, render_report(sections))
    return TrainResult(manifest=manifest, outcomes=outcomes, report_path=report_path)


def _iso(moment: dt.datetime | pd.Timestamp) -> str:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
