"""train.py's options, in five groups (data, model, quality gate, drift, runtime), and how they are checked and
read into TrainSettings. Each default is read from TrainSettings' field defaults (or the environment), never
restated."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from cryptopredict.core.artifact import symbol_of
from cryptopredict.core.dates import parse_utc
from cryptopredict.core.forecast import LEVELS, coverage_of, level_of, levels_text
from cryptopredict.core.timeframe import DAY, HOUR, TIMEFRAMES, Timeframe, timeframe_of
from cryptopredict.core.track import DriftRules
from cryptopredict.training.backtest import BacktestPlan
from cryptopredict.training.bars import AlpacaOptions
from cryptopredict.training.cluster import SCHEDULER_ENV
from cryptopredict.training.gate import GateThresholds
from cryptopredict.training.settings import TrainSettings, default_timeframe

COVERAGES = tuple(coverage_of(level) for level in LEVELS)  # what --interval may be: a level as a share


def _needs(plan_of: Callable[[Timeframe], BacktestPlan]) -> str:
    """'1190 daily bars (27442 hourly)': what a plan needs at each timeframe, for --help."""
    return f"{plan_of(DAY).bars_needed(DAY)} daily bars ({plan_of(HOUR).bars_needed(HOUR)} hourly)"


def parse_pairs(text: str) -> tuple[str, ...]:
    """'BTC/USD, eth-usd' -> ('BTC/USD', 'ETH/USD'): Alpaca's symbols, in the order given, without repeats."""
    pairs = []
    for item in text.split(","):
        symbol = symbol_of(item)
        if not symbol:
            continue
        base, slash, quote = symbol.partition("/")
        if not (slash and base.isalnum() and quote.isalnum()):
            raise argparse.ArgumentTypeError(f"{item.strip()!r} is not a pair such as BTC/USD")
        if symbol not in pairs:
            pairs.append(symbol)
    if not pairs:
        raise argparse.ArgumentTypeError("name at least one pair, e.g. BTC/USD")
    return tuple(pairs)


def parse_until(text: str) -> dt.datetime:
    """--until's value as an aware UTC instant (the API's `date` syntax)."""
    try:
        return parse_utc(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


Defaulted = tuple[tuple[str, Callable[[str], object], object, str], ...]


def add_defaulted(group: argparse._ArgumentGroup, options: Defaulted) -> None:
    """Options whose help ends with their default."""
    for flag, kind, value, text in options:
        group.add_argument(flag, type=kind, default=value, help=f"{text} (default: {value})")


def add_data_options(group: argparse._ArgumentGroup, defaults: TrainSettings) -> None:
    """Which pairs are trained on which bars: their source, then the history's window."""
    add_pair_options(group, defaults)
    add_history_options(group, defaults)


def add_pair_options(group: argparse._ArgumentGroup, defaults: TrainSettings) -> None:
    group.add_argument(
        "--source",
        choices=("embedded", "alpaca"),
        default=defaults.source,
        help=(
            "where bars come from: the history shipped in data/ (offline) or Alpaca live data "
            f"(default: {defaults.source})"
        ),
    )
    group.add_argument(
        "--pairs",
        type=parse_pairs,
        default=os.environ.get("PAIRS") or ",".join(defaults.pairs),  # argparse applies `type` to a string default
        metavar="LIST",
        help=(
            f"comma-separated pairs to train, one model each (default: $PAIRS or {','.join(defaults.pairs)}); "
            "other pairs the model folder serves stay as they were"
        ),
    )
    group.add_argument(
        "--retire-unlisted",
        action="store_true",
        help=(
            "pairs the model folder serves that --pairs does not name leave the artifact (each listed in the "
            "manifest's run.dropped); the release passes it, so that PAIRS decides the live set"
        ),
    )
    group.add_argument(
        "--data",
        type=Path,
        metavar="PATH",
        help=(
            "train on a CSV file of one pair's bars, named with --pairs: columns timestamp,close and optionally "
            "open,high,low,volume; each timestamp is a bar's start, ISO 8601 (2024-01-31 or 2024-01-31T00:00:00Z; "
            "UTC unless it carries an offset), strictly increasing, on the --timeframe grid in UTC; bars of that "
            "length, or shorter ones (resampled to the last close of each period); gzipped if it ends in .gz; "
            "overrides --source"
        ),
    )


def add_history_options(group: argparse._ArgumentGroup, defaults: TrainSettings) -> None:
    group.add_argument(
        "--timeframe",
        choices=tuple(TIMEFRAMES),
        help=f"bar length (default: {HOUR} for --source alpaca, {DAY} for the embedded history and CSV files)",
    )
    add_defaulted(
        group, (("--start", dt.date.fromisoformat, defaults.start, "first day of history to train on, YYYY-MM-DD"),)
    )
    group.add_argument(
        "--until",
        type=parse_until,
        metavar="INSTANT",
        help=(
            "train as if it were this instant: a day (YYYY-MM-DD, midnight UTC) or an ISO 8601 date-time, UTC "
            "unless it carries an offset (2025-06-01T06:00:00Z); only bars that had closed by then are used"
        ),
    )
    group.add_argument(
        "--bar-store",
        type=Path,
        metavar="FILE",
        default=Path(os.environ["BAR_STORE"]) if os.environ.get("BAR_STORE") else None,
        help="an SQLite file keeping fetched Alpaca bars; later runs fetch only what is new (default: $BAR_STORE)",
    )
    group.add_argument(
        "--min-rows",
        type=int,
        default=defaults.min_rows,
        metavar="N",
        help=(
            "refuse to train on fewer bars, a floor of your own; the backtest needs more in any case and says how "
            f"many: its default plan needs {_needs(BacktestPlan.for_timeframe)}, and when the history is shorter "
            "it shrinks to the largest plan that fits, down to "
            f"{_needs(BacktestPlan.smallest)} (default: no floor beyond the backtest's)"
        ),
    )


def add_model_options(group: argparse._ArgumentGroup, defaults: TrainSettings) -> None:
    add_defaulted(
        group,
        (
            ("--horizon-days", int, defaults.horizon_days, "how far past the last bar the API answers"),
            (
                "--interval",
                float,
                coverage_of(defaults.level),
                "nominal coverage of the default band (the API's default level), one of "
                f"{', '.join(map(str, COVERAGES))}",
            ),
        ),
    )
    group.add_argument(
        "--refit-after-hours",
        type=float,
        default=defaults.refit_after_hours,
        metavar="HOURS",
        help=(
            "refit (backtest, gate, Prophet fit) a pair whose stored fit is this old; younger ones are re-anchored "
            f"at the newest close; 0 refits every run (default: {defaults.refit_after_hours:g})"
        ),
    )
    group.add_argument(
        "--backtest-refits",
        type=int,
        help=(
            f"model refits scored by the backtest (default: {DAY.backtest_refits} for daily bars, "
            f"{HOUR.backtest_refits} for hourly)"
        ),
    )
    group.add_argument(
        "--backtest-span-days",
        type=int,
        help=(
            f"how many days back the scored refits reach (default: {BacktestPlan.span_days}; with neither this nor "
            "--backtest-refits given, a history too short for the default plan gets the largest smaller plan that "
            "fits, named in the output)"
        ),
    )


def gate_options(gate: GateThresholds) -> Defaulted:
    return (
        (
            "--gate-max-mape-ratio",
            float,
            gate.max_mape_ratio,
            "refuse a model whose MAPE exceeds the naive forecast's by this",
        ),
        (
            "--gate-min-coverage",
            float,
            gate.min_coverage,
            "refuse a model whose band covers a smaller share of outcomes than this",
        ),
        (
            "--gate-max-coverage",
            float,
            gate.max_coverage,
            "refuse a model whose band covers a larger share of outcomes than this",
        ),
        (
            "--gate-max-coverage-gap",
            float,
            gate.max_coverage_gap,
            # argparse formats help with %: the levels' "%" is written "%%".
            f"refuse a model whose band at any level ({levels_text().replace('%', '%%')}) covers a share of outcomes "
            "further than this "
            "from its nominal coverage, or than two standard errors of it over the horizon's independent outcomes "
            "if wider",
        ),
    )


def add_drift_options(group: argparse._ArgumentGroup, defaults: TrainSettings) -> None:
    drift = defaults.drift  # the track record's drift rules (cryptopredict/core/track/), written into each record
    add_defaulted(
        group,
        (
            ("--drift-max-mape-ratio", float, drift.max_mape_ratio, "flag a pair degraded above this live MAPE ratio"),
            ("--drift-min-coverage", float, drift.min_coverage, "... or below this live band coverage"),
            ("--drift-max-coverage", float, drift.max_coverage, "... or above this live band coverage"),
            (
                "--drift-window-days",
                int,
                drift.window_days,
                "the drift rules judge the newest points within these days",
            ),
        ),
    )
    minimums = ", ".join(f"{tf.drift_min_points} for {tf.name}" for tf in TIMEFRAMES.values())
    group.add_argument(
        "--drift-min-points",
        type=int,
        default=drift.min_points,
        help=f"no drift verdict with fewer points than this in the window (default: the timeframe's, {minimums})",
    )


def add_runtime_options(group: argparse._ArgumentGroup, defaults: TrainSettings) -> None:
    group.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("MODEL_DIR") or defaults.model_dir),
        help=f"where the artifact is published (default: $MODEL_DIR or ./{defaults.model_dir})",
    )
    group.add_argument(
        "--report",
        type=Path,
        metavar="PATH",
        help=(
            "where the HTML model cards go (default: next to the model folder, <model-dir>-report.html); a run "
            "that publishes nothing leaves it as it is and writes its refused models' cards to <name>-refused.html"
        ),
    )
    add_defaulted(
        group,
        (("--workers", int, defaults.workers, "processes: pairs are fitted in parallel, or one pair's backtest is"),),
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=os.environ.get(SCHEDULER_ENV) or defaults.scheduler,
        help=(
            "a Dask scheduler (tcp://HOST:PORT): the pairs and their backtest refits run as tasks on its cluster, "
            f"whose workers import this repository with the same packages; --workers is then unused "
            f"(default: ${SCHEDULER_ENV}, else local processes)"
        ),
    )


def choose_plan(args: argparse.Namespace) -> BacktestPlan | None:
    """The timeframe's default plan unless the command line changes it."""
    if args.backtest_refits is None and args.backtest_span_days is None:
        return None
    default = BacktestPlan.for_timeframe(args.timeframe)
    refits = args.backtest_refits or default.scored
    return BacktestPlan(scored=refits, warmup=refits // 2, span_days=args.backtest_span_days or default.span_days)


def option_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with options argparse accepted, first problem first, or None."""
    if args.interval not in COVERAGES:
        return f"--interval must be one of {', '.join(map(str, COVERAGES))}: a band level"
    if args.workers < 1:
        return "--workers must be at least 1"
    if args.refit_after_hours < 0:
        return "--refit-after-hours must be 0 or more"
    if problems := drift_rules(args).problems():
        return f"drift rules: {'; '.join(problems)}"
    return None


def drift_rules(args: argparse.Namespace) -> DriftRules:
    return DriftRules(
        args.drift_max_mape_ratio,
        args.drift_min_coverage,
        args.drift_max_coverage,
        args.drift_window_days,
        args.drift_min_points,
    )


def alpaca_options() -> AlpacaOptions:
    """The Alpaca keys, data URL, retry wait and timeout, from the environment."""
    return AlpacaOptions(
        api_key=os.environ.get("ALPACA_API_KEY") or None,
        secret_key=os.environ.get("ALPACA_SECRET_KEY") or None,
        url_override=os.environ.get("ALPACA_DATA_URL") or None,
        retry_wait_seconds=float(os.environ.get("ALPACA_RETRY_WAIT_SECONDS") or AlpacaOptions.retry_wait_seconds),
        timeout_seconds=float(os.environ.get("ALPACA_TIMEOUT_SECONDS") or AlpacaOptions.timeout_seconds),
    )


def settings_of(args: argparse.Namespace) -> TrainSettings:
    """The run the checked options ask for (--data means the csv source; --timeframe defaults by source)."""
    source = "csv" if args.data else args.source
    args.timeframe = timeframe_of(args.timeframe) if args.timeframe else default_timeframe(source)
    return TrainSettings(
        source=source,
        data_path=args.data,
        pairs=args.pairs,
        timeframe=args.timeframe,
        start=args.start,
        horizon_days=args.horizon_days,
        level=level_of(args.interval),
        min_rows=args.min_rows,
        model_dir=args.model_dir,
        until=args.until,
        bar_store=args.bar_store,
        report_path=args.report,
        git_commit=os.environ.get("GIT_COMMIT") or None,
        backtest_plan=choose_plan(args),
        gate=GateThresholds(
            args.gate_max_mape_ratio, args.gate_min_coverage, args.gate_max_coverage, args.gate_max_coverage_gap
        ),
        workers=args.workers,
        scheduler=args.scheduler or None,
        refit_after_hours=args.refit_after_hours,
        drift=drift_rules(args),
        retire_unlisted=args.retire_unlisted,
        alpaca=alpaca_options(),
    )
