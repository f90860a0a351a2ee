"""Training entry point: fit one model per pair on bars from Alpaca, a CSV file or the embedded history, and
publish them as one artifact.

Exit status: 0 every pair updated, or had no new bars and no refit due (then nothing is published); 4 published,
but some pairs kept their previous model (or, having none, were left out); 3 nothing published because every pair
failed and at least one failed the quality gate; 1 nothing published because of the data or the backtest; 2 bad
options."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from cryptopredict.artifact import symbol_of
from cryptopredict.dates import parse_utc
from cryptopredict.settings import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INTERVAL,
    DEFAULT_MIN_ROWS,
    DEFAULT_MODEL_DIR,
    DEFAULT_PAIRS,
    DEFAULT_REFIT_AFTER_HOURS,
    DEFAULT_START,
)
from cryptopredict.timeframe import DAY, HOUR, TIMEFRAMES, timeframe_of
from cryptopredict.training.backtest import BacktestPlan
from cryptopredict.training.bars import AlpacaOptions, BarsError
from cryptopredict.training.card import format_table
from cryptopredict.training.gate import GateThresholds
from cryptopredict.training.pipeline import DEFAULT_WORKERS, TrainResult, TrainSettings, default_timeframe, train

EXIT_PARTIAL = 4
EXIT_GATE = 3


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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--source",
        choices=("embedded", "alpaca"),
        default="embedded",
        help="where bars come from: the history shipped in data/ (offline) or Alpaca live data (default: embedded)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="PATH",
        help="train on a CSV file with columns timestamp,close (overrides --source)",
    )
    parser.add_argument(
        "--pairs",
        type=parse_pairs,
        default=os.environ.get("PAIRS") or ",".join(DEFAULT_PAIRS),  # argparse applies `type` to a string default
        metavar="LIST",
        help=f"comma-separated pairs, one model each (default: $PAIRS or {','.join(DEFAULT_PAIRS)})",
    )
    parser.add_argument(
        "--timeframe",
        choices=tuple(TIMEFRAMES),
        help=f"bar length (default: {HOUR} for --source alpaca, {DAY} for the embedded history and CSV files)",
    )
    parser.add_argument(
        "--start",
        type=dt.date.fromisoformat,
        default=DEFAULT_START,
        help=f"first day of history to train on, YYYY-MM-DD (default: {DEFAULT_START})",
    )
    parser.add_argument(
        "--horizon-days",
        type=int,
        default=DEFAULT_HORIZON_DAYS,
        help=f"how far past the last bar the API answers (default: {DEFAULT_HORIZON_DAYS})",
    )
    parser.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL, help="nominal coverage of the band (default: 0.8)"
    )
    parser.add_argument(
        "--min-rows",
        type=int,
        default=DEFAULT_MIN_ROWS,
        help=f"refuse to train on fewer bars (default: {DEFAULT_MIN_ROWS})",
    )
    parser.add_argument(
        "--bar-store",
        type=Path,
        metavar="FILE",
        default=Path(os.environ["BAR_STORE"]) if os.environ.get("BAR_STORE") else None,
        help="an SQLite file keeping fetched Alpaca bars; later runs fetch only what is new (default: $BAR_STORE)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"processes: pairs are fitted in parallel, or one pair's backtest is (default: {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--until",
        type=parse_until,
        metavar="INSTANT",
        help=(
            "train as if it were this instant: a day (YYYY-MM-DD, midnight UTC) or an ISO 8601 date-time with Z or "
            "an offset (2025-06-01T06:00:00Z); only bars that had closed by then are used"
        ),
    )
    parser.add_argument(
        "--refit-after-hours",
        type=float,
        default=DEFAULT_REFIT_AFTER_HOURS,
        metavar="HOURS",
        help=(
            "refit (backtest, gate, Prophet fit) a pair whose stored fit is this old; younger ones are re-anchored "
            f"at the newest close; 0 refits every run (default: {DEFAULT_REFIT_AFTER_HOURS})"
        ),
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="PATH",
        help="where the HTML model card goes (default: next to the model folder, <model-dir>-report.html)",
    )
    gate = GateThresholds()
    for flag, value, text in (
        ("--gate-max-mape-ratio", gate.max_mape_ratio, "refuse a model whose MAPE exceeds the naive forecast's by"),
        ("--gate-min-coverage", gate.min_coverage, "refuse a model whose band covers a smaller share of outcomes than"),
        ("--gate-max-coverage", gate.max_coverage, "refuse a model whose band covers a larger share of outcomes than"),
    ):
        parser.add_argument(flag, type=float, default=value, help=f"{text} this (default: {value})")
    parser.add_argument(
        "--backtest-refits",
        type=int,
        help=f"model refits scored by the backtest (default: {BacktestPlan.scored} for daily bars, 24 for hourly)",
    )
    parser.add_argument(
        "--backtest-span-days",
        type=int,
        help=f"how many days back the scored refits reach (default: {BacktestPlan.span_days})",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("MODEL_DIR") or DEFAULT_MODEL_DIR),
        help="where the artifact is published (default: $MODEL_DIR or ./model)",
    )
    return parser


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
    args = build_parser().parse_args(argv)

    if not 0 < args.interval < 1:
        print("train: --interval must be between 0 and 1", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("train: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.refit_after_hours < 0:
        print("train: --refit-after-hours must be 0 or more", file=sys.stderr)
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
        gate=GateThresholds(args.gate_max_mape_ratio, args.gate_min_coverage, args.gate_max_coverage),
        workers=args.workers,
        refit_after_hours=args.refit_after_hours,
        alpaca=AlpacaOptions(
            api_key=os.environ.get("ALPACA_API_KEY") or None,
            secret_key=os.environ.get("ALPACA_SECRET_KEY") or None,
            url_override=os.environ.get("ALPACA_DATA_URL") or None,
            retry_wait_seconds=float(os.environ.get("ALPACA_RETRY_WAIT_SECONDS") or 3),
            timeout_seconds=float(os.environ.get("ALPACA_TIMEOUT_SECONDS") or 30),
        ),
    )
    try:
        result = train(settings)
    except BarsError as exc:  # a run-wide problem; a pair's own bars or backtest failing is in its outcome
        print(f"train: {exc}; the current model is unchanged", file=sys.stderr)
        return 1
    return report(result, settings)


def report(result: TrainResult, settings: TrainSettings) -> int:
    """Print each pair's backtest and fate, and choose the exit status."""
    for outcome in result.outcomes.values():
        if outcome.fitted:
            card = outcome.fitted.card
            bt = card["backtest"]
            if card["update"] == "refit":
                print(
                    f"{outcome.symbol}: backtest {bt['refits']} refits; forecasts from {bt['origins']} origins "
                    f"{bt['first_scored_origin']} to {bt['last_origin']}; damping {card['model']['damping']}"
                )
                print(format_table(bt["horizons"]))
        if outcome.status == "updated":
            card = outcome.fitted.card  # type: ignore[union-attr]
            how = (
                f"refitted on {card['rows']} {card['timeframe']} bars {card['first_bar']} to {card['fit_last_bar']}"
                if card["update"] == "refit"
                else f"re-anchored the model fitted at {card['fitted_at']}"
            )
            print(f"{outcome.symbol}: updated to {card['model_version']} ({how}; newest bar {card['last_bar']})")
        elif outcome.status == "unchanged":
            card = outcome.served.card  # type: ignore[union-attr]
            print(f"{outcome.symbol}: unchanged at {card['model_version']} (no bar newer than {card['last_bar']})")
        else:
            fate = "keeps its previous model" if outcome.status == "kept" else "has no previous model: left out"
            if outcome.reanchored and outcome.served:
                fate += f", re-anchored at its newest bar {outcome.served.card['last_bar']}"
            print(f"train: {outcome.symbol}: {outcome.reason}; {fate}", file=sys.stderr)
    if result.report_path:
        print(f"train: model cards written to {result.report_path}")
    if result.manifest is None and not result.failures:
        print("train: no new bars and no refit due: nothing to publish; the current model stands")
        return 0
    if result.manifest is None:
        print("train: no pair updated; the current model is unchanged", file=sys.stderr)
        gate_failed = any(o.fitted and o.fitted.failures for o in result.outcomes.values())
        return EXIT_GATE if gate_failed else 1
    manifest = result.manifest
    print(f"train: published {manifest['model_version']} with {', '.join(manifest['pairs'])} in {settings.model_dir}")
    return EXIT_PARTIAL if result.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
