"""The track record: each run scores what the previous artifact served against what happened."""

from __future__ import annotations

import html
import json
import math
import random
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from cryptopredict.core.artifact import ArtifactError, load_artifact, pair_files, read_verified_files, write_artifact
from cryptopredict.core.dates import format_utc
from cryptopredict.core.manifest import FORMAT
from cryptopredict.core.timeframe import DAY, HOUR
from cryptopredict.core.track import KEEP_DAYS, DriftRules, Run, TrackRecord, empty_record, format_summary, verdict_line
from cryptopredict.serving.app import create_app
from cryptopredict.serving.messages import NOTHING_SCORED
from cryptopredict.serving.schemas import TrackRecordPage
from cryptopredict.training import cli as train_cli
from cryptopredict.training.pipeline import read_previous, train
from tests import track_chain
from tests.conftest import HOURLY_BTC_USD, ROOT, SMALL_HOURLY_START, small_hourly_settings
from tests.track_chain import HOURLY_UNTILS, Chain, daily_closes, hourly_closes, record_served

# The chains are session fixtures shared with the browser test.
hourly_chain = track_chain.hourly_chain
daily_chain = track_chain.daily_chain

BTC = "BTC/USD"


def client_of(model_dir: Path) -> Any:
    return create_app({"MODEL_DIR": str(model_dir), "TESTING": True, "ACCESS_LOG": False}).test_client()


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


def fsum_share(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def recompute(points: list[dict[str, Any]]) -> dict[str, Any]:
    """A Figures block recomputed from listed points (naive = the close of the serving model's newest bar)."""
    if not points:
        return {"points": 0, "mape": None, "naive_mape": None, "mape_ratio": None, "coverage": None}
    errors = [abs(p["prediction"] - p["actual"]) / p["actual"] for p in points]
    naive = [abs(p["naive"] - p["actual"]) / p["actual"] for p in points]
    return {
        "points": len(points),
        "mape": fsum_share(errors),
        "naive_mape": fsum_share(naive),
        "mape_ratio": math.fsum(errors) / math.fsum(naive),
        "coverage": sum(p["prediction_low"] <= p["actual"] <= p["prediction_high"] for p in points) / len(points),
    }


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


# --- the chains -----------------------------------------------------------------------------------------------


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


# --- runs that must not double-count, crash or lose the record ---------------------------------------------------


def cli_args(model_dir: Path, until: str) -> list[str]:
    """train.py's options for small_hourly_settings."""
    return [
        "--data", str(HOURLY_BTC_USD), "--pairs", BTC, "--timeframe", "1Hour",
        "--start", SMALL_HOURLY_START.isoformat(),
        "--until", until, "--model-dir", str(model_dir), "--backtest-refits", "12", "--backtest-span-days", "120",
        "--gate-min-coverage", "0", "--gate-max-coverage", "1", "--gate-max-coverage-gap", "1",
    ]  # fmt: skip


def test_a_run_with_no_new_bars_and_a_rerun_score_nothing_twice(
    hourly_chain: Chain, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(hourly_chain.snapshots[1], model_dir)
    before = (model_dir / pair_files(BTC).record).read_bytes()
    assert train_cli.main(cli_args(model_dir, format_utc(HOURLY_UNTILS[1]))) == 0  # the same cut-off again
    out = capsys.readouterr().out
    assert f"{BTC}: track record: as it was (nothing published)" in out.splitlines()
    assert (model_dir / pair_files(BTC).record).read_bytes() == before
    # The next run's line, printed per pair like the others; the record it writes is the chain's exactly.
    assert train_cli.main(cli_args(model_dir, format_utc(HOURLY_UNTILS[2]))) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith(f"{BTC}: track record: ")]
    assert len(line) == 1 and "scored 6 bars 2025-03-01T12:00:00Z to 2025-03-01T17:00:00Z (1-6 hours ahead)" in line[0]
    chain_record = TrackRecord.from_json((hourly_chain.snapshots[2] / pair_files(BTC).record).read_bytes())
    assert TrackRecord.from_json((model_dir / pair_files(BTC).record).read_bytes()).date == chain_record.date


def test_a_model_version_seen_twice_scores_only_bars_after_the_records_newest(
    hourly_chain: Chain, tmp_path: Path
) -> None:
    """The artifact of run 1 served again (a rerun from it, or a model kept as it was) with the record of run 2,
    which already scored its first six bars: run 3 scores only the bars after them, with the same version."""
    manifest, files = read_verified_files(hourly_chain.snapshots[1])
    _, later = read_verified_files(hourly_chain.snapshots[2])
    name = pair_files(BTC).record
    model_dir = tmp_path / "model"
    write_artifact(model_dir, {**files, name: later[name]}, {k: v for k, v in manifest.items() if k != "files"})
    result = train(small_hourly_settings(model_dir, until=HOURLY_UNTILS[3]))
    note = result.track[BTC]
    assert "scored 6 bars 2025-03-01T18:00:00Z to 2025-03-01T23:00:00Z (7-12 hours ahead)" in note
    assert "(bars to 2025-03-01T17:00:00Z were scored already)" in note
    record = load_artifact(model_dir).pairs[BTC].record
    assert record.date[:12] == TrackRecord.from_json(later[name]).date and len(record) == 18
    version = manifest["pairs"][BTC]["model_version"]
    assert [r.model_version for r in record.runs].count(version) == 1
    versions = {v["model_version"]: v["figures"]["points"] for v in record.summary["versions"]}
    assert versions[version] == 12  # six scored by run 2, six now: one entry, nothing counted twice


def test_a_previous_artifact_failing_its_checksums_starts_a_new_record(hourly_chain: Chain, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(hourly_chain.snapshots[2], model_dir)
    record_file = model_dir / pair_files(BTC).record
    record_file.write_bytes(record_file.read_bytes().replace(b'"format":1', b'"format":1 '))
    result = train(small_hourly_settings(model_dir, until=HOURLY_UNTILS[3]))
    assert result.outcomes[BTC].status == "updated"
    assert result.track[BTC].startswith("the previous artifact cannot be used (model file ")
    assert "does not match its checksum" in result.track[BTC] and "the record starts empty" in result.track[BTC]
    assert len(load_artifact(model_dir).pairs[BTC].record) == 0


def test_a_format_4_artifact_is_reanchored_and_scored_and_its_record_starts(
    hourly_chain: Chain, tmp_path: Path
) -> None:
    manifest, files = read_verified_files(hourly_chain.snapshots[1])
    del files[pair_files(BTC).record]
    old = tmp_path / "model"
    write_artifact(old, files, {**{k: v for k, v in manifest.items() if k != "files"}, "format": 4})
    with pytest.raises(ArtifactError, match="is artifact format 4, this server reads 5: retrain"):
        load_artifact(old)
    assert list(read_previous(old)) == [BTC]
    result = train(small_hourly_settings(old, until=HOURLY_UNTILS[2]))
    assert result.outcomes[BTC].fitted and result.outcomes[BTC].fitted.card["update"] == "reanchor"
    assert result.track[BTC].startswith(
        "the previous artifact has no track record (format 4): the record starts empty;"
    )
    assert len(load_artifact(old).pairs[BTC].record) == 6


# --- the file: bounded, compact, precise errors -------------------------------------------------------------------


Batch = tuple[Run, list[tuple[int, float, float, float, float]]]


def synthetic_batches(days: int, seed: int = 16, coverage: float = 0.8, away: bool = False) -> list[Batch]:
    """Six-hourly runs over `days` days of hourly bars: a random walk, served the naive forecast (or one that moves
    away from what happens), with a band holding the close a share `coverage` of the time. Fixed seed."""
    rng = random.Random(seed)
    start = 1_700_000_000 // 3600 * 3600
    price, batches = 60_000.0, []
    for run in range(days * 4):
        anchor = start + run * 6 * 3600
        rows = []
        for h in range(1, 7):
            actual = round(price * math.exp(rng.gauss(0, 0.004 * math.sqrt(h))), 2)
            prediction = round(2 * price - actual, 2) if away else price
            if rng.random() < coverage:
                low, high = round(min(prediction, actual) * 0.99, 2), round(max(prediction, actual) * 1.01, 2)
            else:
                low, high = round(actual * 1.01, 2), round(actual * 1.02, 2)
            rows.append((anchor + h * 3600, prediction, low, high, actual))
        batches.append((Run(f"v{run // 28}", anchor, price), rows))
        price = rows[-1][4]
    return batches


def synthetic_record(days: int, **options: Any) -> TrackRecord:
    record = empty_record(BTC, HOUR.name, 80, DriftRules())
    for run, rows in synthetic_batches(days, **options):
        record = record.extended(run, rows)
    return record


def test_old_points_are_folded_never_dropped() -> None:
    batches = synthetic_batches(400)
    record = synthetic_record(400)
    assert record.date[-1] - record.date[0] < KEEP_DAYS * 86_400 <= record.date[-1] - record.date[0] + 3600
    assert record.archive.points + len(record) == 400 * 24
    assert TrackRecord.from_json(record.to_json()) == record
    flat = [
        {
            "prediction": p,
            "prediction_low": lo,
            "prediction_high": hi,
            "actual": a,
            "naive": run.naive,
            "version": run.model_version,
        }
        for run, rows in batches
        for _, p, lo, hi, a in rows
    ]
    summary = record.summary
    assert summary["archived"] == record.archive.points > 0
    assert summary["first_date"] == format_utc(batches[0][1][0][0])
    for got, expected in [(summary["overall"], recompute(flat))] + [
        (v["figures"], recompute([p for p in flat if p["version"] == v["model_version"]])) for v in summary["versions"]
    ]:
        assert got["points"] == expected["points"]
        for key in ("mape", "naive_mape", "mape_ratio", "coverage"):
            assert got[key] == pytest.approx(expected[key], rel=1e-12), key
    assert [v["model_version"] for v in summary["versions"]] == list(dict.fromkeys(p["version"] for p in flat))
    assert summary["buckets"][0]["figures"]["points"] == 400 * 24  # every synthetic horizon is 1-6 h


def test_a_full_year_of_hourly_points_stays_under_a_megabyte() -> None:
    record = synthetic_record(KEEP_DAYS)
    size = len(record.to_json())
    assert len(record) == KEEP_DAYS * 24 and record.archive.points == 0
    assert size < 1_000_000, size


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format=2), "track record: format 2, expected 1"),
        (lambda d: d["points"]["actual"].pop(), "track record: column actual has 17 values, date has 18"),
        (lambda d: d["points"]["date"].__setitem__(3, d["points"]["date"][2]), "point 3: date"),
        (lambda d: d["points"]["run"].__setitem__(0, 9), "point 0: run 9 is not one of the 3 runs"),
        (lambda d: d["points"]["low"].__setitem__(1, -5), "point 1: prediction, low, high, actual"),
        (lambda d: d.pop("runs"), "track record: malformed (KeyError: 'runs')"),
        (lambda d: d["rules"].update(min_coverage=0.99), "coverages must satisfy 0 <= min (0.99) <= max (0.95) <= 1"),
    ],
)
def test_a_malformed_record_is_refused_saying_what_is_wrong(change: Any, message: str, hourly_chain: Chain) -> None:
    raw = (hourly_chain.snapshots[3] / pair_files(BTC).record).read_bytes()
    data = json.loads(raw)
    change(data)
    with pytest.raises(ValueError, match=None) as error:
        TrackRecord.from_json(json.dumps(data).encode())
    assert message in str(error.value)


def test_the_server_refuses_a_malformed_record_naming_its_file(hourly_chain: Chain, tmp_path: Path) -> None:
    manifest, files = read_verified_files(hourly_chain.snapshots[2])
    name = pair_files(BTC).record
    files[name] = files[name].replace(b'"format":1', b'"format":7')
    write_artifact(tmp_path / "model", files, {k: v for k, v in manifest.items() if k != "files"})
    with pytest.raises(ArtifactError, match=rf"model file .*{name} is malformed: track record: format 7, expected 1"):
        load_artifact(tmp_path / "model")


# --- drift ------------------------------------------------------------------------------------------------------


def with_record(source: Path, target: Path, record: TrackRecord) -> Path:
    manifest, files = read_verified_files(source)
    files[pair_files(BTC).record] = record.to_json()
    write_artifact(target, files, {k: v for k, v in manifest.items() if k != "files"})
    return target


def monitor(model_dir: Path) -> subprocess.CompletedProcess[str]:
    """release.monitor on a bare python3 (as a workflow step runs it)."""
    return subprocess.run(
        ["python3", "-m", "release.monitor", str(model_dir / "manifest.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_record_whose_band_stops_covering_is_degraded_everywhere(hourly_chain: Chain, tmp_path: Path) -> None:
    record = synthetic_record(40, coverage=0.4)
    drift = record.summary["drift"]
    assert drift["status"] == "degraded" and drift["figures"]["points"] == 30 * 24
    assert drift["reasons"][0].startswith(f"live coverage {drift['figures']['coverage']:.1%} over the last 30 days")
    model_dir = with_record(hourly_chain.snapshots[2], tmp_path / "model", record)
    client = client_of(model_dir)
    assert client.get("/pairs").get_json()["pairs"][0]["degraded"] is True
    assert client.get("/pairs/BTC-USD/track-record").get_json()["summary"]["drift"]["degraded"] is True
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'crypto_predict_degraded{pair="BTC-USD"} 1.0' in metrics
    assert f'crypto_predict_live_coverage{{bucket="drift window",pair="BTC-USD"}} {drift["figures"]["coverage"]}' in (
        metrics
    )
    assert client.get("/predict/BTC-USD?date=2025-03-02T00:00:00Z").status_code == 200  # it keeps serving
    result = monitor(model_dir)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("BTC/USD: degraded: live coverage")
    assert "monitor: degraded: BTC/USD (the service keeps serving them)" in result.stderr
    card = subprocess.run(
        ["python3", "-m", "release.model_card", str(model_dir / "manifest.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "**DEGRADED**: live coverage" in card.stdout and "| 1-6 h | 960 |" in card.stdout


def test_a_record_losing_to_the_naive_forecast_is_degraded_and_a_short_one_not_judged(tmp_path: Path) -> None:
    worse = synthetic_record(35, away=True)  # the prediction moves away from what happens
    drift = worse.summary["drift"]
    assert drift["figures"]["mape_ratio"] > 1.25 and drift["degraded"]
    assert any(reason.startswith("live MAPE ratio") for reason in drift["reasons"])
    short = synthetic_record(35, coverage=0.2)
    rules = DriftRules(min_points=24 * 31)  # more than the window can hold: no verdict
    assert not short.__class__(**{**short.__dict__, "rules": rules}).summary["drift"]["degraded"]
    calm = synthetic_record(35, seed=3)
    assert calm.summary["drift"]["status"] == "ok", calm.summary["drift"]


def test_a_healthy_artifact_passes_the_monitor(hourly_chain: Chain, tmp_path: Path) -> None:
    model_dir = with_record(hourly_chain.snapshots[2], tmp_path / "model", synthetic_record(35, seed=3))
    result = monitor(model_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("BTC/USD: ok: live coverage")
    assert client_of(model_dir).get("/pairs").get_json()["pairs"][0]["degraded"] is False
    # The chain's own record is judged by the same rules, whatever they find; an unreadable artifact is exit 2.
    chain = monitor(hourly_chain.model_dir)
    assert chain.returncode == (1 if load_artifact(hourly_chain.model_dir).pairs[BTC].record.degraded else 0)
    assert monitor(tmp_path / "nowhere").returncode == 2


def test_train_takes_the_drift_rules_and_refuses_impossible_ones(tmp_path: Path) -> None:
    assert train_cli.main([*cli_args(tmp_path / "m", "2025-03-01T06:00:00Z"), "--drift-min-coverage", "0.99"]) == 2
    args = train_cli.build_parser().parse_args(["--drift-max-mape-ratio", "1.5", "--drift-window-days", "14"])
    # No --drift-min-points: each record takes its timeframe's minimum (Timeframe.drift_min_points).
    assert (args.drift_max_mape_ratio, args.drift_window_days, args.drift_min_points) == (1.5, 14, None)
    assert train_cli.build_parser().parse_args(["--drift-min-points", "48"]).drift_min_points == 48


# --- the API --------------------------------------------------------------------------------------------------------


def test_the_route_is_documented_and_refuses_bad_input(hourly_chain: Chain) -> None:
    client = client_of(hourly_chain.model_dir)
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/pairs/{pair}/track-record"]["get"]
    path_parameters = spec["paths"]["/pairs/{pair}/track-record"].get("parameters", [])
    assert {p["name"] for p in operation["parameters"] + path_parameters} == {"pair", "limit", "before"}
    assert set(operation["responses"]) >= {"200", "400", "404"}
    page = spec["components"]["schemas"]["TrackRecordPage"]
    assert set(page["required"]) == {"pair", "summary", "points", "next", "note"}
    assert set(spec["components"]["schemas"]["TrackPoint"]["required"]) >= {
        "date", "model_version", "prediction", "prediction_low", "prediction_high", "actual", "horizon", "bucket",
    }  # fmt: skip
    unknown = client.get("/pairs/XRP-USD/track-record?limit=abc")
    assert unknown.status_code == 404 and unknown.get_json()["errors"]["pair"]["known"] == ["BTC-USD"]
    for query in ("limit=0", "limit=1001", "limit=1e2", "limit=%2010", "before=yesterday", "limit=5&limit=6"):
        response = client.get(f"/pairs/BTC-USD/track-record?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["code"] == 400 and response.get_json()["message"]
    newest = client.get("/pairs/BTC-USD/track-record?limit=2&before=2025-03-03T12:00:00Z").get_json()
    assert [p["date"] for p in newest["points"]] == ["2025-03-03T11:00:00Z", "2025-03-03T10:00:00Z"]
    assert newest["next"] == "/pairs/BTC-USD/track-record?limit=2&before=2025-03-03T10%3A00%3A00Z"
    assert client.get("/pairs/btc%2Fusd/track-record?before=2020-01-01").get_json()["points"] == []
    pairs = client.get("/pairs").get_json()["pairs"]
    record = load_artifact(hourly_chain.model_dir).pairs[BTC].record
    assert pairs[0]["track_record"] == "/pairs/BTC-USD/track-record" and pairs[0]["degraded"] is record.degraded


def test_an_empty_record_says_why_nothing_is_scored(client: Any) -> None:
    # The first training run has nothing to score: the answer keeps its shape (null figures, "too few points") and
    # says why, in the words the chart page shows (it reads this note rather than restating it).
    body = client.get("/pairs/BTC-USD/track-record").get_json()
    assert TrackRecordPage().validate(body) == {}
    assert (body["pair"], body["points"], body["next"]) == ("BTC-USD", [], None)
    assert body["summary"]["overall"] == {
        "points": 0, "mape": None, "naive_mape": None, "mape_ratio": None, "coverage": None
    }  # fmt: skip
    assert body["summary"]["drift"]["status"] == "too few points"
    assert body["note"] == NOTHING_SCORED
    assert NOTHING_SCORED.startswith("nothing scored yet (each retraining scores the forecasts served since the last")
    note = client.get("/openapi.json").get_json()["components"]["schemas"]["TrackRecordPage"]["properties"]["note"]
    assert note["nullable"] is True and "nothing has been scored yet" in note["description"]
    chart = client.get("/assets/chart.js").get_data(as_text=True)
    assert '"Track record: " + record.note' in chart and "nothing scored yet" not in chart  # not restated


def test_a_record_with_points_has_no_note(daily_chain: Chain) -> None:
    client = client_of(daily_chain.model_dir)
    for pair in ("BTC-USD", "ETH-USD"):
        body = client.get(f"/pairs/{pair}/track-record").get_json()
        assert body["summary"]["overall"]["points"] > 0 and body["note"] is None
        # A page past the oldest point is empty, but the record is not: still no note.
        assert client.get(f"/pairs/{pair}/track-record?before=2020-01-01").get_json()["note"] is None


def test_the_report_shows_the_record(hourly_chain: Chain) -> None:
    report = hourly_chain.results[-1].report_path
    assert report is not None
    text = report.read_text()
    assert "BTC/USD: track record (served forecasts scored against actual closes)" in text
    record = load_artifact(hourly_chain.model_dir).pairs[BTC].record
    assert "served forecast" in text and html.escape(verdict_line(record.summary)) in text
    assert html.escape(format_summary(record.summary)) in text


def test_record_served_asks_only_bars_closed_by_the_next_run(hourly_chain: Chain, tmp_path: Path) -> None:
    """The chain helper's own contract: bars after the artifact's newest, closed by the cut-off."""
    chain = Chain(tmp_path, [])
    record_served(hourly_chain.snapshots[0], HOURLY_UNTILS[1], chain)
    assert [format_utc(bar) for bar in chain.served["BTC-USD"]] == [f"2025-03-01T{h:02d}:00:00Z" for h in range(6, 12)]
    assert sys.version_info >= (3, 11)
