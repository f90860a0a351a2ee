"""Drift: a track record whose band stops covering or that loses to the naive forecast is degraded in the API,
the metrics, the model card and release.monitor; train.py takes the drift rules.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptopredict.core.artifact import load_artifact, pair_files, read_verified_files, write_artifact
from cryptopredict.core.track import DriftRules, TrackRecord
from cryptopredict.training import cli as train_cli
from tests.conftest import ROOT
from tests.core.track_record_helpers import BTC, cli_args, client_of, synthetic_record
from tests.track_chain import Chain


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
