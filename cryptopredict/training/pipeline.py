"""One training run: for each pair, bars in and a model out; then one artifact with every pair that has a model.

Each pair is either refitted or re-anchored. A refit runs the backtest, the quality gate and a new Prophet fit; it
is due when the pair has no stored model, or its stored fit is older than `refit_after_hours` (or was made for
another timeframe or band). Between refits a run re-anchors: it loads the stored Prophet model (Prophet's JSON)
and band and materialises the forecast again from the newest close, which is what the backtest scores (its fits
serve every origin until the next refit, weeks later). A six-hourly run thus costs about a second per pair and
still anchors every forecast at the last hourly close.

A pair whose bars cannot be had keeps its previous model as it was; one whose backtest cannot run or whose new
model fails the gate keeps its previous model, re-anchored on the new bars. Either way the other pairs update.
Nothing is published when no pair updates, and any failure before the final swap leaves the previous artifact
exactly as it was.

The pairs a run names are the ones it trains: a pair the artifact serves that the run does not name stays exactly as
it was, unless the run retires unlisted pairs (`retire_unlisted`, which the release passes so that PAIRS decides the
live set). Every pair that leaves the artifact is listed in the manifest's `run.dropped` with its reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from dataclasses import dataclass, field, replace
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from cryptopredict.core.artifact import (
    MANIFEST_FILE,
    ArtifactError,
    pair_files,
    read_verified_files,
    sha256_hex,
    write_artifact,
)
from cryptopredict.core.dates import format_utc, naive_utc, parse_utc
from cryptopredict.core.files import write_atomically
from cryptopredict.core.forecast import ForecastTable
from cryptopredict.core.manifest import (
    FORMAT,
    PREVIOUS_FORMATS,
    Gate,
    Manifest,
    PairCard,
    RunOutcome,
    Source,
    SourceKind,
    Update,
)
from cryptopredict.core.settings import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INTERVAL,
    DEFAULT_MODEL_DIR,
    DEFAULT_PAIRS,
    DEFAULT_REFIT_AFTER_HOURS,
    DEFAULT_START,
    DEFAULT_WORKERS,
)
from cryptopredict.core.timeframe import DAY, HOUR, Timeframe, timeframe_of
from cryptopredict.core.track import DriftRules, TrackRecord
from cryptopredict.training.backtest import BacktestError, BacktestPlan, backtest, fit_plan
from cryptopredict.training.bars import (
    AlpacaOptions,
    BarsError,
    align_to_grid,
    coarsen,
    drop_incomplete,
    embedded_path,
    fetch_alpaca_bars,
    read_csv_bars,
    read_embedded_bars,
    validate_bars,
)
from cryptopredict.training.barstore import sync_bars
from cryptopredict.training.cluster import Fanout
from cryptopredict.training.gate import GateThresholds, find_failures, with_tolerances
from cryptopredict.training.model import (
    Band,
    ModelSpec,
    deserialise_model,
    fit_model,
    fit_window,
    materialise_forecast,
    serialise_model,
)
from cryptopredict.training.report import render_report
from cryptopredict.training.scoring import Scored, score_pair, why_no_previous

RECORDED_PACKAGES = ("prophet", "cmdstanpy", "pandas", "numpy", "alpaca-py")
# train.py refuses --data with other than one pair as an option error; fit_all keeps the check for other callers.
ONE_PAIR_PER_FILE = "a CSV file holds one pair's bars: give exactly one pair with --pairs, e.g. --pairs BTC/USD"


@dataclass(frozen=True)
class TrainSettings:
    """Everything one training run depends on."""

    source: SourceKind = "embedded"
    data_path: Path | None = None  # a CSV file, for a run with one pair
    pairs: tuple[str, ...] = DEFAULT_PAIRS
    timeframe: Timeframe | None = None  # None: hourly bars from Alpaca, daily bars otherwise
    start: dt.date = DEFAULT_START
    horizon_days: int = DEFAULT_HORIZON_DAYS
    interval: float = DEFAULT_INTERVAL
    min_rows: int | None = None  # a floor of your own; None: the backtest's need alone (checked before fitting)
    model_dir: Path = DEFAULT_MODEL_DIR
    until: dt.datetime | None = None  # an aware instant: train as if it were then
    report_path: Path | None = None
    git_commit: str | None = None
    gate: GateThresholds = field(default_factory=GateThresholds)
    bar_store: Path | None = None  # an SQLite file of fetched bars, so live retrains fetch only what is new
    backtest_plan: BacktestPlan | None = None  # None: the default plan for the timeframe
    alpaca: AlpacaOptions = field(default_factory=AlpacaOptions)
    workers: int = DEFAULT_WORKERS  # processes: pairs in parallel, or one pair's backtest refits
    scheduler: str | None = None  # a Dask scheduler's address: pairs and their refits run on that cluster instead
    refit_after_hours: float = DEFAULT_REFIT_AFTER_HOURS  # older stored fits are refitted; 0 refits every run
    drift: DriftRules = field(default_factory=DriftRules)  # when the track record flags a pair degraded
    retire_unlisted: bool = False  # served pairs not in `pairs` leave the artifact (else they stay as they were)

    def __post_init__(self) -> None:
        if self.timeframe is None:
            object.__setattr__(self, "timeframe", default_timeframe(self.source))

    @property
    def bar_timeframe(self) -> Timeframe:
        assert self.timeframe is not None  # set in __post_init__
        return self.timeframe


def default_timeframe(source: str) -> Timeframe:
    """Live training uses hourly bars; the embedded history and CSV files default to daily ones."""
    return HOUR if source == "alpaca" else DAY


def load_bars(settings: TrainSettings, symbol: str, now: dt.datetime) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One pair's bars from the chosen source from `settings.start` on, validated, with their origin."""
    start = dt.datetime.combine(settings.start, dt.time(), tzinfo=dt.UTC)
    timeframe = settings.bar_timeframe
    if settings.source == "alpaca":
        if settings.bar_store:
            frame = sync_bars(settings.bar_store, symbol, timeframe, start, now, settings.alpaca)
            if frame.empty:
                raise BarsError(f"Alpaca returned no {timeframe} bars for {symbol} since {start:%Y-%m-%d}")
        else:
            frame = fetch_alpaca_bars(symbol, timeframe, start, now, settings.alpaca)
        origin = Source.make(kind="alpaca", feed="us", url=settings.alpaca.url_override or "default")
        staleness_now: dt.datetime | None = now
    else:
        if settings.source == "csv":
            if settings.data_path is None:
                raise BarsError("the csv source needs a file: --data PATH")
            path = Path(settings.data_path)
            frame = read_csv_bars(path)
        elif timeframe is not DAY:
            raise BarsError("the embedded history has daily bars only; use --timeframe 1Day or --source alpaca")
        else:
            path = embedded_path(symbol, timeframe)
            frame = read_embedded_bars(symbol, timeframe)
        frame = coarsen(frame, timeframe)
        origin = Source.make(kind=settings.source, path=path.name, sha256=sha256_hex(path.read_bytes()))
        staleness_now = None
    frame = drop_incomplete(frame[frame["ds"] >= naive_utc(start)], timeframe, now)
    frame = align_to_grid(frame, timeframe)
    # Without a floor of its own, one bar: how many the backtest needs is fit_plan's to say, in its own words.
    min_rows = settings.min_rows if settings.min_rows is not None else 1
    return validate_bars(frame, timeframe=timeframe, min_rows=min_rows, now=staleness_now), origin


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


def refused_report_path(report_path: Path) -> Path:
    """Where a run that publishes nothing writes the cards of the models it made: model-report-refused.html."""
    return report_path.with_name(f"{report_path.stem}-refused{report_path.suffix}")


def should_publish(outcomes: dict[str, PairOutcome], trained: tuple[str, ...], listed: list[str]) -> bool:
    """The publish rule: some pair updated (a kept model re-anchored on newer bars rides along, so a failed refit
    does not leave that pair anchored at an old close), or no pair this run trained failed and the set of pairs
    served changes (a pair retired, or one whose stored model can no longer be read). When every pair fails nothing
    is published and the run fails loudly: the release ships nothing, and the model being served stays as it is."""
    fresh = any(o.status == "updated" for o in outcomes.values())
    unfailing = all(outcomes[symbol].status in ("updated", "unchanged") for symbol in trained)
    served = {symbol for symbol, o in outcomes.items() if o.served}
    return fresh or (unfailing and served != set(listed))


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


@dataclass(frozen=True)
class PairEntry:
    """A pair as an artifact holds it: its card and its three files."""

    card: dict[str, Any]
    files: dict[str, bytes]

    def bar(self, name: str) -> dt.datetime:
        """A bar start the card records (`last_bar`, `fit_last_bar`), naive UTC like the bars' `ds`."""
        return naive_utc(parse_utc(self.card[name]))

    def cannot_reanchor(self, settings: TrainSettings, bars: pd.DataFrame) -> str | None:
        """Why the stored model cannot be re-anchored on `bars` with these settings, or None."""
        timeframe, interval = self.card[PairCard.timeframe], self.card[PairCard.interval]
        if timeframe != settings.bar_timeframe.name or interval != settings.interval:
            return f"the stored model is for {timeframe} bars and a {interval} band"
        try:  # a band file of another format (one written before the band levels) cannot re-anchor every level
            Band.from_json(self.files[pair_files(self.card[PairCard.symbol]).band])
        except ValueError as exc:
            return f"the stored band cannot be re-anchored: {exc}"
        if self.bar(PairCard.fit_last_bar) > bars["ds"].iloc[-1]:
            return "the stored fit saw bars newer than this run's"  # anchoring there would look ahead
        return None

    def has_newer_bars(self, bars: pd.DataFrame) -> bool:
        """Whether `bars` reach past the bar the stored forecast is anchored at."""
        return bool(bars["ds"].iloc[-1] > self.bar(PairCard.last_bar))

    def refit_due(self, settings: TrainSettings, bars: pd.DataFrame) -> str | None:
        """Why this pair must be refitted rather than re-anchored, or None.

        A fit is as old as the data it has not seen: the time from the last bar it saw to the newest bar (so a
        simulated run with --until ages it exactly as a live one would)."""
        unseen = bars["ds"].iloc[-1] - self.bar(PairCard.fit_last_bar)
        hours = unseen.total_seconds() / 3600
        if hours >= settings.refit_after_hours:
            return f"the stored fit has not seen {hours:g} h of bars (refit after {settings.refit_after_hours:g} h)"
        return self.cannot_reanchor(settings, bars)


def fit_pair(
    settings: TrainSettings, symbol: str, bars: pd.DataFrame, origin: dict[str, Any], now: dt.datetime, workers: int
) -> FittedPair:
    """Backtest, gate, fit and materialise one pair (in a worker process when pairs run in parallel)."""
    spec = ModelSpec(timeframe=settings.bar_timeframe)
    # Before any fit: a history too short for the backtest is refused (or the plan shrunk) at once.
    start = pd.Timestamp(settings.start)
    plan, plan_note = fit_plan(bars, settings.bar_timeframe, settings.backtest_plan, start=start)
    result = backtest(bars, spec, settings.interval, plan, workers=workers)
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
        interval=settings.interval,
    )
    trained_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fit = dict(  # the card's fields known at the fit; _finish adds the rest
        symbol=symbol,
        timeframe=settings.bar_timeframe.name,
        interval=settings.interval,
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
        gate=Gate.make(**settings.gate.describe(), passed=not failures, failures=failures),
    )
    band = result.band.to_json(result.spec.damping, settings.interval)
    fitted = _finish(symbol, fit, table, serialise_model(model), band, failures, now, made_at=trained_at)
    return replace(fitted, plan_note=plan_note)


def reanchor_pair(
    settings: TrainSettings, stored: PairEntry, bars: pd.DataFrame, origin: dict[str, Any], now: dt.datetime
) -> FittedPair:
    """The stored model and band, materialised again from the newest close: no backtest, no fit."""
    symbol = stored.card[PairCard.symbol]
    names = pair_files(symbol)
    model = deserialise_model(stored.files[names.prophet])
    band, damping = Band.from_json(stored.files[names.band])
    spec = ModelSpec(timeframe=timeframe_of(stored.card[PairCard.timeframe]), damping=damping)
    table = materialise_forecast(
        model,
        bars,
        spec=spec,
        band=band,
        symbol=symbol,
        horizon_days=settings.horizon_days,
        interval=settings.interval,
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
    return FittedPair(symbol, PairCard.make(**(fit | stamp)), table, forecast, model, band, failures)


@dataclass(frozen=True)
class FitJob:
    """Everything one pair's work in a worker process needs."""

    settings: TrainSettings
    symbol: str
    bars: pd.DataFrame
    origin: dict[str, Any]
    now: dt.datetime
    stored: PairEntry | None


@dataclass(frozen=True)
class PairWork:
    """What a worker made of one pair."""

    fitted: FittedPair | None  # the model this run made: refitted, or re-anchored; None: no new bars, no refit due
    reason: str | None = None  # why it cannot be published: its backtest could not run, or it failed the gate
    fallback: FittedPair | None = None  # then: the stored model re-anchored on this run's bars, if it can be


def _fit_job(job: FitJob, workers: int) -> PairWork:
    """Refit or re-anchor one pair; a refit that cannot be published falls back to the stored model re-anchored."""
    due = job.stored.refit_due(job.settings, job.bars) if job.stored else "no stored model"
    if due is None:
        assert job.stored is not None
        if not job.stored.has_newer_bars(job.bars):
            return PairWork(None)  # nothing new to anchor at: the stored forecast stands, under its own version
        try:
            return PairWork(reanchor_pair(job.settings, job.stored, job.bars, job.origin, job.now))
        except ValueError:
            pass  # the stored model cannot be loaded (another Prophet or band format): refit rather than fail
    fitted: FittedPair | None = None
    try:
        fitted = fit_pair(job.settings, job.symbol, job.bars, job.origin, job.now, workers=workers)
    except BacktestError as exc:
        reason = f"backtest: {exc}"
    else:
        if not fitted.failures:
            return PairWork(fitted)
        reason = "quality gate: " + "; ".join(fitted.failures)
    # Re-anchored only on newer bars: on the same bars it would republish the stored forecast under a new version.
    fallback = None
    stored = job.stored
    if stored and stored.cannot_reanchor(job.settings, job.bars) is None and stored.has_newer_bars(job.bars):
        try:
            fallback = reanchor_pair(job.settings, stored, job.bars, job.origin, job.now)
        except ValueError:
            fallback = None  # unloadable: the stored forecast stays published as it was
    return PairWork(fitted, reason, fallback)


@dataclass(frozen=True)
class PairOutcome:
    """What happened to one pair in this run."""

    symbol: str
    # unchanged: no refit due and no bar newer than the stored forecast's anchor, or not trained in this run
    # (reason NOT_TRAINED), so the stored model stands as it was; dropped: failed, and no previous model to keep, or
    # a stored model that cannot be carried over; retired: not in this run's pairs, and the run retires such pairs
    status: Literal["updated", "unchanged", "kept", "dropped", "retired"]
    reason: str | None = None  # why it did not update
    fitted: FittedPair | None = None  # the new model, when one was made (even if the gate refused it)
    served: PairEntry | None = None  # what is published for this pair
    reanchored: bool = False  # kept: the previous model, re-anchored on this run's newer bars


@dataclass(frozen=True)
class TrainResult:
    manifest: dict[str, Any] | None  # the published manifest, or None when nothing was published
    outcomes: dict[str, PairOutcome]
    report_path: Path | None
    track: dict[str, str] = field(default_factory=dict)  # what happened to each served pair's track record, one line

    @property
    def reasons(self) -> list[str]:
        """Every reason a pair did not update (kept or dropped), prefixed with its symbol; gate failures are one
        kind of reason."""
        return [f"{o.symbol}: {o.reason}" for o in self.outcomes.values() if o.status in ("kept", "dropped")]


NOT_TRAINED = "not in this run's pairs: served as it was"
RETIRED = "retired: not in this run's pairs (--retire-unlisted)"


def fit_all(settings: TrainSettings, now: dt.datetime, stored: dict[str, PairEntry]) -> dict[str, PairWork | str]:
    """Load every pair's bars (in this process: the bar store has one writer), then fit them in parallel.

    A pair whose bars cannot be had comes back as the message."""
    loaded: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = {}
    results: dict[str, PairWork | str] = {}
    if settings.data_path is not None and len(settings.pairs) != 1:
        raise BarsError(ONE_PAIR_PER_FILE)
    for symbol in settings.pairs:
        try:
            loaded[symbol] = load_bars(settings, symbol, now)
        except BarsError as exc:
            results[symbol] = f"bars: {exc}"
    # The Alpaca keys stay here: the fits never fetch, and tasks may run on other machines.
    task_settings = replace(settings, alpaca=replace(settings.alpaca, api_key=None, secret_key=None))
    jobs = [FitJob(task_settings, s, bars, origin, now, stored.get(s)) for s, (bars, origin) in loaded.items()]
    refits = sum(1 for job in jobs if not job.stored or job.stored.refit_due(settings, job.bars))
    fanout = Fanout(settings.workers, settings.scheduler)
    if fanout.is_local and (refits <= 1 or settings.workers == 1):
        # At most one refit: it spreads its backtest over the worker processes; re-anchors take a second each.
        for job in jobs:
            results[job.symbol] = _fit_job(job, settings.workers)
    else:
        # Pairs in parallel: locally each backtest runs in its pair's process; on Dask it fans out again.
        per_pair = 1 if fanout.is_local else settings.workers
        for job, work in zip(jobs, fanout.map(partial(_fit_job, workers=per_pair), jobs, "pair"), strict=True):
            results[job.symbol] = work
    return {symbol: results[symbol] for symbol in settings.pairs}


def read_previous(model_dir: Path) -> dict[str, PairEntry]:
    """The previous artifact's pairs with all their files, if there is a valid artifact of this format (or of one of
    the PREVIOUS_FORMATS, whose pairs lack only the track record).

    A pair whose card does not match the definition is left out: it is refitted, as if it had no stored model."""
    try:
        manifest, contents = read_verified_files(model_dir)
    except ArtifactError:
        return {}
    readable = (FORMAT, *PREVIOUS_FORMATS)
    if manifest.get(Manifest.format) not in readable or not isinstance(manifest.get(Manifest.pairs), dict):
        return {}
    stored = {}
    for symbol, card in manifest[Manifest.pairs].items():
        names = pair_files(symbol)
        if all(name in contents for name in names.model()) and not PairCard.check(card):
            present = [name for name in names.all() if name in contents]  # the record is absent in format 4
            stored[symbol] = PairEntry(card, {name: contents[name] for name in present})
    return stored


def listed_pairs(model_dir: Path) -> list[str]:
    """Every pair the published manifest lists, whether or not its model can be carried over: what a run must
    account for."""
    try:
        pairs = json.loads((Path(model_dir) / MANIFEST_FILE).read_text())["pairs"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return sorted(pairs) if isinstance(pairs, dict) else []


def outcome_of(symbol: str, result: PairWork | str, stored: dict[str, PairEntry]) -> PairOutcome:
    """What this run's work on a pair means for it: updated, unchanged, kept (maybe re-anchored) or dropped."""
    if isinstance(result, PairWork) and result.reason is None and result.fitted:
        return PairOutcome(symbol, "updated", fitted=result.fitted, served=result.fitted.entry())
    if isinstance(result, PairWork) and result.reason is None:
        return PairOutcome(symbol, "unchanged", served=stored[symbol])
    reason = result if isinstance(result, str) else result.reason
    fitted = result.fitted if isinstance(result, PairWork) else None
    if isinstance(result, PairWork) and result.fallback:
        return PairOutcome(symbol, "kept", reason, fitted, result.fallback.entry(), reanchored=True)
    if symbol in stored:
        return PairOutcome(symbol, "kept", reason, fitted, stored[symbol])
    return PairOutcome(symbol, "dropped", reason, fitted)


def untrained_outcome(settings: TrainSettings, symbol: str, stored: dict[str, PairEntry]) -> PairOutcome:
    """A listed pair this run does not train: served as it was, or retired, or dropped if it cannot be carried."""
    if settings.retire_unlisted:
        return PairOutcome(symbol, "retired", RETIRED)
    if symbol in stored:
        return PairOutcome(symbol, "unchanged", NOT_TRAINED, served=stored[symbol])
    why = why_no_previous(settings.model_dir)
    if why == "new to the artifact":  # the artifact reads, but this pair's card or files do not
        why = "its card or files do not match this version's artifact"
    return PairOutcome(symbol, "dropped", f"its stored model cannot be carried over ({why}); retrain it to serve it")


def score_served(
    settings: TrainSettings, stored: dict[str, PairEntry], outcomes: dict[str, PairOutcome]
) -> dict[str, Scored]:
    """Each served pair's track record after this run (training/scoring.py): the stored forecast scored against the
    closes in the table this run made for it, when it made one that is published."""
    absent = None
    scored = {}
    for symbol, outcome in outcomes.items():
        if outcome.served is None:
            continue  # dropped: nothing is published for it
        actuals = None
        if outcome.status == "updated" and outcome.fitted:
            actuals = outcome.fitted.table
        elif outcome.reanchored:
            actuals = ForecastTable.from_json(outcome.served.files[pair_files(symbol).forecast])
        previous = stored.get(symbol)
        if previous is None and absent is None:
            absent = why_no_previous(settings.model_dir)
        scored[symbol] = score_pair(
            symbol,
            previous.files if previous else None,
            previous.card[PairCard.model_version] if previous else None,
            actuals,
            settings.drift,
            absent or "",
            outcome.served.card[PairCard.timeframe],
        )
    return scored


def train(settings: TrainSettings, now: dt.datetime | None = None) -> TrainResult:
    """Refit or re-anchor every pair, then publish one artifact with the pairs that updated and the kept ones.

    `now` (default: `settings.until`, or the current time) is the moment training pretends it is: only bars that
    had closed by then are used.
    """
    if now is None:
        now = settings.until or dt.datetime.now(dt.UTC)
    stored = read_previous(settings.model_dir)
    listed = listed_pairs(settings.model_dir)
    work = fit_all(settings, now, stored)
    outcomes = {symbol: outcome_of(symbol, result, stored) for symbol, result in work.items()}
    for symbol in sorted(set(listed) - set(settings.pairs)):
        outcomes[symbol] = untrained_outcome(settings, symbol, stored)
    track = score_served(settings, stored, outcomes)
    # Every served pair carries its track record; a stored pair's (unchanged or kept) comes back as it was.
    served = {
        symbol: PairEntry(o.served.card, {**o.served.files, pair_files(symbol).record: track[symbol].record})
        for symbol, o in outcomes.items()
        if o.served
    }
    cards = {symbol: entry.card for symbol, entry in served.items()}
    files = {name: data for entry in served.values() for name, data in entry.files.items()}
    manifest = None
    if should_publish(outcomes, settings.pairs, listed):
        published_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        versions = json.dumps({s: c[PairCard.model_version] for s, c in sorted(cards.items())}).encode()
        run = RunOutcome.make(
            updated=[s for s, o in outcomes.items() if o.status == "updated"],
            unchanged=[s for s, o in outcomes.items() if o.status == "unchanged"],
            kept={s: o.reason for s, o in outcomes.items() if o.status == "kept"},
            dropped={s: o.reason for s, o in outcomes.items() if o.status in ("dropped", "retired")},
        )
        manifest = write_artifact(
            settings.model_dir,
            files,
            Manifest.make(
                leave_out={Manifest.files},  # write_artifact adds them, with their checksums
                format=FORMAT,
                model_version=f"{published_at:%Y%m%dT%H%M%SZ}-{hashlib.sha256(versions).hexdigest()[:8]}",
                published_at=format_utc(published_at),
                git_commit=settings.git_commit,
                pairs=dict(sorted(cards.items())),
                run=run,
            ),
        )
    report_path = None
    sections = [(o.fitted.table, o.fitted.card, o.fitted.failures) for o in outcomes.values() if o.fitted]
    if sections:
        # The report beside the artifact describes the models served: a run that publishes nothing leaves it as it
        # is, and writes the cards of the models it refused beside it instead.
        report_path = settings.report_path or default_report_path(settings.model_dir)
        if manifest is None:
            report_path = refused_report_path(report_path)
        records = [TrackRecord.from_json(scored.record) for scored in track.values()]
        write_atomically(report_path, render_report(sections, records))
    notes = {symbol: scored.note for symbol, scored in track.items()}
    return TrainResult(manifest=manifest, outcomes=outcomes, report_path=report_path, track=notes)
