"""train.py's backtest, gate and model cards end to end: the cards printed and written, a failed gate keeping the
previous model, a history too short for the backtest or shrinking its plan."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cryptopredict.core.timeframe import DAY
from cryptopredict.training import cli as train
from cryptopredict.training.backtest import BacktestPlan, fit_plan
from cryptopredict.training.bars import read_csv_bars
from tests.fakes.alpaca import make_daily_bars
from tests.training.train_runs import BTC_ONLY, REFIT, SMALL, read_manifest, snapshot


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
