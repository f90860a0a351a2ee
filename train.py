"""Training entry point: fit the model on bars from Alpaca, a CSV file or the embedded history, and publish it."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from cryptopredict.settings import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INTERVAL,
    DEFAULT_MIN_ROWS,
    DEFAULT_MODEL_DIR,
    DEFAULT_START,
    DEFAULT_SYMBOL,
    DEFAULT_TIMEFRAME,
    TIMEFRAME_SECONDS,
)
from cryptopredict.training.backtest import BacktestError, BacktestPlan
from cryptopredict.training.bars import AlpacaOptions, BarsError
from cryptopredict.training.card import format_table
from cryptopredict.training.gate import GateThresholds
from cryptopredict.training.pipeline import TrainSettings, train


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
    parser.add_argument("--symbol", default=DEFAULT_SYMBOL, help=f"the pair to model (default: {DEFAULT_SYMBOL})")
    parser.add_argument(
        "--timeframe", choices=tuple(TIMEFRAME_SECONDS), default=DEFAULT_TIMEFRAME, help="bar length (default: 1Day)"
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
        "--bars-cache",
        type=Path,
        metavar="DIR",
        default=Path(os.environ["BARS_CACHE"]) if os.environ.get("BARS_CACHE") else None,
        help="keep fetched Alpaca bars here and fetch only what is new next time (default: $BARS_CACHE, or none)",
    )
    parser.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        metavar="DATE",
        help="train as if it were this day (YYYY-MM-DD, midnight UTC): only bars that had closed by then",
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
    settings = TrainSettings(
        source="csv" if args.data else args.source,
        data_path=args.data,
        symbol=args.symbol,
        timeframe=args.timeframe,
        start=args.start,
        horizon_days=args.horizon_days,
        interval=args.interval,
        min_rows=args.min_rows,
        model_dir=args.model_dir,
        until=args.until,
        bars_cache=args.bars_cache,
        report_path=args.report,
        git_commit=os.environ.get("GIT_COMMIT") or None,
        backtest_plan=choose_plan(args),
        gate=GateThresholds(args.gate_max_mape_ratio, args.gate_min_coverage, args.gate_max_coverage),
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
    except (BarsError, BacktestError) as exc:
        print(f"train: {exc}; the current model is unchanged", file=sys.stderr)
        return 1
    manifest = result.manifest
    backtest = manifest["backtest"]
    print(
        f"backtest: {backtest['refits']} refits; forecasts from {backtest['origins']} origins "
        f"{backtest['first_scored_origin']} to {backtest['last_origin']}; damping {manifest['model']['damping']}"
    )
    print(format_table(backtest["horizons"]))
    print(f"train: model card written to {result.report_path}")
    if result.failures:
        for failure in result.failures:
            print(f"train: quality gate failed: {failure}", file=sys.stderr)
        print("train: the current model is unchanged", file=sys.stderr)
        return 3
    print(
        f"train: published {manifest['model_version']} for {manifest['symbol']} {manifest['timeframe']} "
        f"({manifest['rows']} bars {manifest['first_bar']} to {manifest['last_bar']}) in {settings.model_dir}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
