"""train.py end to end: sources, several pairs, failures that keep the previous model, determinism."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import socket
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cryptopredict.core.artifact import pair_files, write_artifact
from cryptopredict.core.dates import FORMAT_HINT
from cryptopredict.core.forecast import ForecastTable
from cryptopredict.core.timeframe import DAY
from cryptopredict.serving.app import create_app
from cryptopredict.training import cli as train
from cryptopredict.training.backtest import BacktestPlan, fit_plan
from cryptopredict.training.bars import read_csv_bars
from cryptopredict.training.outcomes import RETIRED
from cryptopredict.training.sources import ONE_PAIR_PER_FILE
from tests.conftest import HOURLY_BTC_USD, ROOT, SMALL_HOURLY_START, SMALL_PLAN, SMALL_START
from tests.fakes.alpaca import PAGE, Answer, FakeAlpaca, Hang, Truncated, bars_from_csv, make_daily_bars

SMALL = [
    "--start", SMALL_START.isoformat(), "--horizon-days", "30",  # keep these two first: some tests drop them
    "--backtest-refits", str(SMALL_PLAN.scored), "--backtest-span-days", str(SMALL_PLAN.span_days),
]  # fmt: skip


BTC_ONLY = ["--pairs", "BTC/USD"]
DAILY_ALPACA = ["--source", "alpaca", "--timeframe", "1Day"]  # live training defaults to hourly bars
# On the bars the stored model saw, no refit is due: force one where the test is about the backtest or the gate.
REFIT = ["--refit-after-hours", "0"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def read_manifest(model_dir: Path) -> dict[str, Any]:
    return dict(json.loads((model_dir / "manifest.json").read_text()))


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


def test_the_same_inputs_give_the_same_forecasts_in_parallel_or_not(tmp_path: Path) -> None:
    # Two pairs in two processes, then one pair at a time with the backtest in one process: the same bytes.
    assert train.main([*SMALL, "--model-dir", str(tmp_path / "a")]) == 0
    assert train.main([*SMALL, "--workers", "1", "--model-dir", str(tmp_path / "b")]) == 0
    for name in ("btc-usd.forecast.json", "eth-usd.forecast.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_the_model_card_is_printed_and_written_self_contained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train.main([*SMALL, "--model-dir", str(tmp_path / "model")]) == 0
    out = capsys.readouterr().out
    header = "horizon  model MAPE  naive MAPE  ratio   MASE  50% cover  80% cover  95% cover  naive cover  model width"
    assert header in out
    for horizon in ("1 day", "7 days", "30 days"):
        assert horizon in out
    report = (tmp_path / "model-report.html").read_text()
    assert report.count("Quality gate: <strong>passed</strong>") == 2
    assert "<h1>BTC/USD 1Day — model" in report and "<h1>ETH/USD 1Day — model" in report
    assert "<script src=" not in report and 'src="https://cdn' not in report  # nothing is fetched
    assert "Plotly.newPlot" in report and len(report) > 1_000_000  # plotly.js is inlined
    assert not (tmp_path / "model" / "model-report.html").exists()  # beside the artifact, not in it


def test_a_failed_gate_keeps_the_previous_model_and_its_report(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(model_dir)
    report = tmp_path / "card.html"
    report.write_bytes(b"<p>the report of the models being served</p>")
    args = [*SMALL, *REFIT, "--gate-max-mape-ratio", "0.5", "--report", str(report), "--model-dir", str(model_dir)]
    assert train.main(args) == train.EXIT_GATE
    out, err = capsys.readouterr()
    assert "train: BTC/USD: quality gate: 1 day: MAPE ratio to naive" in err
    assert "train: ETH/USD: quality gate: 1 day: MAPE ratio to naive" in err
    assert "30 days: MAPE ratio to naive" in err
    *_, advice, last = err.splitlines()
    assert advice == (
        "train: to try: for the MAPE ratio, a longer history (an earlier --start, or more bars in --data) or, to "
        "accept a model no better than the naive forecast, --gate-max-mape-ratio"
    )
    assert last == "train: no pair updated; the current model is unchanged"
    # Nothing published changes: the model folder and the report of the models served, byte for byte.
    assert snapshot(model_dir) == before
    assert report.read_bytes() == b"<p>the report of the models being served</p>"
    refused = tmp_path / "card-refused.html"
    assert f"train: the cards of the models this run made, not published: {refused}" in out
    assert refused.read_text().count("FAILED (the previous model is kept): 1 day: MAPE ratio") == 2


def test_until_trains_as_if_it_were_that_day(tmp_path: Path) -> None:
    assert train.main([*SMALL, *BTC_ONLY, "--until", "2024-10-01", "--model-dir", str(tmp_path / "m")]) == 0
    card = read_manifest(tmp_path / "m")["pairs"]["BTC/USD"]
    assert card["timeframe"] == "1Day"  # the embedded history's default
    assert card["last_bar"] == "2024-09-30T00:00:00Z"  # the last bar that had closed by midnight
    assert card["trained_until"] == "2024-10-01T00:00:00Z"
    assert card["backtest"]["last_origin"] < "2024-09-01"


def test_until_bounds_the_live_request(
    fake_alpaca: FakeAlpaca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_alpaca.bars = make_daily_bars(dt.date(2022, 1, 1), 1000)
    monkeypatch.setenv("ALPACA_DATA_URL", fake_alpaca.url)
    args = [*DAILY_ALPACA, "--start", "2022-01-01", "--until", "2024-01-01", "--backtest-span-days", "365"]
    args += ["--backtest-refits", str(SMALL_PLAN.scored)]  # the request is the point here, not the backtest
    assert train.main([*args, *BTC_ONLY, "--model-dir", str(tmp_path / "m")]) == 0
    assert fake_alpaca.requests[0]["end"][0].startswith("2024-01-01T00:00:00")
    assert read_manifest(tmp_path / "m")["pairs"]["BTC/USD"]["last_bar"] == "2023-12-31T00:00:00Z"


# --- --until as an instant, and hourly bars by default from Alpaca ----------------------------------------------------


def hourly_run(hourly_model_dir: Path, tmp_path: Path, *source: str) -> list[str]:
    """train.py's arguments for a run on a copy of the session's hourly model (bars to 2025-03-01T06:00Z): a run
    up to a day later re-anchors that fit, so it takes a second rather than a refit."""
    model_dir = shutil.copytree(hourly_model_dir, tmp_path / "model")
    return [*source, *BTC_ONLY, "--start", SMALL_HOURLY_START.isoformat(), "--model-dir", str(model_dir)]


@pytest.mark.parametrize(
    ("until", "instant", "last_bar"),
    [
        pytest.param("2025-03-02", "2025-03-02T00:00:00Z", "2025-03-01T23:00:00Z", id="day"),
        pytest.param("2025-03-01T12:00:00Z", "2025-03-01T12:00:00Z", "2025-03-01T11:00:00Z", id="Z"),
        pytest.param("2025-03-01T14:00:00+02:00", "2025-03-01T12:00:00Z", "2025-03-01T11:00:00Z", id="offset"),
        pytest.param("2025-03-01T12:59:59Z", "2025-03-01T12:59:59Z", "2025-03-01T11:00:00Z", id="a second short"),
    ],
)
def test_until_is_an_instant_and_training_uses_exactly_the_bars_closed_by_it(
    until: str, instant: str, last_bar: str, hourly_model_dir: Path, tmp_path: Path
) -> None:
    args = hourly_run(hourly_model_dir, tmp_path, "--data", str(HOURLY_BTC_USD), "--timeframe", "1Hour")
    assert train.main([*args, "--until", until]) == 0
    card = read_manifest(tmp_path / "model")["pairs"]["BTC/USD"]
    assert card["trained_until"] == instant
    # The bar that closes exactly at the instant is the newest; the one closing an hour later is left out.
    assert card["last_bar"] == last_bar
    table = ForecastTable.from_json((tmp_path / "model" / "btc-usd.forecast.json").read_bytes())
    closes = read_csv_bars(HOURLY_BTC_USD).set_index("ds")["close"]
    assert table.actual[table.last_row] == closes[pd.Timestamp(last_bar.removesuffix("Z"))]
    assert table.actual[table.last_row + 1] is None


@pytest.mark.parametrize("until", ["2025-03-01T12:00:00+25:00", "2025-02-30", "yesterday"])
def test_a_malformed_until_is_refused_in_one_line(until: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--until", until])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert "error: argument --until: " in last and last.endswith(FORMAT_HINT)


def test_an_until_without_a_zone_is_utc() -> None:
    parse = train.build_parser().parse_args
    assert parse(["--until", "2025-03-01T12:00:00"]).until == parse(["--until", "2025-03-01T12:00:00Z"]).until
    assert parse(["--until", "2025-03-01T12:00"]).until == dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)


def test_live_training_defaults_to_hourly_bars(
    fake_alpaca: FakeAlpaca, hourly_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real hourly bars, served by the fake Alpaca up to an hour past --until.
    fake_alpaca.bars = bars_from_csv(HOURLY_BTC_USD, SMALL_HOURLY_START.isoformat(), "2025-03-01T13:00:00Z")
    fake_alpaca.page_size = 10_000
    monkeypatch.setenv("ALPACA_DATA_URL", fake_alpaca.url)
    args = hourly_run(hourly_model_dir, tmp_path, "--source", "alpaca")
    assert train.main([*args, "--until", "2025-03-01T12:00:00Z"]) == 0
    assert {q["timeframe"][0] for q in fake_alpaca.requests} == {"1Hour"}
    card = read_manifest(tmp_path / "model")["pairs"]["BTC/USD"]
    assert (card["timeframe"], card["source"]["kind"]) == ("1Hour", "alpaca")
    assert card["last_bar"] == "2025-03-01T11:00:00Z" and card["update"] == "reanchor"


def test_a_history_too_short_for_the_backtest_is_refused(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(model_dir)
    args = [*BTC_ONLY, *REFIT, "--start", "2024-06-01", "--model-dir", str(model_dir)]
    assert train.main(args) == 1
    first = capsys.readouterr().err.splitlines()[0]
    smallest = BacktestPlan.smallest(DAY)
    # The number is stated, and the one fix offered helps: the embedded history goes back before --start.
    assert first.startswith(
        "train: BTC/USD: backtest: the history has 156 daily bars (2024-06-01 to 2024-11-03); "
        f"the backtest needs at least {smallest.bars_needed(DAY)} ("
    )
    assert "give it more history (an earlier --start)" in first
    assert "--backtest-span-days" not in first
    assert snapshot(model_dir) == before


def test_a_short_csv_history_gets_a_smaller_backtest_plan_named_in_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bars = make_daily_bars(dt.date(2024, 1, 1), 300)  # too short for the default plan's 1190 bars
    data = tmp_path / "short.csv"
    data.write_text("timestamp,close\n" + "".join(f"{b['t']},{b['c']}\n" for b in bars))
    code = train.main(["--horizon-days", "30", *BTC_ONLY, "--data", str(data), "--model-dir", str(tmp_path / "m")])
    out = capsys.readouterr().out
    plan, note = fit_plan(read_csv_bars(data), DAY, None)
    assert plan.scored == 24 and plan.span_days < BacktestPlan().span_days
    assert f"BTC/USD: {note}" in out.splitlines()
    assert "backtest shrunk to 24 scored and 12 warm-up refits over" in note
    assert code in (0, 3)  # the gate still judges the smaller backtest
    if code == 0:
        card = read_manifest(tmp_path / "m")["pairs"]["BTC/USD"]
        assert (card["backtest"]["refits"], card["gate"]["passed"]) == (24, True)


def test_help_states_what_the_backtest_needs() -> None:
    text = " ".join(train.build_parser().format_help().split())
    assert "--min-rows N refuse to train on fewer bars, a floor of your own" in text
    assert f"needs {BacktestPlan().bars_needed(DAY)} daily bars" in text
    assert f"down to {BacktestPlan.smallest(DAY).bars_needed(DAY)} daily bars" in text
    assert "default: 90" not in text


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


# --- several pairs: each updates or keeps its previous model on its own -----------------------------------------


def test_a_pair_failing_its_gate_keeps_its_model_while_the_other_updates(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = read_manifest(model_dir)
    # The fixture's model was trained on the same bars with the same backtest plan as this run, so its cards hold
    # the coverage this run measures, whatever the package versions make of it (the refit below checks that).
    # A floor just above the weaker pair's worst horizon, and not above the other pair's, fails the weaker only.
    rows = {symbol: card["backtest"]["horizons"] for symbol, card in before["pairs"].items()}
    worst = {symbol: min(row["model"]["coverage"] for row in table) for symbol, table in rows.items()}
    weak, strong = sorted(rows, key=worst.__getitem__)  # ETH/USD (7 days) and BTC/USD on this history today
    floor = math.floor(worst[weak] * 100 + 1) / 100  # the next whole percent up
    if floor > worst[strong]:
        floor = (worst[weak] + worst[strong]) / 2
    assert worst[weak] < floor <= worst[strong] <= 0.9, (worst, floor)
    failed = [
        f"{row['horizon']} {row['unit']}{'s' * (row['horizon'] != 1)}: band coverage {row['model']['coverage']:.1%} "
        f"outside {floor:.0%}-90%"
        for row in rows[weak]
        if row["model"]["coverage"] < floor
    ]
    weak_files = {n: (model_dir / n).read_bytes() for n in pair_files(weak).all()}
    report = tmp_path / "cards.html"
    args = [*SMALL, *REFIT, "--gate-min-coverage", str(floor), "--report", str(report), "--model-dir", str(model_dir)]
    assert train.main(args) == train.EXIT_PARTIAL
    err = capsys.readouterr().err
    assert f"train: {weak}: quality gate: {'; '.join(failed)}; keeps its previous model" in err
    *_, last_pair_line, advice = err.splitlines()
    assert last_pair_line.endswith("; keeps its previous model")
    assert advice.startswith("train: to try: for the band's coverage, a longer history")
    after = read_manifest(model_dir)
    assert after["pairs"][strong]["backtest"] == before["pairs"][strong]["backtest"]  # the same bars, the same scores
    assert after["pairs"][weak] == before["pairs"][weak]  # the very same card and version
    assert {n: (model_dir / n).read_bytes() for n in weak_files} == weak_files
    assert after["pairs"][strong]["model_version"] != before["pairs"][strong]["model_version"]
    assert after["run"]["updated"] == [strong]
    assert list(after["run"]["kept"]) == [weak] and "band coverage" in after["run"]["kept"][weak]
    assert after["model_version"] != before["model_version"]
    assert f"FAILED (the previous model is kept): {failed[0]}" in report.read_text()
    from cryptopredict.core.artifact import load_artifact

    assert set(load_artifact(model_dir).pairs) == {"BTC/USD", "ETH/USD"}  # and it still loads


def test_a_pair_whose_fetch_fails_keeps_its_model_and_a_new_one_without_a_model_is_left_out(
    fake_alpaca: FakeAlpaca, model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    fake_alpaca.bars = make_daily_bars(today - dt.timedelta(days=300), 301)  # BTC/USD; nothing for the others
    before = read_manifest(model_dir)
    monkeypatch.setenv("ALPACA_DATA_URL", fake_alpaca.url)
    start = str(today - dt.timedelta(days=300))
    args = [*SMALL[2:], "--pairs", "BTC/USD,ETH/USD,SOL/USD", *DAILY_ALPACA, "--start", start]
    assert train.main([*args, "--model-dir", str(model_dir)]) == train.EXIT_PARTIAL
    err = capsys.readouterr().err
    assert "train: ETH/USD: bars: Alpaca returned no 1Day bars for ETH/USD" in err
    assert "train: SOL/USD: bars: Alpaca returned no 1Day bars for SOL/USD" in err
    assert "keeps its previous model" in err and "has no previous model: left out" in err
    after = read_manifest(model_dir)
    assert list(after["pairs"]) == ["BTC/USD", "ETH/USD"]
    assert after["pairs"]["BTC/USD"]["source"]["kind"] == "alpaca"
    assert after["pairs"]["ETH/USD"] == before["pairs"]["ETH/USD"]
    assert list(after["run"]["kept"]) == ["ETH/USD"] and list(after["run"]["dropped"]) == ["SOL/USD"]


ANSWERED = [
    "/bitcoin?date=2024-12-01",
    "/bitcoin?date=2024-11-02T12:00:00Z",
    "/predict/ETH-USD?date=2024-12-01&level=95",
    "/bitcoin/forecast?start=2024-10-01&end=2024-12-01",
    "/predict/ETH-USD/forecast",
    "/pairs/BTC-USD/track-record",
]


def answers(model_dir: Path) -> dict[str, bytes]:
    client = create_app({"MODEL_DIR": str(model_dir), "TESTING": True}).test_client()
    return {url: client.get(url).data for url in ANSWERED}


def test_training_a_new_pair_keeps_the_pairs_already_served(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As docs/training.md trains one more pair: `--data my.csv --pairs SOL/USD` into the folder serving BTC and ETH."""
    before, served = read_manifest(model_dir), answers(model_dir)
    kept_files = {name: (model_dir / name).read_bytes() for s in ("BTC/USD", "ETH/USD") for name in pair_files(s).all()}
    eth = read_csv_bars(ROOT / "data" / "eth-usd-1d.csv")
    sol = tmp_path / "sol.csv"
    rows = [f"{day:%Y-%m-%d},{close * 0.06:.4f}" for day, close in zip(eth.ds, eth.close, strict=True)]
    sol.write_text("\n".join(["timestamp,close", *rows]) + "\n")  # ETH's history, relabelled at another level
    assert train.main([*SMALL, "--data", str(sol), "--pairs", "SOL/USD", "--model-dir", str(model_dir)]) == 0
    out = capsys.readouterr().out
    assert "BTC/USD: unchanged at " in out and "(not in this run's pairs: served as it was)" in out
    after = read_manifest(model_dir)
    assert list(after["pairs"]) == ["BTC/USD", "ETH/USD", "SOL/USD"]
    assert {s: after["pairs"][s] for s in ("BTC/USD", "ETH/USD")} == {
        s: before["pairs"][s] for s in ("BTC/USD", "ETH/USD")
    }
    assert after["run"] == {"updated": ["SOL/USD"], "unchanged": ["BTC/USD", "ETH/USD"], "kept": {}, "dropped": {}}
    assert {name: (model_dir / name).read_bytes() for name in kept_files} == kept_files
    assert answers(model_dir) == served  # byte for byte, after a restart (a new app loads the new artifact)
    client = create_app({"MODEL_DIR": str(model_dir), "TESTING": True}).test_client()
    assert client.get("/predict/SOL-USD?date=2024-12-01").status_code == 200
    assert [p["pair"] for p in client.get("/pairs").get_json()["pairs"]] == ["BTC-USD", "ETH-USD", "SOL-USD"]


def test_a_pair_leaves_the_artifact_only_when_retired_and_says_so(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    btc = {name: (model_dir / name).read_bytes() for name in pair_files("BTC/USD").all()}
    assert train.main([*SMALL, *BTC_ONLY, "--retire-unlisted", "--model-dir", str(model_dir)]) == 0
    out, err = capsys.readouterr()
    manifest = read_manifest(model_dir)
    assert list(manifest["pairs"]) == ["BTC/USD"]
    assert manifest["run"]["dropped"] == {"ETH/USD": RETIRED}
    assert err.splitlines() == [f"train: ETH/USD: {RETIRED}: leaves the artifact"]
    assert "published" in out
    assert not any(name.startswith("eth-usd.") for name in snapshot(model_dir))
    assert {name: (model_dir / name).read_bytes() for name in btc} == btc  # no new bar: BTC stands as it was


def test_a_pair_that_cannot_be_carried_over_is_listed_as_dropped(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ETH/USD's card lacks a field this version declares: the artifact still reads, but that pair cannot be carried.
    manifest = read_manifest(model_dir)
    del manifest["pairs"]["ETH/USD"]["rows"]
    files = {name: (model_dir / name).read_bytes() for name in manifest["files"]}
    write_artifact(model_dir, files, {k: v for k, v in manifest.items() if k != "files"})
    assert train.main([*SMALL, *BTC_ONLY, "--model-dir", str(model_dir)]) == train.EXIT_PARTIAL
    dropped = read_manifest(model_dir)["run"]["dropped"]
    assert list(dropped) == ["ETH/USD"]
    assert dropped["ETH/USD"].startswith("its stored model cannot be carried over (its card or files do not match")
    assert f"train: ETH/USD: {dropped['ETH/USD']}: leaves the artifact" in capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("value", ["BTC", "BTC/USD,,ETH/", "BTC/US D"])
def test_a_malformed_pair_list_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--pairs", value])
    assert exit_info.value.code == 2
    assert "is not a pair such as BTC/USD" in capsys.readouterr().err


def test_pairs_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAIRS", "eth-usd, BTC/USD, eth/usd")
    assert train.build_parser().parse_args([]).pairs == ("ETH/USD", "BTC/USD")


def test_a_new_pair_failing_beside_served_pairs_with_no_new_bar_leaves_the_served_model_standing(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scheduled run with no new bar, while a pair listed in PAIRS but never published fails again: the served
    model stands (exit 4, as when the others publish), and the release does not fail every run for it."""
    before = snapshot(model_dir)
    assert train.main([*SMALL, "--pairs", "BTC/USD,ETH/USD,SOL/USD", "--model-dir", str(model_dir)]) == 4
    out, err = capsys.readouterr()
    assert "train: SOL/USD: bars: no embedded history for SOL/USD" in err
    assert "train: nothing new for the pairs served; SOL/USD left out; the current model stands" in out
    assert snapshot(model_dir) == before
