"""Training entry point: fit one model per pair on bars from Alpaca, a CSV file or the embedded history, and
publish them as one artifact.

Exit status: 0 every pair updated, or had no new bars and no refit due (then nothing is published); 4 published,
but some pairs kept their previous model (or, having none, were left out), or nothing new for the pairs served
while a pair not yet served was left out (the served model stands); 3 nothing published because every pair
failed and at least one failed the quality gate; 1 nothing published because of the data or the backtest; 2 bad
options (among them --data without exactly one pair)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path

from cryptopredict.core.artifact import symbol_of
from cryptopredict.core.dates import parse_utc
from cryptopredict.core.forecast import LEVELS, coverage_of, levels_text
from cryptopredict.core.manifest import Backtest, Manifest, ModelDescription, PairCard
from cryptopredict.core.timeframe import DAY, HOUR, TIMEFRAMES, Timeframe, timeframe_of
from cryptopredict.core.track import DriftRules
from cryptopredict.training.backtest import BacktestPlan
from cryptopredict.training.bars import AlpacaOptions, BarsError
from cryptopredict.training.card import format_table
from cryptopredict.training.cluster import SCHEDULER_ENV, ClusterError
from cryptopredict.training.gate import GateThresholds, advice
from cryptopredict.training.pipeline import ONE_PAIR_PER_FILE, TrainResult, TrainSettings, default_timeframe, train

COVERAGES = tuple(coverage_of(level) for level in LEVELS)  # what --interval may be

EXIT_PARTIAL = 4
EXIT_GATE = 3


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


def build_parser() -> argparse.ArgumentParser:
    """train.py's options in five groups, what matters first: data, model, quality gate, drift, runtime."""
    defaults = TrainSettings()  # its field defaults are the defaults; the options read them, never restate them
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_options(parser.add_argument_group("data: which pairs, from where, up to when"), defaults)
    add_model_options(parser.add_argument_group("model: what is fitted, and how often"), defaults)
    add_defaulted(
        parser.add_argument_group("quality gate: a model that fails any check is not published"),
        gate_options(defaults.gate),
    )
    add_drift_options(parser.add_argument_group("drift: when the live track record flags a pair degraded"), defaults)
    add_runtime_options(parser.add_argument_group("runtime: where the artifact goes, and what computes it"), defaults)
    return parser


Defaulted = tuple[tuple[str, Callable[[str], object], object, str], ...]


def add_defaulted(group: argparse._ArgumentGroup, options: Defaulted) -> None:
    """Options whose help ends with their default."""
    for flag, kind, value, text in options:
        group.add_argument(flag, type=kind, default=value, help=f"{text} (default: {value})")


def add_data_options(group: argparse._ArgumentGroup, defaults: TrainSettings) -> None:
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
                defaults.interval,
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
    drift = defaults.drift  # the track record's drift rules (cryptopredict/core/track.py), written into each record
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


def parse_until(text: str) -> dt.datetime:
    """--until's value as an aware UTC instant (the API's `date` syntax)."""
    try:
        return parse_utc(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def choose_plan(args: argparse.Namespace) -> BacktestPlan | None:
    """The timeframe's default plan unless the command line changes it."""
    if args.backtest_refits is None and args.backtest_span_days is None:
        return None
    default = BacktestPlan.for_timeframe(args.timeframe)
    refits = args.backtest_refits or default.scored
    return BacktestPlan(scored=refits, warmup=refits // 2, span_days=args.backtest_span_days or default.span_days)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data and len(args.pairs) != 1:
        parser.error(f"--data: {ONE_PAIR_PER_FILE}")  # exits 2, like every other bad option

    if args.interval not in COVERAGES:
        print(f"train: --interval must be one of {', '.join(map(str, COVERAGES))}: a band level", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("train: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.refit_after_hours < 0:
        print("train: --refit-after-hours must be 0 or more", file=sys.stderr)
        return 2
    drift = DriftRules(
        args.drift_max_mape_ratio,
        args.drift_min_coverage,
        args.drift_max_coverage,
        args.drift_window_days,
        args.drift_min_points,
    )
    if problems := drift.problems():
        print(f"train: drift rules: {'; '.join(problems)}", file=sys.stderr)
        return 2
    source = "csv" if args.data else args.source
    args.timeframe = timeframe_of(args.timeframe) if args.timeframe else default_timeframe(source)
    settings = TrainSettings(
        source=source,
        data_path=args.data,
        pairs=args.pairs,
        timeframe=args.timeframe,
        start=args.start,
        horizon_days=args.horizon_days,
        interval=args.interval,
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
        drift=drift,
        retire_unlisted=args.retire_unlisted,
        alpaca=AlpacaOptions(
            api_key=os.environ.get("ALPACA_API_KEY") or None,
            secret_key=os.environ.get("ALPACA_SECRET_KEY") or None,
            url_override=os.environ.get("ALPACA_DATA_URL") or None,
            retry_wait_seconds=float(os.environ.get("ALPACA_RETRY_WAIT_SECONDS") or AlpacaOptions.retry_wait_seconds),
            timeout_seconds=float(os.environ.get("ALPACA_TIMEOUT_SECONDS") or AlpacaOptions.timeout_seconds),
        ),
    )
    try:
        result = train(settings)
    # A run-wide problem (a pair's own bars or backtest failing is in its outcome), or a cluster that failed:
    # nothing is published before every pair's work is back.
    except (BarsError, ClusterError) as exc:
        print(f"train: {exc}; the current model is unchanged", file=sys.stderr)
        return 1
    return report(result, settings)


def only_new_pairs_failed(result: TrainResult) -> bool:
    """Whether every pair that failed had no model to keep, and some served pair stands unchanged."""
    statuses = [o.status for o in result.outcomes.values()]
    return "unchanged" in statuses and all(status in ("unchanged", "dropped", "retired") for status in statuses)


def report(result: TrainResult, settings: TrainSettings) -> int:
    """Print each pair's backtest and fate, and choose the exit status."""
    for outcome in result.outcomes.values():
        if outcome.fitted and outcome.fitted.plan_note:
            print(f"{outcome.symbol}: {outcome.fitted.plan_note}")
        if outcome.fitted:
            card = outcome.fitted.card
            bt = card[PairCard.backtest]
            if card[PairCard.update] == "refit":
                print(
                    f"{outcome.symbol}: backtest {bt[Backtest.refits]} refits; forecasts from {bt[Backtest.origins]} "
                    f"origins {bt[Backtest.first_scored_origin]} to {bt[Backtest.last_origin]}; "
                    f"damping {card[PairCard.model][ModelDescription.damping]}"
                )
                print(format_table(bt[Backtest.horizons]))
        if outcome.status == "updated":
            card = outcome.fitted.card  # type: ignore[union-attr]
            how = (
                f"refitted on {card[PairCard.rows]} {card[PairCard.timeframe]} bars {card[PairCard.first_bar]} to "
                f"{card[PairCard.fit_last_bar]}"
                if card[PairCard.update] == "refit"
                else f"re-anchored the model fitted at {card[PairCard.fitted_at]}"
            )
            print(
                f"{outcome.symbol}: updated to {card[PairCard.model_version]} ({how}; "
                f"newest bar {card[PairCard.last_bar]})"
            )
        elif outcome.status == "unchanged":
            card = outcome.served.card  # type: ignore[union-attr]
            why = outcome.reason or f"no bar newer than {card[PairCard.last_bar]}"
            print(f"{outcome.symbol}: unchanged at {card[PairCard.model_version]} ({why})")
        elif outcome.status == "retired" or outcome.symbol not in settings.pairs:
            # One line for every pair that leaves the artifact: it is in the manifest's run.dropped, with this reason.
            print(f"train: {outcome.symbol}: {outcome.reason}: leaves the artifact", file=sys.stderr)
        else:
            fate = "keeps its previous model" if outcome.status == "kept" else "has no previous model: left out"
            if outcome.reanchored and outcome.served and result.manifest is not None:
                fate += f", re-anchored at its newest bar {outcome.served.card[PairCard.last_bar]}"
            print(f"train: {outcome.symbol}: {outcome.reason}; {fate}", file=sys.stderr)
        if outcome.symbol in result.track:
            # Unpublished, the record stays as stored; the bars since are scored by the next run that publishes.
            note = result.track[outcome.symbol] if result.manifest is not None else "as it was (nothing published)"
            print(f"{outcome.symbol}: track record: {note}")
    failures = [failure for o in result.outcomes.values() if o.fitted for failure in o.fitted.failures]
    if failures:
        print(f"train: {advice(failures)}", file=sys.stderr)
    if result.report_path and result.manifest is None:
        print(f"train: the cards of the models this run made, not published: {result.report_path}")
    elif result.report_path:
        print(f"train: model cards written to {result.report_path}")
    if result.manifest is None and not result.reasons:
        print("train: no new bars and no refit due: nothing to publish; the current model stands")
        return 0
    if result.manifest is None and only_new_pairs_failed(result):
        # The pairs served had nothing new; what failed was never served. The served model stands as it is: the
        # same as a run that publishes and leaves a new pair out, not a failure of the model being served.
        left_out = [o.symbol for o in result.outcomes.values() if o.status == "dropped"]
        print(f"train: nothing new for the pairs served; {', '.join(left_out)} left out; the current model stands")
        return EXIT_PARTIAL
    if result.manifest is None:
        print("train: no pair updated; the current model is unchanged", file=sys.stderr)
        return EXIT_GATE if failures else 1
    manifest = result.manifest
    print(
        f"train: published {manifest[Manifest.model_version]} with {', '.join(manifest[Manifest.pairs])} "
        f"in {settings.model_dir}"
    )
    return EXIT_PARTIAL if result.reasons else 0


if __name__ == "__main__":
    raise SystemExit(main())
