"""A fake Alpaca market-data server on 127.0.0.1, speaking the crypto bars endpoint the SDK calls.

The tests drive the real alpaca-py SDK against it; `benchmarks/pairs.py` uses it to time three hourly pairs
retrained as the workflow does.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import math
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from cryptopredict.core.files import open_text
from tests.fakes.loopback import QuietHandler, send_answer

BARS_PATH = "/v1beta3/crypto/us/bars"


@dataclass(frozen=True)
class Hang:
    """In a script: say nothing for `seconds`, then answer with the real page."""

    seconds: float


@dataclass(frozen=True)
class Truncated:
    """In a script: the real page, cut off halfway (as a dropped connection through a proxy would leave it)."""


PAGE = None  # in a script: the real page
Answer = tuple[int, str] | Hang | Truncated | None


def _bar(start: dt.datetime, price: float, i: int) -> dict[str, Any]:
    """One Alpaca-shaped bar starting at `start` (aware) with close `price`."""
    return {
        "t": start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "o": round(price * 0.99, 2),
        "h": round(price * 1.02, 2),
        "l": round(price * 0.97, 2),
        "c": round(price, 2),
        "v": 100.0 + i,
        "n": 1000 + i,
        "vw": round(price, 2),
    }


def make_daily_bars(
    first: dt.date, count: int, start_price: float = 30_000.0, seed: int = 20240101, zone: str = "UTC"
) -> list[dict[str, Any]]:
    """Alpaca-shaped daily bars: a seeded random walk with 2 % daily volatility, like Bitcoin's.

    Each bar is stamped at midnight in `zone`: Alpaca stamped daily crypto bars at midnight America/Chicago until
    2025 (05:00 or 06:00 UTC), and at midnight UTC since."""
    rng = random.Random(seed)
    bars = []
    price = start_price
    for i in range(count):
        day = first + dt.timedelta(days=i)
        price *= math.exp(rng.gauss(0.0, 0.02))
        bars.append(_bar(dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(zone)), price, i))
    return bars


def bars_from_csv(path: Path, first: str, last: str) -> list[dict[str, Any]]:
    """The rows of a `timestamp,close[,open,high,low,volume]` file (timestamps in Z, gzipped or not) from `first`
    to `last`, as Alpaca-shaped bars: real closes served through the fake. A file of closes only (the one in data/)
    gets each bar's open from the close before it, high and low from the two, and a volume of 1: training reads
    only the close."""
    with open_text(path) as handle:
        rows = list(csv.DictReader(handle))
    bars = []
    for i, row in enumerate(rows):
        if not first <= row["timestamp"] <= last:
            continue
        close = float(row["close"])
        opened = float(row["open"]) if "open" in row else float(rows[max(i - 1, 0)]["close"])
        high = float(row["high"]) if "high" in row else max(opened, close)
        low = float(row["low"]) if "low" in row else min(opened, close)
        volume = float(row["volume"]) if "volume" in row else 1.0
        bars.append({"t": row["timestamp"], "o": opened, "h": high, "l": low, "c": close, "v": volume, "vw": close})
    return [bar | {"n": 1000 + i} for i, bar in enumerate(bars)]


def earliest_starts(requests: list[dict[str, list[str]]]) -> dict[str, str]:
    """The earliest `start` each symbol was asked for: how far back a run fetched."""
    starts: dict[str, str] = {}
    for query in requests:
        symbol, start = query.get("symbols", ["?"])[0], query.get("start", ["?"])[0]
        starts[symbol] = min(starts.get(symbol, start), start)
    return starts


@dataclass
class FakeAlpaca:
    """Serves `bars` for `symbol` (and `series` for any others) in pages of `page_size`.

    `script` holds the answers to the first requests, in order: a (status, body), `PAGE`, `Hang` or `Truncated`.
    """

    symbol: str = "BTC/USD"
    bars: list[dict[str, Any]] = field(default_factory=list)
    series: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    page_size: int = 100
    script: list[Answer] = field(default_factory=list)
    requests: list[dict[str, list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                fake.requests.append(query)
                if parts.path != BARS_PATH:
                    return self._send(404, json.dumps({"message": "not found"}))
                answer = fake.script.pop(0) if fake.script else PAGE
                if isinstance(answer, tuple):
                    return self._send(*answer)
                if isinstance(answer, Hang):
                    time.sleep(answer.seconds)
                body = json.dumps(fake.page(query))
                if isinstance(answer, Truncated):
                    body = body[: len(body) // 2]
                return self._send(200, body)

            def _send(self, status: int, body: str) -> None:
                # A client that gave up waiting (a timeout test) reads no answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    send_answer(self, status, [("Content-Type", "application/json")], body.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        symbol = query.get("symbols", [self.symbol])[0]
        start = query.get("start", [""])[0]
        end = query.get("end", ["9999"])[0]
        bars = self.series.get(symbol, self.bars if symbol == self.symbol else [])
        # Alpaca compares instants; ISO strings in one format compare the same way.
        chosen = [b for b in bars if start[:19] <= b["t"][:19] <= end[:19]]
        offset = int(query.get("page_token", ["0"])[0])
        page = chosen[offset : offset + self.page_size]
        following = offset + self.page_size
        return {
            "bars": {symbol: page} if page else {},
            "next_page_token": str(following) if following < len(chosen) else None,
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
