"""The track record's costs and a real record: what scoring adds to a training run, what the record adds to the
artifact, and the summary of a chain of runs.

1. Size: an hourly pair's record holding a full 365 days of points (synthesized: six-hourly runs of six scored bars,
   a random walk at BTC's price level) as the artifact stores it, against 1 MB; and one more run's bookkeeping on it.
2. Chain: train.py's pipeline on the hourly BTC/USD bars in data/, the artifact carried from run to run: a refit, then
   re-anchors every six hours (`--runs`; `--missed` scheduled runs fail on the way, so the run after them scores
   longer horizons), timing each run's scoring step (`pipeline.score_served`: reading the stored record and forecast,
   looking up and appending the bars since, the summary) against 2 s, and printing the summary table of the record
   the last run wrote.

Usage: python -m benchmarks.track [--data data/btc-usd-1h.csv.gz] [--runs 28] [--missed 4] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import require_file
from cryptopredict.core.artifact import load_artifact
from cryptopredict.core.timeframe import HOUR
from cryptopredict.core.track import KEEP_DAYS, DriftRules, Run, TrackRecord, empty_record, format_summary, verdict_line
from cryptopredict.training.bars import HOURLY_BTC_USD

MAX_RECORD_BYTES = 1_000_000
MAX_SCORING_SECONDS = 2.0
START = dt.datetime(2025, 3, 1, 6, tzinfo=dt.UTC)


def full_year(seed: int = 16) -> tuple[int, int, float]:
    """The stored size of an hourly record of KEEP_DAYS days of points, its point count, and how long one more run's
    bookkeeping takes on it (read the file, append six points, fold, summarise, write)."""
    rng = random.Random(seed)
    record = empty_record("BTC/USD", HOUR.name, 80, DriftRules())
    anchor, price = 1_740_787_200, 84_000.0
    for _ in range(KEEP_DAYS * 4):
        rows = []
        for h in range(1, 7):
            actual = round(price * math.exp(rng.gauss(0, 0.004 * math.sqrt(h))), 2)
            q = price * 0.006 * math.sqrt(h)
            rows.append((anchor + h * 3600, price, round(price - q, 3), round(price + q, 3), actual))
        record = record.extended(Run(f"20250301T060000Z-{rng.getrandbits(32):08x}", anchor, price), rows)
        anchor, price = anchor + 6 * 3600, rows[-1][4]
    raw = record.to_json()
    started = time.perf_counter()
    grown = TrackRecord.from_json(raw).extended(Run("next", anchor, price), [(anchor + 3600, price, 1.0, 2e5, price)])
    grown.to_json()
    grown.summary  # noqa: B018 - computed for the timing
    return len(raw), len(record), time.perf_counter() - started


def run_chain(data: Path, runs: int, missed: int) -> dict[str, Any]:
    """Train `runs` runs six hours apart on `data`, but for `missed` scheduled runs that fail two thirds of the way
    through (so the next one scores longer horizons), timing the scoring step of each."""
    from cryptopredict.training import pipeline
    from cryptopredict.training.backtest import BacktestPlan
    from cryptopredict.training.gate import GateThresholds

    timings: list[float] = []
    original = pipeline.score_served

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings.append(time.perf_counter() - started)

    pipeline.score_served = timed  # type: ignore[assignment]
    model_dir = Path(tempfile.mkdtemp(prefix="track-bench-")) / "model"
    notes = []
    for k in range(runs):
        settings = pipeline.TrainSettings(
            source="csv",
            data_path=data,
            pairs=("BTC/USD",),
            timeframe=HOUR,
            start=dt.date(2024, 7, 1),
            until=START + dt.timedelta(hours=6 * (k + (missed if k >= runs * 2 // 3 else 0))),
            model_dir=model_dir,
            backtest_plan=BacktestPlan(scored=12, warmup=6, span_days=120),
            gate=GateThresholds(min_coverage=0.0, max_coverage=1.0, max_coverage_gap=1.0),
        )
        started = time.perf_counter()
        result = pipeline.train(settings)
        seconds = time.perf_counter() - started
        notes.append(f"run {k} ({settings.until:%Y-%m-%dT%H:%MZ}, {seconds:.1f} s): {result.track['BTC/USD']}")
    record = load_artifact(model_dir).pairs["BTC/USD"].record
    assert record is not None
    return {"scoring_seconds": timings, "notes": notes, "summary": record.summary, "model_dir": str(model_dir)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HOURLY_BTC_USD, help="hourly BTC/USD bars (timestamp,close)")
    parser.add_argument("--runs", type=int, default=28, help="runs six hours apart (default: 28, a week)")
    parser.add_argument("--missed", type=int, default=4, help="scheduled runs missed on the way (default: 4)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    require_file(args.data, "bench-track")
    size, points, seconds = full_year()
    print(f"record of an hourly pair, {points:,} points ({KEEP_DAYS} days): {size / 1e6:.3f} MB (target <= 1 MB)")
    print(f"one more run's record bookkeeping on it (read, append, fold, summarise, write): {seconds:.3f} s")
    figures: dict[str, Any] = {"record_bytes": size, "record_points": points, "full_year_update_seconds": seconds}
    chain = run_chain(args.data, args.runs, args.missed)
    for note in chain["notes"]:
        print(note)
    scored = chain["scoring_seconds"][1:]  # the first run has nothing to score
    print(
        f"scoring per run (runs 2-{args.runs}): median {statistics.median(scored):.3f} s, "
        f"max {max(scored):.3f} s (target <= {MAX_SCORING_SECONDS:g} s)"
    )
    print(verdict_line(chain["summary"]))
    print(format_summary(chain["summary"]))
    figures.update(scoring_seconds=chain["scoring_seconds"], summary=chain["summary"])
    ok = max(scored) <= MAX_SCORING_SECONDS and size <= MAX_RECORD_BYTES
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
