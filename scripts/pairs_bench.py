"""Multi-pair training benchmark: train.py on five pairs of daily bars, backtests included, against 3 minutes.

Usage: python scripts/pairs_bench.py [--pairs 5] [--json pairs-bench.json]

A fake Alpaca market-data server on 127.0.0.1 serves five years of seeded daily random walks for each pair (the
real alpaca-py SDK fetches them, into a fresh bar store); train.py runs with its defaults (120 scored refits per
pair, pairs fitted in two processes). The pairs' names are labels: the series are synthetic, and a pair whose
model misses the quality gate on its walk is reported and left out, as in production. Then it runs again, as
the next scheduled retrain would, to show that the bar store asks only for what is new. A benchmark, not a
test: it prints pass/fail and exits 0 either way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.fake_alpaca import FakeAlpaca, make_daily_bars

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS = ["BTC/USD", "ETH/USD", "SOL/USD", "LTC/USD", "LINK/USD", "DOGE/USD", "AVAX/USD", "DOT/USD"]
BUDGET_SECONDS = 180
YEARS = 5


def run_train(pairs: list[str], fake: FakeAlpaca, store: Path, model_dir: Path) -> tuple[float, int, str]:
    env = {**os.environ, "ALPACA_DATA_URL": fake.url, "ALPACA_RETRY_WAIT_SECONDS": "0.1"}
    command = [sys.executable, "train.py", "--source", "alpaca", "--pairs", ",".join(pairs),
               "--bar-store", str(store), "--model-dir", str(model_dir)]  # fmt: skip
    began = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    return time.perf_counter() - began, finished.returncode, finished.stdout + finished.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5, help="how many pairs (default: 5)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    pairs = SYMBOLS[: args.pairs]
    today = dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=YEARS * 365)
    fake = FakeAlpaca(page_size=10_000)  # Alpaca's largest page
    fake.series = {
        symbol: make_daily_bars(first, YEARS * 365 + 1, start_price=100.0 * (i + 1), seed=i)
        for i, symbol in enumerate(pairs)
    }
    with tempfile.TemporaryDirectory() as folder:
        store, model_dir = Path(folder) / "bars.sqlite", Path(folder) / "model"
        seconds, code, output = run_train(pairs, fake, store, model_dir)
        first_requests = len(fake.requests)
        fake.requests.clear()
        again, code_again, _ = run_train(pairs, fake, store, model_dir)
        resumed_from = sorted({q["start"][0][:10] for q in fake.requests})
        manifest = json.loads((model_dir / "manifest.json").read_text()) if code in (0, 4) else {}
    fake.close()
    if code not in (0, 4):
        print(output)
        raise SystemExit(f"pairs-bench: train.py exited {code}")
    updated = manifest["run"]["updated"]
    ok = seconds <= BUDGET_SECONDS
    print(f"{len(pairs)} pairs of daily bars ({YEARS} years each, {first} to {today}), fresh bar store, 2 cores")
    print(f"first run:  {seconds:6.1f} s  (target ≤ {BUDGET_SECONDS} s: {'pass' if ok else 'FAIL'}), exit {code}, "
          f"{first_requests} bar requests; updated {len(updated)}/{len(pairs)}: {', '.join(updated)}")  # fmt: skip
    print(f"second run: {again:6.1f} s, exit {code_again}, {len(fake.requests)} bar requests, "
          f"fetching from {', '.join(resumed_from)} (the last stored bar minus 3)")  # fmt: skip
    for line in output.splitlines():
        if line.startswith("train: ") and ("gate" in line or "bars:" in line):
            print(f"  {line}")  # a pair that did not update, and why (the others are not held back)
    for symbol, card in manifest["pairs"].items():
        ratios = " / ".join(f"{r['mape_ratio']:.3f}" for r in card["backtest"]["horizons"])
        covers = " / ".join(f"{r['model']['coverage']:.1%}" for r in card["backtest"]["horizons"])
        print(f"  {symbol:<9} {card['backtest']['refits']} refits, MAPE ÷ naive {ratios}, coverage {covers}")
    if args.json:
        result = {"pairs": pairs, "seconds": seconds, "second_run_seconds": again, "requests": first_requests}
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
