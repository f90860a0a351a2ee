"""Forecast-quality benchmark: train.py on five years of daily bars, backtest included, against the targets.

Usage: python -m benchmarks.quality [--data PATH ...] [--json PATH]
Runs the embedded history, plus every --data CSV (hourly files are resampled to daily closes). Prints, per
history and horizon, the model/naive MAPE ratio and band coverage against their targets, and the run time
against its 60 s budget. A benchmark, not a test: it reports, and exits 0 either way.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import ROOT, require_file
from cryptopredict.core.files import open_text
from cryptopredict.core.timeframe import DAY

MAX_RATIO = 1.02
COVERAGE = (0.77, 0.83)
MAX_SECONDS = 60.0
YEARS = 5


def last_day(data: Path | None) -> str:
    """The last day of a history, read without pandas (the CSV's last line)."""
    with open_text(data or ROOT / "data" / "btc-usd-1d.csv") as handle:
        last_line = handle.read().rstrip().rsplit("\n", 1)[-1]
    return last_line.split(",", 1)[0][:10]


def run(data: Path | None, folder: Path) -> dict[str, object]:
    end = last_day(data)
    start = f"{int(end[:4]) - YEARS}{end[4:]}"
    model_dir = folder / "model"
    # BTC/USD only: the targets are for Bitcoin, and one pair's run is what the 60 s budget is about.
    command = [sys.executable, "train.py", "--pairs", "BTC/USD", "--start", start, "--model-dir", str(model_dir)]
    command += ["--timeframe", DAY.name]  # the targets are for daily bars, whatever a source defaults to
    if data:
        command += ["--data", str(data)]
    began = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if finished.returncode not in (0, 3):
        raise SystemExit(f"train.py failed:\n{finished.stderr}")
    manifest = json.loads((model_dir / "manifest.json").read_text()) if finished.returncode == 0 else None
    if manifest is None:
        raise SystemExit(f"the gate refused the model:\n{finished.stderr}")
    card = manifest["pairs"]["BTC/USD"]
    return {"history": str(data or "embedded"), "start": start, "seconds": seconds, "manifest": card}


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, action="append", default=[], help="a CSV history to add")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    for data in args.data:
        require_file(data, "quality", "a CSV history")
    results = []
    for data in [None, *args.data]:
        with tempfile.TemporaryDirectory() as folder:
            results.append(run(data, Path(folder)))
    print(f"{'history':<40} {'horizon':>8} {'MAPE ratio':>10} {'target':>7} {'coverage':>9} {'target':>9}")
    for result in results:
        manifest = result["manifest"]
        assert isinstance(manifest, dict)
        for row in manifest["backtest"]["horizons"]:
            ratio, coverage = row["mape_ratio"], row["model"]["coverage"]
            print(
                f"{Path(str(result['history'])).name:<40} {row['horizon']:>4} {row['unit']:<3} "
                f"{ratio:>10.3f} {verdict(ratio <= MAX_RATIO):>7} {coverage:>9.1%} "
                f"{verdict(COVERAGE[0] <= coverage <= COVERAGE[1]):>9}"
            )
        seconds = float(str(result["seconds"]))
        print(
            f"{'':<40} train.py {result['start']}..: {seconds:.1f} s, {seconds / MAX_SECONDS:.2f} of the 60 s budget "
            f"({verdict(seconds <= MAX_SECONDS)}); {manifest['backtest']['refits']} refits, "
            f"{manifest['backtest']['origins']} origins, damping {manifest['model']['damping']}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
