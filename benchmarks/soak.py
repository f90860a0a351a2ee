"""Soak benchmark: 60 s of wrk at 32 connections against /bitcoin with valid and invalid dates mixed.

Usage: python -m benchmarks.soak [--model-dir DIR] [--seconds 60] [--connections 32] [--json soak.json]

Reports requests/s, socket errors, answers by status class (5xx counted by a wrk Lua hook), and the server's
resident memory at the start and the end, against the targets: no 5xx, no socket errors, growth ≤ 5 MB.
All traffic goes to 127.0.0.1 and the load stops by itself. A benchmark, not a test: it exits 0 either way.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import prepare_model, rss_mb, start_server, stop
from benchmarks.wrk import parse_wrk, run_wrk
from tests.fakes.loopback import free_port

# One round of the mix: half valid dates across the model's range, half every kind of bad input.
INVALID = [
    "garbage", "2025-13-01", "2025-02-30", "", "2025-01-01T12:00:00", "1999-01-01", "2199-12-31",
    "%27%3B%20DROP%20TABLE%20bars%3B--", "%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%95-01-01", "x" * 1_500, "y" * 2_100,
]  # fmt: skip

LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
local dates = {%(dates)s}
local i = 0
ok, client_errors, server_errors, other = 0, 0, 0, 0
request = function()
  i = i %% #dates + 1
  return wrk.format("GET", "/bitcoin?date=" .. dates[i])
end
response = function(status, headers, body)
  if status >= 500 then server_errors = server_errors + 1
  elseif status >= 400 then client_errors = client_errors + 1
  elseif status >= 200 and status < 300 then ok = ok + 1
  else other = other + 1 end
end
done = function(summary, latency, requests)
  local totals = {ok = 0, client_errors = 0, server_errors = 0, other = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do totals[name] = totals[name] + thread:get(name) end
  end
  io.write(string.format("statuses: 2xx %%d 4xx %%d 5xx %%d other %%d\\n",
    totals.ok, totals.client_errors, totals.server_errors, totals.other))
end
"""


def mixed_script(folder: Path, first_epoch: int, last_epoch: int) -> Path:
    days = [time.strftime("%Y-%m-%d", time.gmtime(t)) for t in range(first_epoch, last_epoch + 1, 7 * 86_400)]
    mix: list[str] = []
    for n, day in enumerate(days):
        mix += [day, INVALID[n % len(INVALID)]]
    path = folder / "mixed.lua"
    path.write_text(LUA % {"dates": ",".join(json.dumps(d) for d in mix)})
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model-dir", type=Path, help="a trained artifact (default: train one on the embedded history)"
    )
    parser.add_argument("--seconds", type=float, default=60, help="length of the soak (default: 60)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default: 32)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("soak: wrk is not installed (Debian: apt-get install wrk)")

    from cryptopredict.core.artifact import load_artifact

    work = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        model_dir = prepare_model(args.model_dir, work)
        table = load_artifact(model_dir).pairs["BTC/USD"].forecast
        script = mixed_script(work, table.start, table.end)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "MODEL_DIR": str(model_dir), "PORT": str(port), "HOST": "127.0.0.1"}
        process, _ = start_server([sys.executable, "api.py"], env, f"{base}/health", work / "api.log")
        try:
            rss_start = rss_mb(process.pid)
            output = run_wrk(base, args.seconds, args.connections, script)
            rss_end = rss_mb(process.pid)
            alive = process.poll() is None
        finally:
            stop(process)
        log_lines = sum(1 for _ in (work / "api.log").open())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report(output, args, rss_start, rss_end, alive, log_lines)


def report(output: str, args: argparse.Namespace, rss_start: float, rss_end: float, alive: bool, log_lines: int) -> int:
    statuses = re.search(r"statuses: 2xx (\d+) 4xx (\d+) 5xx (\d+) other (\d+)", output)
    if not statuses:
        raise SystemExit(f"soak: wrk printed no status counts:\n{output}")
    ok, client_errors, server_errors, other = (int(g) for g in statuses.groups())
    summary = parse_wrk(output)
    rps, socket_errors = summary["rps"], int(summary["socket_errors"])
    growth = rss_end - rss_start
    rows = [
        ("requests/s", f"{rps:,.0f}", "", True),
        ("latency p50 / p99", f"{summary['p50_ms']:.1f} / {summary['p99_ms']:.1f} ms", "", True),
        ("answers 2xx / 4xx / other", f"{ok:,} / {client_errors:,} / {other}", "", True),
        ("5xx answers", f"{server_errors}", "0", server_errors == 0),
        ("socket errors (connect, read, write, timeout)", f"{socket_errors}", "0", socket_errors == 0),
        ("RSS start → end", f"{rss_start:.1f} → {rss_end:.1f} MB", "", True),
        ("RSS growth", f"{growth:+.2f} MB", "≤ 5 MB", growth <= 5),
        ("server still up after the soak", "yes" if alive else "NO", "yes", alive),
        ("access-log lines written", f"{log_lines:,}", "", True),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"soak: {args.seconds:.0f} s, {args.connections} connections, valid and invalid dates mixed 1:1")
    for name, value, target, passed in rows:
        verdict = ("pass" if passed else "FAIL") if target else ""
        print(f"{name:<{width}}  {value:>24}  {target:>8}  {verdict}")
    if args.json:
        keys = ["rps", "ok", "client_errors", "server_errors", "socket_errors", "rss_start_mb", "rss_end_mb"]
        values = [rps, ok, client_errors, server_errors, socket_errors, rss_start, rss_end]
        args.json.write_text(json.dumps(dict(zip(keys, values, strict=True)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
