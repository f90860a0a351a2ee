"""Serving benchmark: the real Waitress server under wrk on loopback, against the targets in docs/benchmarks.md.

Usage: python -m benchmarks.serving [--data data/btc-usd-1h.csv.gz] [--until 2025-10-01T06:00:00Z]
                               [--model-dir DIR] [--seconds 15] [--connections 16] [--json bench.json]

Measures, in one run so machine noise cancels in the ratios, with TEN HOURLY pairs loaded: one BTC/USD model
trained by train.py on the hourly bars in data/ up to `--until` (the default hourly backtest plan, the 365-day
horizon), plus nine copies of it under other names (serving cost depends on the number and size of the tables,
not on their values). Requests ask for instants on the hour, at random: most within 30 days after the last bar,
the rest in the table's past. Figures: /bitcoin, and /predict/{pair} cycling through all ten pairs, against
/health on the same server; /bitcoin against the original design (Prophet fitted on the same hourly bars, one
Prophet.predict per request, built only here as the baseline); p99 latency, cold start, the serving
dependencies' installed size, resident memory over 50,000 requests, and the artifact's size per hourly pair.
All traffic goes to 127.0.0.1; every load phase is bounded in time.
A benchmark, not a test: it prints pass/fail per row and exits 0 either way; without its input it exits 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.baseline import measure_baseline, serve_baseline
from benchmarks.harness import ROOT, prepare_model, require_file, rss_mb, start_server, stop
from benchmarks.wrk import measure_with_wrk
from cryptopredict.core.artifact import (
    Artifact,
    load_artifact,
    pair_files,
    pair_name,
    read_verified_files,
    write_artifact,
)
from cryptopredict.core.dates import format_utc, parse_utc
from cryptopredict.core.forecast import ForecastTable
from cryptopredict.core.timeframe import HOUR
from cryptopredict.core.track import TrackRecord
from cryptopredict.training.bars import HOURLY_BTC_USD
from tests.fakes.loopback import free_port

MB = 1024 * 1024
DEFAULT_UNTIL = "2025-10-01T06:00:00Z"  # a six-hourly run's instant, with years of bars before it
PAIRS_SERVED = 10
FUTURE_HOURS = 30 * 24  # requests ask for hours up to 30 days past the last bar, where traffic concentrates
FUTURE_SHARE = 0.7  # the rest ask for hours in the table's past
Row = dict[str, object]  # one figure against its target, as printed and written


@dataclasses.dataclass(frozen=True)
class Served:
    """The widened artifact the server loads, its sizes, and the wrk scripts that ask it."""

    model_dir: Path
    pairs: list[str]
    artifact: Artifact
    manifest_share: float  # bytes of the manifest each pair carries
    pair_mb: dict[str, float]
    btc_files: dict[str, float]  # kB of each of BTC/USD's files, by kind
    artifact_mb: float
    instants: list[str]
    bitcoin_script: Path
    pairs_script: Path
    health_script: Path


@dataclasses.dataclass(frozen=True)
class Measured:
    """What the server did: cold starts (s), each load phase's wrk figures, and its resident memory (MB)."""

    cold: list[float]
    health: dict[str, float]
    bitcoin: dict[str, float]
    predict: dict[str, float]
    first_half: dict[str, float]
    second_half: dict[str, float]
    rss_start: float
    rss_mid: float
    rss_end: float


def hourly_instants(first_epoch: int, last_bar: int, count: int = 5_000, seed: int = 13) -> list[str]:
    """`count` random instants on the hour (ISO 8601, Z): FUTURE_SHARE of them within FUTURE_HOURS after the last
    bar, the rest from `first_epoch` to the last bar, so lookups land all over the hourly table."""
    rng = random.Random(seed)
    past_hours = (last_bar - first_epoch) // HOUR.seconds
    offsets = [
        rng.randint(1, FUTURE_HOURS) if rng.random() < FUTURE_SHARE else -rng.randint(0, past_hours)
        for _ in range(count)
    ]
    return [format_utc(last_bar + hours * HOUR.seconds) for hours in offsets]


def dates_script(folder: Path, instants: Sequence[str], routes: Sequence[str], name: str) -> Path:
    """A wrk script cycling through `instants`, each on the next of `routes` in turn, so no lookup is one cached row
    and every route sees many instants."""
    targets = [f"{routes[i % len(routes)]}?date={instant}" for i, instant in enumerate(instants)]
    path = folder / f"{name}.lua"
    listed = ",".join(f'"{t}"' for t in targets)
    path.write_text(
        f"local targets = {{{listed}}}\nlocal i = 0\n"
        'request = function()\n  i = i % #targets + 1\n  return wrk.format("GET", targets[i])\nend\n'
    )
    return path


def hourly_train_args(data: Path, until: str) -> list[str]:
    """train.py's options for one hourly BTC/USD model on the CSV's bars up to `until`, with the default hourly
    backtest plan and horizon."""
    return ["--data", str(data), "--pairs", "BTC/USD", "--timeframe", HOUR.name, "--until", until]


EXTRA_SYMBOLS = [
    "ETH/USD", "SOL/USD", "LTC/USD", "LINK/USD", "DOGE/USD", "AVAX/USD", "DOT/USD", "UNI/USD", "XRP/USD",
]  # fmt: skip


def widen_artifact(model_dir: Path, count: int) -> list[str]:
    """Republish the artifact with `count` pairs: the trained ones plus relabelled copies of them."""
    manifest, contents = read_verified_files(model_dir)
    cards, files = dict(manifest["pairs"]), dict(contents)
    trained = list(cards)
    extra = [symbol for symbol in EXTRA_SYMBOLS if symbol not in cards]
    for i, symbol in enumerate(extra[: count - len(trained)]):
        source = trained[i % len(trained)]
        names_in, names_out = pair_files(source), pair_files(symbol)
        for name_in, name_out in zip(names_in.all(), names_out.all(), strict=True):
            files[name_out] = contents[name_in]  # the Prophet model and the band, as they are
        table = dataclasses.replace(ForecastTable.from_json(contents[names_in.forecast]), symbol=symbol)
        files[names_out.forecast] = table.to_json()
        record = TrackRecord.from_json(contents[names_in.record])  # the server checks each record names its pair
        files[names_out.record] = dataclasses.replace(record, symbol=symbol).to_json()
        cards[symbol] = {**cards[source], "symbol": symbol}
    write_artifact(model_dir, files, {**{k: v for k, v in manifest.items() if k != "files"}, "pairs": cards})
    return list(cards)


def installed_size(requirements: Path) -> float:
    """MB that `pip install --target` puts in an empty folder for these requirements."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--target", folder, "-r", str(requirements)],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) / MB


def until_instant(text: str) -> str:
    """--until as train.py will read it: checked here, passed on as given."""
    try:
        parse_utc(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def row(name: str, value: float, target: str, ok: bool, unit: str = "") -> Row:
    return {"figure": name, "value": round(value, 3), "unit": unit, "target": target, "pass": ok}


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data",
        type=Path,
        default=HOURLY_BTC_USD,
        metavar="CSV",
        help="hourly BTC/USD bars for the model and the baseline (default: data/btc-usd-1h.csv.gz)",
    )
    parser.add_argument(
        "--until",
        type=until_instant,
        default=DEFAULT_UNTIL,
        metavar="INSTANT",
        help=f"train on the bars closed by this instant (default: {DEFAULT_UNTIL})",
    )
    parser.add_argument(
        "--model-dir", type=Path, help="a trained artifact (default: train an hourly one on --data up to --until)"
    )
    parser.add_argument("--seconds", type=float, default=15, help="duration of each load phase (default: 15)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default: 16)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args()


def prepare_served(args: argparse.Namespace, work: Path) -> Served:
    """The model trained (or copied) into `work` and widened to PAIRS_SERVED pairs, its sizes, and the wrk scripts."""
    model_dir = prepare_model(args.model_dir, work, hourly_train_args(args.data, args.until))
    pairs = widen_artifact(model_dir, PAIRS_SERVED)
    artifact = load_artifact(model_dir)
    table = artifact.pairs["BTC/USD"].forecast
    sizes = {name: entry["bytes"] for name, entry in artifact.manifest["files"].items()}
    manifest_share = (model_dir / "manifest.json").stat().st_size / len(pairs)
    instants = hourly_instants(table.start, table.last_bar)
    routes = [f"/predict/{pair_name(symbol)}" for symbol in pairs]
    return Served(
        model_dir=model_dir,
        pairs=pairs,
        artifact=artifact,
        manifest_share=manifest_share,
        pair_mb={s: (sum(sizes[n] for n in pair_files(s).all()) + manifest_share) / MB for s in pairs},
        btc_files={name.split(".")[1]: sizes[name] / 1000 for name in pair_files("BTC/USD").all()},
        artifact_mb=(sum(sizes.values()) + manifest_share * len(pairs)) / MB,
        instants=instants,
        bitcoin_script=dates_script(work, instants, ["/bitcoin"], "bitcoin"),
        pairs_script=dates_script(work, instants, routes, "pairs"),
        # /health through the same kind of Lua script: wrk's per-request Lua call costs CPU on the cores it shares with
        # the server, which the server then lacks, and the ratios must compare the server's work, not the client's.
        health_script=dates_script(work, instants, ["/health"], "health"),
    )


def measure_server(served: Served, args: argparse.Namespace, work: Path) -> Measured:
    """Five cold starts, then /health, /bitcoin and /predict/{pair} under wrk, and memory over 50,000 requests."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MODEL_DIR": str(served.model_dir), "PORT": str(port), "HOST": "127.0.0.1"}
    probe = f"{base}/bitcoin?date={format_utc(served.artifact.pairs['BTC/USD'].forecast.last_bar)}"

    cold = []
    for _ in range(5):
        process, seconds = start_server([sys.executable, "api.py"], env, probe, work / "api.log")
        cold.append(seconds)
        stop(process)
    process, _ = start_server([sys.executable, "api.py"], env, probe, work / "api.log")
    try:
        health = measure_with_wrk(base, args.seconds, args.connections, served.health_script)
        bitcoin = measure_with_wrk(base, args.seconds, args.connections, served.bitcoin_script)
        predict = measure_with_wrk(base, args.seconds, args.connections, served.pairs_script)
        # Memory: 50,000 requests across the ten pairs in two halves; growth is judged on the second half.
        rss_start = rss_mb(process.pid)
        if bitcoin["requests"] == 0 or predict["non_2xx"] or bitcoin["non_2xx"]:
            raise SystemExit(f"bench: errors under load:\n{(work / 'api.log').read_text()[-2000:]}")
        half = min(25_000 / predict["rps"] + 1, 120)
        first_half = measure_with_wrk(base, half, args.connections, served.pairs_script)
        rss_mid = rss_mb(process.pid)
        second_half = measure_with_wrk(base, half, args.connections, served.pairs_script)
        rss_end = rss_mb(process.pid)
    finally:
        stop(process)
    return Measured(cold, health, bitcoin, predict, first_half, second_half, rss_start, rss_mid, rss_end)


def measure_footprint() -> float:
    """MB of the serving dependencies as pip installs them, plus the static files."""
    static = ROOT / "cryptopredict" / "serving" / "static"  # plotly.js for the chart page counts too
    return (
        installed_size(ROOT / "requirements-api.txt")
        + sum(f.stat().st_size for f in static.rglob("*") if f.is_file()) / MB
    )


def figure_rows(served: Served, measured: Measured, original: dict[str, float], footprint: float) -> list[Row]:
    """Each figure against its target."""
    health, bitcoin, predict = measured.health, measured.bitcoin, measured.predict
    requests_total = measured.first_half["requests"] + measured.second_half["requests"]
    growth = measured.rss_end - measured.rss_mid
    vs_health = bitcoin["rps"] / health["rps"]
    pairs_vs_health = predict["rps"] / health["rps"]
    vs_original = bitcoin["rps"] / original["rps"]
    p99_ratio = bitcoin["p99_ms"] / health["p99_ms"]
    pairs_p99_ratio = predict["p99_ms"] / health["p99_ms"]
    cold_start = statistics.median(measured.cold)
    largest_pair = max(served.pair_mb.values())
    timeframes = {pair.card["timeframe"] for pair in served.artifact.pairs.values()}
    hourly = "hourly" if timeframes == {HOUR.name} else "/".join(sorted(timeframes))
    rss_end = measured.rss_end
    return [
        row("/bitcoin req/s ÷ /health req/s", vs_health, "≥ 0.80", vs_health >= 0.8),
        row("/predict/{pair} over 10 pairs req/s ÷ /health req/s", pairs_vs_health, "≥ 0.80", pairs_vs_health >= 0.8),
        row("/bitcoin req/s ÷ original Prophet path", vs_original, "≥ 30", vs_original >= 30),
        row("/bitcoin p99 ÷ /health p99", p99_ratio, "≤ 1.3", p99_ratio <= 1.3),
        row("/predict/{pair} p99 ÷ /health p99", pairs_p99_ratio, "≤ 1.3", pairs_p99_ratio <= 1.3),
        row("cold start to first /bitcoin 200 (median of 5)", cold_start, "≤ 0.5", cold_start <= 0.5, "s"),
        row("serving dependencies (pip install --target) + static files", footprint, "≤ 30", footprint <= 30, "MB"),
        row(
            f"RSS after {requests_total:,} /predict requests, {len(served.pairs)} {hourly} pairs loaded",
            rss_end,
            "≤ 80",
            rss_end <= 80 and requests_total >= 50_000,
            "MB",
        ),
        row("RSS growth over the last half", growth, "none (≤ 0.25 noise)", growth <= 0.25, "MB"),
        row(f"artifact per {hourly} pair (largest, manifest shared)", largest_pair, "≤ 1", largest_pair <= 1, "MB"),
    ]


def print_rows(rows: list[Row]) -> None:
    width = max(len(str(r["figure"])) for r in rows)
    print(f"{'figure':<{width}}  {'measured':>10}  {'target':>16}  result")
    for r in rows:
        value = f"{r['value']:.3f} {r['unit']}".strip()
        print(f"{r['figure']:<{width}}  {value:>10}  {r['target']:>16}  {'pass' if r['pass'] else 'FAIL'}")


def print_details(
    served: Served, measured: Measured, original: dict[str, float], args: argparse.Namespace, load: float
) -> None:
    """The model, the artifact, the requests and the raw load figures behind the rows."""
    btc = served.artifact.pairs["BTC/USD"]
    table = btc.forecast
    health, bitcoin, predict = measured.health, measured.bitcoin, measured.predict
    print(
        f"\nmodel: BTC/USD {btc.card['timeframe']} bars to {btc.card['last_bar']}, fitted on {btc.card['rows']} bars, "
        f"table {format_utc(table.start)} to {format_utc(table.end)} ({len(table.prediction):,} rows), "
        f"{btc.card['backtest']['refits']} backtest refits, gate {'passed' if btc.card['gate']['passed'] else 'FAILED'}"
    )
    print(
        f"artifact: {len(served.pairs)} pairs, {served.artifact_mb:.2f} MB; per pair "
        f"{max(served.pair_mb.values()):.3f} MB (BTC/USD: "
        + ", ".join(f"{kind} {kb:.0f} kB" for kind, kb in served.btc_files.items())
        + f", manifest share {served.manifest_share / 1000:.1f} kB)"
    )
    print(
        f"requests: {len(served.instants):,} instants on the hour, {FUTURE_SHARE:.0%} within {FUTURE_HOURS} h after "
        f"the last bar, the rest back to the table's first bar"
    )
    print(
        f"/health {health['rps']:.0f} req/s p50 {health['p50_ms']:.2f} ms p99 {health['p99_ms']:.2f} ms; "
        f"/bitcoin {bitcoin['rps']:.0f} req/s p50 {bitcoin['p50_ms']:.2f} ms p99 {bitcoin['p99_ms']:.2f} ms; "
        f"/predict {predict['rps']:.0f} req/s p50 {predict['p50_ms']:.2f} ms p99 {predict['p99_ms']:.2f} ms; "
        f"original {original['rps']:.1f} req/s p99 {original['p99_ms']:.0f} ms; "
        f"RSS {measured.rss_start:.1f} → {measured.rss_mid:.1f} → {measured.rss_end:.1f} MB; "
        f"{args.connections} connections, {args.seconds:.0f} s a phase; {os.cpu_count()} cores, load average "
        f"{load:.1f} at the start"
    )


def main() -> int:
    args = parse_arguments()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.data, args.until)
        return 0
    require_file(args.data, "bench")
    if not shutil.which("wrk"):
        raise SystemExit("bench: wrk is not installed (Debian: apt-get install wrk)")
    load = os.getloadavg()[0]  # printed with the figures: other work on the machine makes them noisy
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        served = prepare_served(args, work)
        measured = measure_server(served, args, work)
        original = measure_baseline(args, served.bitcoin_script, work)
        footprint = measure_footprint()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = figure_rows(served, measured, original, footprint)
    print_rows(rows)
    print_details(served, measured, original, args, load)
    if args.json:
        raw = {
            "health": measured.health,
            "bitcoin": measured.bitcoin,
            "predict": measured.predict,
            "original": original,
            "cold_start_s": measured.cold,
            "artifact_mb": served.artifact_mb,
            "pair_mb": served.pair_mb,
            "until": args.until,
        }
        args.json.write_text(json.dumps({"rows": rows, "raw": raw}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
