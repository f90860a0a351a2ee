"""The track record of chains of real runs: each run scores what the previous artifact served against what
happened, exactly once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cryptopredict.core.artifact import load_artifact, pair_files, read_verified_files
from cryptopredict.core.dates import format_utc
from cryptopredict.core.manifest import FORMAT
from cryptopredict.core.timeframe import DAY, HOUR
from cryptopredict.core.track import TrackRecord
from tests.core.track_record_helpers import BTC, client_of, recompute
from tests.track_chain import HOURLY_UNTILS, Chain, daily_closes, hourly_closes, record_served


def all_points(client: Any, pair: str, limit: int = 7) -> list[dict[str, Any]]:
    """Every point, newest first, by following `next` from the first page (small pages: paging is exercised)."""
    points: list[dict[str, Any]] = []
    url: str | None = f"/pairs/{pair}/track-record?limit={limit}"
    while url:
        body = client.get(url).get_json()
        assert len(body["points"]) <= limit
        points += body["points"]
        url = body["next"]
    return points


def check_chain(chain: Chain, pair: str, closes: dict[int, float], bar_seconds: int) -> dict[str, Any]:
    """Every point of the final record is exactly what the API served for that bar before it was scored, against
    the close in the data; every bar served and closed is scored once; every summary figure follows from the points."""
    client = client_of(chain.model_dir)
    points = all_points(client, pair)
    served = chain.served[pair]
    dates = [p["date"] for p in points]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)
    assert dates == [format_utc(bar) for bar in sorted(served, reverse=True)]  # each served bar, once
    for point in points:
        bar = int(next(iter([b for b in served if format_utc(b) == point["date"]])))
        answer, anchor = served[bar]
        assert {k: point[k] for k in ("date", "prediction", "prediction_low", "prediction_high", "model_version")} == {
            k: answer[k] for k in ("date", "prediction", "prediction_low", "prediction_high", "model_version")
        }
        assert point["actual"] == closes[bar]
        assert point["naive"] == closes[anchor]
        assert point["horizon"] == (bar - anchor) // bar_seconds
    summary = client.get(f"/pairs/{pair}/track-record").get_json()["summary"]
    assert summary["overall"] == recompute(points)
    assert summary["archived"] == 0
    assert summary["first_date"] == dates[-1] and summary["last_date"] == dates[0]
    for bucket in summary["buckets"]:
        members = [p for p in points if bucket["first_horizon"] <= p["horizon"] <= bucket["last_horizon"]]
        assert all(p["bucket"] == bucket["bucket"] for p in members)
        assert bucket["figures"] == recompute(members), bucket["bucket"]
    versions = list(dict.fromkeys(p["model_version"] for p in reversed(points)))
    assert [v["model_version"] for v in summary["versions"]] == versions
    for entry in summary["versions"]:
        assert entry["figures"] == recompute([p for p in points if p["model_version"] == entry["model_version"]])
    window = summary["drift"]
    assert window["figures"] == recompute(points)  # the chains span less than the 30-day window
    assert window["status"] == "too few points" or len(points) >= window["rules"]["min_points"]
    return summary


def test_an_hourly_chain_records_exactly_what_was_served(hourly_chain: Chain) -> None:
    summary = check_chain(hourly_chain, "BTC-USD", hourly_closes(), HOUR.seconds)
    # 6 bars a run for four runs, 30 after the missed runs, then 6: every hourly bucket is reached.
    assert summary["overall"]["points"] == 4 * 6 + 30 + 6
    assert [b["figures"]["points"] for b in summary["buckets"]] == [6 * 6, 18, 6]
    assert [b["bucket"] for b in summary["buckets"]] == [label for label, _, _ in HOUR.track_buckets]
    assert len(summary["versions"]) == len(HOURLY_UNTILS) - 1
    # 60 points are fewer than an hourly record's minimum (a week of bars): no verdict, whatever they show.
    drift = summary["drift"]
    assert drift["rules"]["min_points"] == HOUR.drift_min_points == 168
    assert (drift["status"], drift["degraded"], drift["reasons"]) == ("too few points", False, [])
    print(json.dumps(summary["overall"]))


def test_a_daily_chain_records_exactly_what_was_served(daily_chain: Chain) -> None:
    btc = check_chain(daily_chain, "BTC-USD", daily_closes("BTC-USD"), DAY.seconds)
    eth = check_chain(daily_chain, "ETH-USD", daily_closes("ETH-USD"), DAY.seconds)
    assert btc["overall"]["points"] == 1 + 1 + 3 + 9
    assert eth["overall"]["points"] == 1 + 3 + 9  # it joined on the second run
    assert [b["figures"]["points"] for b in btc["buckets"]] == [4, 8, 2]
    assert btc["drift"]["status"] == "too few points" and not btc["drift"]["degraded"]
    assert btc["drift"]["rules"]["min_points"] == DAY.drift_min_points == 21  # three weeks of daily closes


def test_each_run_says_what_happened_to_the_record_in_one_line(daily_chain: Chain) -> None:
    first, second = daily_chain.results[0].track, daily_chain.results[1].track
    assert first == {BTC: "no previous artifact: the record starts empty; nothing to score (no served forecast)"}
    assert second["ETH/USD"].startswith("new to the artifact: the record starts empty;")
    assert second[BTC].startswith("scored 1 bars 2024-10-10T00:00:00Z to 2024-10-10T00:00:00Z (1-1 days ahead)")
    assert all("\n" not in note for result in daily_chain.results for note in result.track.values())


def test_the_record_is_in_the_artifact_checksummed(hourly_chain: Chain) -> None:
    manifest, files = read_verified_files(hourly_chain.model_dir)
    name = pair_files(BTC).record
    assert name in manifest["files"] and manifest["format"] == FORMAT
    record = TrackRecord.from_json(files[name])
    assert len(record) == 60 and record.to_json() == files[name]
    assert load_artifact(hourly_chain.model_dir).pairs[BTC].record == record


def test_record_served_asks_only_bars_closed_by_the_next_run(hourly_chain: Chain, tmp_path: Path) -> None:
    """The chain helper's own contract: bars after the artifact's newest, closed by the cut-off."""
    chain = Chain(tmp_path, [])
    record_served(hourly_chain.snapshots[0], HOURLY_UNTILS[1], chain)
    assert [format_utc(bar) for bar in chain.served["BTC-USD"]] == [f"2025-03-01T{h:02d}:00:00Z" for h in range(6, 12)]
    assert sys.version_info >= (3, 11)
