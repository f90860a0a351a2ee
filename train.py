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
    DEFAULT_SEED,
    DEFAULT_START,
    DEFAULT_SYMBOL,
    DEFAULT_TIMEFRAME,
    TIMEFRAME_SECONDS,
)


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
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: 42)")
    parser.add_argument(
        "--min-rows",
        type=int,
        default=DEFAULT_MIN_ROWS,
        help=f"refuse to train on fewer bars (default: {DEFAULT_MIN_ROWS})",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("MODEL_DIR") or DEFAULT_MODEL_DIR),
        help="where the artifact is published (default: $MODEL_DIR or ./model)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Heavy imports wait until the arguments are known to be good.
    from cryptopredict.training.bars import AlpacaOptions, BarsError
    from cryptopredict.training.pipeline import TrainSettings, train

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
        seed=args.seed,
        min_rows=args.min_rows,
        model_dir=args.model_dir,
        alpaca=AlpacaOptions(
            api_key=os.environ.get("ALPACA_API_KEY") or None,
            secret_key=os.environ.get("ALPACA_SECRET_KEY") or None,
            url_override=os.environ.get("ALPACA_DATA_URL") or None,
            retry_wait_seconds=float(os.environ.get("ALPACA_RETRY_WAIT_SECONDS") or 3),
        ),
    )
    try:
        manifest = train(settings)
    except BarsError as exc:
        print(f"train: {exc}; the current model is unchanged", file=sys.stderr)
        return 1
    print(
        f"train: published {manifest['model_version']} for {manifest['symbol']} {manifest['timeframe']} "
        f"({manifest['rows']} bars {manifest['first_bar']} to {manifest['last_bar']}) in {settings.model_dir}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
