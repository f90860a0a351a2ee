"""train.py end to end: sources, failures that keep the previous model, determinism."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import train
from tests.conftest import SMALL_PLAN, SMALL_START
from tests.fake_alpaca import PAGE, Answer, FakeAlpaca, Hang, Truncated, make_daily_bars

SMALL = [
    "--start", SMALL_START.isoformat(), "--horizon-days", "30",
    "--backtest-refits", str(SMALL_PLAN.scored), "--backtest-span-days", str(SMALL_PLAN.span_days),
]  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_training_on_a_csv_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bars = make_daily_bars(dt.date(2024, 1, 1), 300)
    rows = ["timestamp,close,open"] + [f"{b['t']},{b['c']},{b['o']}" for b in bars]
    data = tmp_path / "mine.csv"
    data.write_text("\n".join(rows) + "\n")
    assert train.main([*SMALL, "--data", str(data), "--model-dir", str(tmp_path / "model")]) == 0
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["source"]["kind"] == "csv"
    assert manifest["source"]["path"] == "mine.csv"
    assert manifest["rows"] == 300
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
    fake_alpaca.bars = make_daily_bars(today - dt.timedelta(days=300), 301)  # through today, still in progress
    monkeypatch.setenv("ALPACA_DATA_URL", fake_alpaca.url)
    start = (today - dt.timedelta(days=300)).isoformat()
    args = [*SMALL[2:], "--source", "alpaca", "--start", start, "--model-dir", str(tmp_path / "m")]
    assert train.main(args) == 0
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["source"]["kind"] == "alpaca"
    assert manifest["rows"] == 300  # today's bar was still in progress
    assert manifest["last_bar"] == f"{today - dt.timedelta(days=1)}T00:00:00Z"
    assert len(fake_alpaca.requests) == 4  # pages of 100


@pytest.mark.parametrize(
    ("script", "message"),
    [
        pytest.param(
            [PAGE, Hang(3.0)], "Alpaca bars request for BTC/USD timed out: no answer within 0.5 s", id="timeout"
        ),
        pytest.param(
            [PAGE, Truncated()],
            "Alpaca answered the bars request for BTC/USD with a body that is not valid JSON (cut off in transit?)",
            id="truncated-json",
        ),
        pytest.param([PAGE, PAGE, *[(500, '{"message": "internal"}')] * 4], "failed with HTTP 500", id="5xx-mid-pages"),
    ],
)
def test_an_alpaca_fault_mid_fetch_fails_clearly_and_keeps_the_model(
    script: list[Answer],
    message: str,
    fake_alpaca: FakeAlpaca,
    model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    fake_alpaca.bars = make_daily_bars(today - dt.timedelta(days=300), 301)
    fake_alpaca.script = list(script)
    before = snapshot(model_dir)
    monkeypatch.setenv("ALPACA_DATA_URL", fake_alpaca.url)
    monkeypatch.setenv("ALPACA_RETRY_WAIT_SECONDS", "0.01")
    monkeypatch.setenv("ALPACA_TIMEOUT_SECONDS", "0.5")
    args = ["--source", "alpaca", "--start", str(today - dt.timedelta(days=300)), "--model-dir", str(model_dir)]
    assert train.main(args) == 1
    err = capsys.readouterr().err
    assert message in err
    assert err.strip().endswith("the current model is unchanged")
    assert len(err.strip().splitlines()) == 1
    assert len(fake_alpaca.requests) >= 2  # the fault came after a good first page
    assert snapshot(model_dir) == before
    assert not list(model_dir.parent.glob(".*"))  # no staging folder left behind


def test_the_same_inputs_give_the_same_forecast(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert train.main([*SMALL, "--model-dir", str(tmp_path / name)]) == 0
    forecast_a = (tmp_path / "a" / "forecast.json").read_bytes()
    assert forecast_a == (tmp_path / "b" / "forecast.json").read_bytes()


def test_the_model_card_is_printed_and_written_self_contained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train.main([*SMALL, "--model-dir", str(tmp_path / "model")]) == 0
    out = capsys.readouterr().out
    assert "horizon  model MAPE  naive MAPE  ratio   MASE  model cover  naive cover  model width" in out
    for horizon in ("1 day", "7 days", "30 days"):
        assert horizon in out
    report = (tmp_path / "model-report.html").read_text()
    assert "Quality gate: <strong>passed</strong>" in report
    assert "<script src=" not in report and 'src="https://cdn' not in report  # nothing is fetched
    assert "Plotly.newPlot" in report and len(report) > 1_000_000  # plotly.js is inlined
    assert not (tmp_path / "model" / "model-report.html").exists()  # beside the artifact, not in it


def test_a_failed_gate_keeps_the_previous_model(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(model_dir)
    report = tmp_path / "card.html"
    args = [*SMALL, "--gate-max-mape-ratio", "0.5", "--report", str(report), "--model-dir", str(model_dir)]
    assert train.main(args) == 3
    err = capsys.readouterr().err
    assert "train: quality gate failed: 1 day: MAPE ratio to naive" in err
    assert "30 days: MAPE ratio to naive" in err
    assert "the current model is unchanged" in err
    assert snapshot(model_dir) == before
    assert "FAILED: 1 day: MAPE ratio" in report.read_text()


def test_until_trains_as_if_it_were_that_day(tmp_path: Path) -> None:
    assert train.main([*SMALL, "--until", "2024-10-01", "--model-dir", str(tmp_path / "m")]) == 0
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["last_bar"] == "2024-09-30T00:00:00Z"  # the last bar that had closed by midnight
    assert manifest["trained_until"] == "2024-10-01T00:00:00Z"
    assert manifest["backtest"]["last_origin"] < "2024-09-01"


def test_until_bounds_the_live_request(
    fake_alpaca: FakeAlpaca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_alpaca.bars = make_daily_bars(dt.date(2022, 1, 1), 1000)
    monkeypatch.setenv("ALPACA_DATA_URL", fake_alpaca.url)
    args = ["--source", "alpaca", "--start", "2022-01-01", "--until", "2024-01-01", "--backtest-span-days", "365"]
    assert train.main([*args, "--model-dir", str(tmp_path / "m")]) == 0
    assert fake_alpaca.requests[0]["end"][0].startswith("2024-01-01T00:00:00")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["last_bar"] == "2023-12-31T00:00:00Z"


def test_a_history_too_short_for_the_backtest_is_refused(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(model_dir)
    assert train.main(["--start", "2024-06-01", "--min-rows", "30", "--model-dir", str(model_dir)]) == 1
    assert "use an earlier --start or a shorter --backtest-span-days" in capsys.readouterr().err
    assert snapshot(model_dir) == before
