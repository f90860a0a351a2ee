"""train.py end to end: sources, failures that keep the previous model, determinism."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import train
from tests.conftest import SMALL_START
from tests.fake_alpaca import FakeAlpaca, make_daily_bars

SMALL = ["--start", SMALL_START.isoformat(), "--horizon-days", "30"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_training_on_a_csv_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = ["timestamp,close,open"] + [
        f"{(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat()},{100 + i % 7},{99 + i % 7}" for i in range(120)
    ]
    data = tmp_path / "mine.csv"
    data.write_text("\n".join(rows) + "\n")
    assert train.main([*SMALL, "--data", str(data), "--model-dir", str(tmp_path / "model")]) == 0
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["source"]["kind"] == "csv"
    assert manifest["source"]["path"] == "mine.csv"
    assert manifest["rows"] == 120
    assert "published" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("timestamp,close\n2024-01-01,1\n", "only 1 bars, need at least 90"),
        ("time,close\n2024-01-01,1\n", "missing column(s) timestamp"),
        (
            "timestamp,close\n" + "".join(f"2024-01-{d:02d},{-1 if d == 5 else 1}\n" for d in range(1, 29)),
            "finite positive price: row 5",
        ),
    ],
)
def test_bad_data_exits_non_zero_and_keeps_the_previous_model(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], csv_text: str, message: str
) -> None:
    before = snapshot(model_dir)
    data = tmp_path / "bad.csv"
    data.write_text(csv_text)
    min_rows = "90" if "only 1" in message else "10"
    assert train.main([*SMALL, "--data", str(data), "--min-rows", min_rows, "--model-dir", str(model_dir)]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "the current model is unchanged" in err
    assert snapshot(model_dir) == before


def test_embedded_history_refuses_hourly_bars(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train.main([*SMALL, "--timeframe", "1Hour", "--model-dir", str(model_dir)]) == 1
    assert "daily bars only" in capsys.readouterr().err


def test_training_on_live_alpaca_bars(fake_alpaca: FakeAlpaca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    today = dt.datetime.now(dt.UTC).date()
    fake_alpaca.bars = make_daily_bars(today - dt.timedelta(days=150), 151)  # through today, still in progress
    monkeypatch.setenv("ALPACA_DATA_URL", fake_alpaca.url)
    start = (today - dt.timedelta(days=150)).isoformat()
    args = ["--source", "alpaca", "--start", start, "--horizon-days", "30", "--model-dir", str(tmp_path / "m")]
    assert train.main(args) == 0
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["source"]["kind"] == "alpaca"
    assert manifest["rows"] == 150  # today's bar was still in progress
    assert manifest["last_bar"] == f"{today - dt.timedelta(days=1)}T00:00:00Z"
    assert len(fake_alpaca.requests) == 2  # pages of 100


def test_repeated_alpaca_5xx_keeps_the_previous_model(
    fake_alpaca: FakeAlpaca, model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(model_dir)
    fake_alpaca.script = [(502, "<html>bad gateway</html>")] * 10
    monkeypatch.setenv("ALPACA_DATA_URL", fake_alpaca.url)
    monkeypatch.setenv("ALPACA_RETRY_WAIT_SECONDS", "0.01")
    assert train.main(["--source", "alpaca", "--model-dir", str(model_dir)]) == 1
    assert "failed with HTTP 502" in capsys.readouterr().err
    assert snapshot(model_dir) == before


def test_the_same_inputs_give_the_same_forecast(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert train.main([*SMALL, "--model-dir", str(tmp_path / name)]) == 0
    forecast_a = (tmp_path / "a" / "forecast.json").read_bytes()
    assert forecast_a == (tmp_path / "b" / "forecast.json").read_bytes()


def test_a_different_seed_draws_a_different_band(tmp_path: Path) -> None:
    assert train.main([*SMALL, "--model-dir", str(tmp_path / "a")]) == 0
    assert train.main([*SMALL, "--seed", "7", "--model-dir", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "forecast.json").read_bytes())
    b = json.loads((tmp_path / "b" / "forecast.json").read_bytes())
    assert a["prediction"] == b["prediction"]
    assert a["high"] != b["high"]
