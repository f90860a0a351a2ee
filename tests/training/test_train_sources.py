"""train.py end to end on each source (a CSV file, the embedded history, live Alpaca bars): bad data, an Alpaca
fault mid-fetch and a network failure fail clearly in one line and keep the previous model."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest

from cryptopredict.training import cli as train
from cryptopredict.training.sources import ONE_PAIR_PER_FILE
from tests.fakes.alpaca import PAGE, Answer, FakeAlpaca, Hang, Truncated, make_daily_bars
from tests.training.train_runs import BTC_ONLY, DAILY_ALPACA, SMALL, read_manifest, snapshot


def test_training_on_a_csv_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bars = make_daily_bars(dt.date(2024, 1, 1), 300)
    rows = ["timestamp,close,open"] + [f"{b['t']},{b['c']},{b['o']}" for b in bars]
    data = tmp_path / "mine.csv"
    data.write_text("\n".join(rows) + "\n")
    assert train.main([*SMALL, *BTC_ONLY, "--data", str(data), "--model-dir", str(tmp_path / "model")]) == 0
    card = read_manifest(tmp_path / "model")["pairs"]["BTC/USD"]
    assert card["source"]["kind"] == "csv"
    assert card["timeframe"] == "1Day"  # the default for a CSV file
    assert card["source"]["path"] == "mine.csv"
    assert card["rows"] == 300
    assert "published" in capsys.readouterr().out
    # A file is one pair's history: naming two pairs with it is an option error (exit 2), see below.
    with pytest.raises(SystemExit) as caught:
        train.main([*SMALL, "--data", str(data), "--model-dir", str(tmp_path / "two")])
    assert caught.value.code == 2
    assert ONE_PAIR_PER_FILE in capsys.readouterr().err
    assert not (tmp_path / "two").exists()


@pytest.mark.parametrize("pairs", [[], ["--pairs", "BTC/USD,ETH/USD"]], ids=["no-pairs", "two-pairs"])
def test_data_without_exactly_one_pair_is_an_option_error(
    pairs: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PAIRS", raising=False)
    data = tmp_path / "mine.csv"
    data.write_text("timestamp,close\n2024-01-01,1\n")
    with pytest.raises(SystemExit) as caught:
        train.main(["--data", str(data), *pairs, "--model-dir", str(tmp_path / "model")])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ")
    assert f"error: --data: {ONE_PAIR_PER_FILE}" in err
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("timestamp,close\n2024-01-01,1\n", "only 1 bars, need at least 90"),
        ("time,close\n2024-01-01,1\n", "missing column(s) timestamp"),
        (
            "timestamp,close\n" + "".join(f"2024-01-{d:02d},{-1 if d == 5 else 1}\n" for d in range(1, 29)),
            "finite positive price: line 6 (2024-01-05 00:00): close -1 is not a finite positive number",
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
    args = [*SMALL, *BTC_ONLY, "--data", str(data), "--min-rows", min_rows, "--model-dir", str(model_dir)]
    assert train.main(args) == 1
    first, second = capsys.readouterr().err.splitlines()
    assert first.startswith("train: BTC/USD: bars: ") and message in first
    assert first.endswith("; keeps its previous model")
    assert second == "train: no pair updated; the current model is unchanged"
    assert snapshot(model_dir) == before


def test_embedded_history_refuses_hourly_bars(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train.main([*SMALL, *BTC_ONLY, "--timeframe", "1Hour", "--model-dir", str(model_dir)]) == 1
    assert "daily bars only" in capsys.readouterr().err


def test_training_on_live_alpaca_bars(fake_alpaca: FakeAlpaca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    today = dt.datetime.now(dt.UTC).date()
    fake_alpaca.bars = make_daily_bars(today - dt.timedelta(days=300), 301)  # through today, still in progress
    monkeypatch.setenv("ALPACA_DATA_URL", fake_alpaca.url)
    start = (today - dt.timedelta(days=300)).isoformat()
    args = [*SMALL[2:], *BTC_ONLY, *DAILY_ALPACA, "--start", start, "--model-dir", str(tmp_path / "m")]
    assert train.main(args) == 0
    card = read_manifest(tmp_path / "m")["pairs"]["BTC/USD"]
    assert card["source"]["kind"] == "alpaca"
    assert card["rows"] == 300  # today's bar was still in progress
    assert card["timeframe"] == "1Day" and {q["timeframe"][0] for q in fake_alpaca.requests} == {"1Day"}
    assert card["last_bar"] == f"{today - dt.timedelta(days=1)}T00:00:00Z"
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
    start = str(today - dt.timedelta(days=300))
    args = [*BTC_ONLY, *DAILY_ALPACA, "--start", start, "--model-dir", str(model_dir)]
    assert train.main(args) == 1
    first, second = capsys.readouterr().err.splitlines()
    assert first.startswith("train: BTC/USD: bars: ") and message in first
    assert second == "train: no pair updated; the current model is unchanged"
    assert len(fake_alpaca.requests) >= 2  # the fault came after a good first page
    assert snapshot(model_dir) == before
    assert not list(model_dir.parent.glob(".*"))  # no staging folder left behind


# --- network faults: the cause in words, on one line ------------------------------------------------------------


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        # .invalid never resolves (RFC 6761): no traffic leaves the machine.
        ("http://nonexistent.invalid", "could not resolve the host nonexistent.invalid (no network or DNS?)"),
        ("http://127.0.0.1:{port}", "connection refused by 127.0.0.1:{port}"),
    ],
    ids=["name-resolution", "refused"],
)
def test_a_network_failure_names_its_cause_in_one_line(
    url: str, cause: str, model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_loopback_port()
    before = snapshot(model_dir)
    monkeypatch.setenv("ALPACA_DATA_URL", url.format(port=port))
    monkeypatch.setenv("ALPACA_RETRY_WAIT_SECONDS", "0.01")
    assert train.main([*BTC_ONLY, *DAILY_ALPACA, "--model-dir", str(model_dir)]) == 1
    first, second = capsys.readouterr().err.splitlines()
    assert first.startswith("train: BTC/USD: bars: Alpaca bars request for BTC/USD failed: " + cause.format(port=port))
    assert "Max retries" not in first and "ConnectionPool" not in first and "…" not in first
    assert second == "train: no pair updated; the current model is unchanged"
    assert snapshot(model_dir) == before
