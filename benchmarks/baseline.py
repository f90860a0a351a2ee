"""The original design the serving benchmark measures /bitcoin against: Prophet fitted on the hourly closes, one
Prophet.predict per request, built only here as the baseline."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from benchmarks.harness import start_server, stop
from benchmarks.wrk import measure_with_wrk
from cryptopredict.core.dates import naive_utc, parse_utc
from cryptopredict.core.timeframe import HOUR
from tests.fakes.loopback import free_port


def serve_baseline(port: int, data: Path, until: str) -> None:
    """The original design: plain Prophet on the hourly closes (the same fit window as the served model), one
    predict (with interval sampling) per request."""
    import logging

    import pandas as pd
    import waitress
    from flask import Flask, jsonify, request
    from prophet import Prophet

    from cryptopredict.training.bars import read_csv_bars

    logging.getLogger("cmdstanpy").disabled = True
    end = naive_utc(parse_utc(until))
    bars = read_csv_bars(data)
    bars = bars[(bars["ds"] < end) & (bars["ds"] >= end - pd.Timedelta(days=HOUR.fit_window_days))]
    model = Prophet(interval_width=0.8).fit(bars.rename(columns={"close": "y"})[["ds", "y"]])
    app = Flask("baseline")

    @app.get("/bitcoin")
    def predict() -> object:
        moment = naive_utc(parse_utc(request.args["date"]))  # Prophet refuses time-zone-aware dates
        frame = model.predict(pd.DataFrame({"ds": [moment]}))
        row = frame.iloc[0]
        return jsonify(prediction=row["yhat"], prediction_low=row["yhat_lower"], prediction_high=row["yhat_upper"])

    @app.get("/health")
    def health() -> object:
        return jsonify(status="ok")

    waitress.serve(app, host="127.0.0.1", port=port, threads=8)


def measure_baseline(args: argparse.Namespace, script: Path, work: Path) -> dict[str, float]:
    """/bitcoin under wrk on the original design, served by `benchmarks.serving --serve-baseline` in another
    process (the benchmark's own command, so the baseline sees the same --data and --until)."""
    baseline_port = free_port()
    baseline, _ = start_server(
        [
            sys.executable,
            "-m",
            "benchmarks.serving",
            "--serve-baseline",
            str(baseline_port),
            "--data",
            str(args.data),
            "--until",
            args.until,
        ],
        os.environ.copy(),
        f"http://127.0.0.1:{baseline_port}/health",
        work / "baseline.log",
        timeout=120,
    )
    try:
        return measure_with_wrk(f"http://127.0.0.1:{baseline_port}", args.seconds, args.connections, script)
    finally:
        stop(baseline)
