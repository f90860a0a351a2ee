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

This module runs the stages in order; each has its own module: settings (TrainSettings), sources (a pair's bars),
stored (the previous artifact), fitting (one pair's refit or re-anchor), outcomes (each pair's status, and the
publish rule), publish (the artifact and the model cards).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from cryptopredict.core.artifact import pair_files
from cryptopredict.core.forecast import ForecastTable
from cryptopredict.training.backtest import BacktestError
from cryptopredict.training.bars import BarsError
from cryptopredict.training.cluster import Fanout
from cryptopredict.training.fitting import FittedPair, fit_pair, reanchor_pair
from cryptopredict.training.outcomes import PairOutcome, PairStatus, should_publish, untrained_outcome
from cryptopredict.training.publish import publish_artifact, write_report
from cryptopredict.training.scoring import Scored, score_pair, why_no_previous
from cryptopredict.training.settings import TrainSettings
from cryptopredict.training.sources import ONE_PAIR_PER_FILE, load_bars
from cryptopredict.training.stored import PairEntry, listed_pairs, read_previous


@dataclass(frozen=True)
class FitJob:
    """Everything one pair's work in a worker process needs."""

    settings: TrainSettings
    symbol: str
    bars: pd.DataFrame
    origin: dict[str, Any]
    now: dt.datetime
    stored: PairEntry | None


def _fit_job(job: FitJob, workers: int) -> PairOutcome:
    """Refit or re-anchor one pair; a refit that cannot be published falls back to the stored model re-anchored."""
    due = job.stored.refit_due(job.settings, job.bars) if job.stored else "no stored model"
    if due is None:
        assert job.stored is not None
        if not job.stored.has_newer_bars(job.bars):
            return PairOutcome.unchanged(job.symbol, job.stored)  # nothing new to anchor at: the stored one stands
        try:
            return PairOutcome.updated(reanchor_pair(job.settings, job.stored, job.bars, job.origin, job.now))
        except ValueError:
            pass  # the stored model cannot be loaded (another Prophet or band format): refit rather than fail
    fitted: FittedPair | None = None
    try:
        fitted = fit_pair(job.settings, job.symbol, job.bars, job.origin, job.now, workers=workers)
    except BacktestError as exc:
        reason = f"backtest: {exc}"
    else:
        if not fitted.failures:
            return PairOutcome.updated(fitted)
        reason = "quality gate: " + "; ".join(fitted.failures)
    return PairOutcome.failed(job.symbol, reason, job.stored, fitted, _fallback(job))


def _fallback(job: FitJob) -> FittedPair | None:
    """The stored model re-anchored on this run's bars, for a pair whose refit cannot be published, if it can be.

    Re-anchored only on newer bars: on the same bars it would republish the stored forecast under a new version."""
    stored = job.stored
    if stored and stored.cannot_reanchor(job.settings, job.bars) is None and stored.has_newer_bars(job.bars):
        try:
            return reanchor_pair(job.settings, stored, job.bars, job.origin, job.now)
        except ValueError:
            pass  # unloadable: the stored forecast stays published as it was
    return None


def fit_all(settings: TrainSettings, now: dt.datetime, stored: dict[str, PairEntry]) -> dict[str, PairOutcome]:
    """Load every pair's bars (in this process: the bar store has one writer), then fit them in parallel.

    A pair whose bars cannot be had fails with the message."""
    loaded: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = {}
    outcomes: dict[str, PairOutcome] = {}
    if settings.data_path is not None and len(settings.pairs) != 1:
        raise BarsError(ONE_PAIR_PER_FILE)
    for symbol in settings.pairs:
        try:
            loaded[symbol] = load_bars(settings, symbol, now)
        except BarsError as exc:
            outcomes[symbol] = PairOutcome.failed(symbol, f"bars: {exc}", stored.get(symbol))
    # The Alpaca keys stay here: the fits never fetch, and tasks may run on other machines.
    task_settings = replace(settings, alpaca=replace(settings.alpaca, api_key=None, secret_key=None))
    jobs = [FitJob(task_settings, s, bars, origin, now, stored.get(s)) for s, (bars, origin) in loaded.items()]
    refits = sum(1 for job in jobs if not job.stored or job.stored.refit_due(settings, job.bars))
    fanout = Fanout(settings.workers, settings.scheduler)
    if fanout.is_local and (refits <= 1 or settings.workers == 1):
        # At most one refit: it spreads its backtest over the worker processes; re-anchors take a second each.
        for job in jobs:
            outcomes[job.symbol] = _fit_job(job, settings.workers)
    else:
        # Pairs in parallel: locally each backtest runs in its pair's process; on Dask it fans out again.
        per_pair = 1 if fanout.is_local else settings.workers
        for job, outcome in zip(jobs, fanout.map(partial(_fit_job, workers=per_pair), jobs, "pair"), strict=True):
            outcomes[job.symbol] = outcome
    return {symbol: outcomes[symbol] for symbol in settings.pairs}


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
        return [f"{o.symbol}: {o.reason}" for o in self.outcomes.values() if o.status.failed]


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
        if outcome.status is PairStatus.UPDATED and outcome.fitted:
            actuals = outcome.fitted.table
        elif outcome.reanchored:
            actuals = ForecastTable.from_json(outcome.served.files[pair_files(symbol).forecast])
        previous = stored.get(symbol)
        if previous is None and absent is None:
            absent = why_no_previous(settings.model_dir)
        scored[symbol] = score_pair(
            symbol,
            previous,
            actuals,
            settings.drift,
            absent or "",
            outcome.served.card["timeframe"],
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
    outcomes = fit_all(settings, now, stored)
    for symbol in sorted(set(listed) - set(settings.pairs)):
        outcomes[symbol] = untrained_outcome(settings, symbol, stored)
    track = score_served(settings, stored, outcomes)
    # Every served pair carries its track record; a stored pair's (unchanged or kept) comes back as it was.
    served = {
        symbol: PairEntry(o.served.card, {**o.served.files, pair_files(symbol).record: track[symbol].record})
        for symbol, o in outcomes.items()
        if o.served
    }
    manifest = None
    if should_publish(outcomes, settings.pairs, listed):
        manifest = publish_artifact(settings, outcomes, served)
    records = [scored.record for scored in track.values()]
    report_path = write_report(settings, outcomes, records, published=manifest is not None)
    notes = {symbol: scored.note for symbol, scored in track.items()}
    return TrainResult(manifest=manifest, outcomes=outcomes, report_path=report_path, track=notes)
