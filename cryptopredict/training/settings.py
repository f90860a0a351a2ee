"""What one training run depends on: its pairs and their source, the model, the gate, the drift rules, the runtime."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptopredict.core.forecast import DEFAULT_LEVEL
from cryptopredict.core.manifest import SourceKind
from cryptopredict.core.settings import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_MODEL_DIR,
    DEFAULT_PAIRS,
    DEFAULT_REFIT_AFTER_HOURS,
    DEFAULT_START,
    DEFAULT_WORKERS,
)
from cryptopredict.core.timeframe import DAY, HOUR, Timeframe
from cryptopredict.core.track import DriftRules
from cryptopredict.training.backtest import BacktestPlan
from cryptopredict.training.bars import AlpacaOptions
from cryptopredict.training.gate import GateThresholds


@dataclass(frozen=True)
class TrainSettings:
    """Everything one training run depends on."""

    source: SourceKind = "embedded"
    data_path: Path | None = None  # a CSV file, for a run with one pair
    pairs: tuple[str, ...] = DEFAULT_PAIRS
    timeframe: Timeframe | None = None  # None: hourly bars from Alpaca, daily bars otherwise
    start: dt.date = DEFAULT_START
    horizon_days: int = DEFAULT_HORIZON_DAYS
    level: int = DEFAULT_LEVEL  # the band in the table's columns, the API's answer without `level`
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
