"""Refit or re-anchor: the stored Prophet fit and band carried to the newest close between refits, when a refit is
due, and what a failed refit leaves published. On the small hourly model of the shared hourly bars."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cryptopredict.core.artifact import pair_files, read_verified_files, write_artifact
from cryptopredict.core.dates import parse_utc
from cryptopredict.core.forecast import ForecastTable, level_of
from cryptopredict.core.timeframe import HOUR, timeframe_of
from cryptopredict.training import cli as train_py
from cryptopredict.training import pipeline
from cryptopredict.training.backtest import BacktestError, BacktestPlan
from cryptopredict.training.bars import read_csv_bars
from cryptopredict.training.model import ModelSpec, deserialise_model, log_trend, materialise_forecast, read_band_file
from cryptopredict.training.pipeline import TrainSettings, load_bars, train
from tests.conftest import HOURLY_BTC_USD, SMALL_HOURLY_START, SMALL_HOURLY_UNTIL, small_hourly_settings

BTC = "BTC/USD"
# Where a test needs a real refit but not a meaningful backtest: 6 fits instead of the fixture's 18.
TINY_PLAN = BacktestPlan(scored=4, warmup=2, span_days=30)
FILES = pair_files(BTC)
SIX_HOURS = dt.timedelta(hours=6)


def card_of(model_dir: Path) -> dict[str, Any]:
    return dict(json.loads((model_dir / "manifest.json").read_text())["pairs"][BTC])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def hourly_copy(hourly_model_dir: Path, tmp_path: Path) -> Path:
    """The session's hourly model (bars to 2025-03-01T06:00Z, fitted then), to run again on."""
    return Path(shutil.copytree(hourly_model_dir, tmp_path / "model"))


@pytest.fixture(scope="module")
def reanchored_dir(hourly_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hourly model after a run six hours later, with the default refit policy (weekly)."""
    model_dir = Path(shutil.copytree(hourly_model_dir, tmp_path_factory.mktemp("reanchored") / "model"))
    result = train(small_hourly_settings(model_dir, until=SMALL_HOURLY_UNTIL + SIX_HOURS))
    assert result.outcomes[BTC].status == "updated", result.reasons
    return model_dir


def test_a_run_six_hours_later_reanchors_the_stored_fit_at_the_newest_close(
    hourly_model_dir: Path, reanchored_dir: Path
) -> None:
    before, after = card_of(hourly_model_dir), card_of(reanchored_dir)
    assert (before["update"], after["update"]) == ("refit", "reanchor")
    assert before["fitted_at"] == before["trained_at"]  # a refit's table is made with its fit: one instant
    for key in ("fitted_at", "fit_last_bar", "first_bar", "rows", "model", "backtest", "gate"):
        assert after[key] == before[key], key  # the same fit, its backtest and its verdict
    assert before["last_bar"] == before["fit_last_bar"] == "2025-03-01T05:00:00Z"
    assert after["last_bar"] == "2025-03-01T11:00:00Z"  # six bars later: the one that closed at 12:00
    assert after["trained_until"] == "2025-03-01T12:00:00Z"
    assert after["model_version"] != before["model_version"]
    for name in (FILES.prophet, FILES.band):
        assert (reanchored_dir / name).read_bytes() == (hourly_model_dir / name).read_bytes()

    table = ForecastTable.from_json((reanchored_dir / FILES.forecast).read_bytes())
    newest = pd.Timestamp("2025-03-01 11:00")
    close = float(read_csv_bars(HOURLY_BTC_USD).set_index("ds")["close"][newest])
    last = table.last_row
    assert table.time_of(last) == newest.tz_localize("UTC").timestamp()
    assert table.actual[last] == close and table.actual[last + 1] is None
    # One bar after the newest bar: its close times the stored fit's drift over that hour, damped.
    model = deserialise_model((reanchored_dir / FILES.prophet).read_bytes())
    _, damping = read_band_file((reanchored_dir / FILES.band).read_bytes())
    trend = log_trend(model, pd.DatetimeIndex([newest, newest + pd.Timedelta(hours=1)]))
    assert table.prediction[last + 1] == pytest.approx(close * math.exp(damping * (trend[1] - trend[0])), rel=1e-7)


@pytest.mark.parametrize("update", ["refit", "reanchor"])
def test_the_stored_prophet_json_and_band_reproduce_the_published_forecast(
    update: str, hourly_model_dir: Path, reanchored_dir: Path
) -> None:
    model_dir = hourly_model_dir if update == "refit" else reanchored_dir
    manifest, files = read_verified_files(model_dir)
    card = manifest["pairs"][BTC]
    assert card["update"] == update
    band, damping = read_band_file(files[FILES.band])
    assert band.calibrated == len(band.high[80]) == timeframe_of(card["timeframe"]).calibrated_bars
    bars, _ = load_bars(small_hourly_settings(model_dir), BTC, parse_utc(card["trained_until"]))
    table = materialise_forecast(
        deserialise_model(files[FILES.prophet]),
        bars,
        spec=ModelSpec(timeframe=timeframe_of(card["timeframe"]), damping=damping),
        band=band,
        symbol=BTC,
        horizon_days=card["horizon_days"],
        level=level_of(card["interval"]),
    )
    assert table.to_json() == files[FILES.forecast]


def test_a_refit_due_after_six_hours_refits_on_the_newest_bars(hourly_model_dir: Path, hourly_copy: Path) -> None:
    before = card_of(hourly_model_dir)
    settings = small_hourly_settings(
        hourly_copy, until=SMALL_HOURLY_UNTIL + SIX_HOURS, refit_after_hours=6, backtest_plan=TINY_PLAN
    )
    result = train(settings)
    assert result.outcomes[BTC].status == "updated", result.reasons
    after = card_of(hourly_copy)
    assert after["update"] == "refit"
    assert after["fit_last_bar"] == after["last_bar"] == "2025-03-01T11:00:00Z"
    assert after["fitted_at"] >= before["fitted_at"] and after["backtest"] != before["backtest"]
    assert (hourly_copy / FILES.prophet).read_bytes() != (hourly_model_dir / FILES.prophet).read_bytes()


class RefitSpy:
    """Stands in for `fit_pair`: records that a refit was chosen, on which bars, and fails it as a backtest would."""

    def __init__(self) -> None:
        self.newest_bars: list[str] = []

    def __call__(self, settings: TrainSettings, symbol: str, bars: pd.DataFrame, *args: object, **kw: object) -> None:
        self.newest_bars.append(f"{bars['ds'].iloc[-1]:%Y-%m-%dT%H:%M}")
        raise BacktestError("no fit in this test")


@pytest.fixture
def refit_spy(monkeypatch: pytest.MonkeyPatch) -> RefitSpy:
    spy = RefitSpy()
    monkeypatch.setattr(pipeline, "fit_pair", spy)
    return spy


@pytest.mark.parametrize(
    ("hours_later", "refit_after_hours", "newest_bar"),
    [
        pytest.param(0, 0, "2025-03-01T05:00", id="0-refits-every-run-even-on-the-same-bars"),
        pytest.param(6, 6, "2025-03-01T11:00", id="6h-of-new-bars-and-refit-after-6h"),
        pytest.param(-6, 168, "2025-02-28T23:00", id="until-before-the-stored-fit-would-look-ahead"),
    ],
)
def test_a_refit_is_chosen_when_due(
    hours_later: int, refit_after_hours: float, newest_bar: str, refit_spy: RefitSpy, hourly_copy: Path
) -> None:
    before = snapshot(hourly_copy)
    until = SMALL_HOURLY_UNTIL + dt.timedelta(hours=hours_later)
    result = train(small_hourly_settings(hourly_copy, until=until, refit_after_hours=refit_after_hours))
    assert refit_spy.newest_bars == [newest_bar]
    outcome = result.outcomes[BTC]
    assert (outcome.status, outcome.reason) == ("kept", "backtest: no fit in this test")
    # With newer bars the failed refit falls back to the stored fit re-anchored at the newest close, but as the
    # only pair nothing updated: nothing is published and the stored model stays exactly as it was.
    assert outcome.reanchored == (hours_later > 0)
    assert result.manifest is None
    assert snapshot(hourly_copy) == before


def test_six_hours_of_bars_under_a_seven_hour_policy_reanchors(refit_spy: RefitSpy, hourly_copy: Path) -> None:
    result = train(small_hourly_settings(hourly_copy, until=SMALL_HOURLY_UNTIL + SIX_HOURS, refit_after_hours=7))
    assert refit_spy.newest_bars == []
    assert result.outcomes[BTC].status == "updated"
    assert card_of(hourly_copy)["update"] == "reanchor"


def test_a_stored_daily_model_is_refitted_by_an_hourly_run(refit_spy: RefitSpy, model_dir: Path) -> None:
    # The daily model's last bar is months before the hourly bars, so make age alone never due a refit here.
    assert card_of(model_dir)["timeframe"] == "1Day"
    before = snapshot(model_dir)
    result = train(small_hourly_settings(model_dir, refit_after_hours=10**9))
    assert refit_spy.newest_bars == ["2025-03-01T05:00"]
    assert not result.outcomes[BTC].reanchored  # an hourly run cannot re-anchor a daily fit: it is kept as it was
    assert snapshot(model_dir) == before


# --- a refit that fails its gate -------------------------------------------------------------------------------------


def failing_refit_args(model_dir: Path) -> list[str]:
    """train.py on the shared hourly bars to 12:00Z, six hours after the stored fit, refitting with a gate that
    nothing passes (no MAPE ratio is below 0)."""
    return [
        "--data", str(HOURLY_BTC_USD), "--pairs", BTC, "--timeframe", HOUR.name,
        "--start", SMALL_HOURLY_START.isoformat(), "--until", "2025-03-01T12:00:00Z",
        "--backtest-refits", str(TINY_PLAN.scored), "--backtest-span-days", str(TINY_PLAN.span_days),
        "--refit-after-hours", "0", "--gate-max-mape-ratio", "0", "--model-dir", str(model_dir),
    ]  # fmt: skip


def test_every_pair_failing_its_gate_publishes_nothing_even_with_a_stored_fit_to_keep(
    hourly_model_dir: Path, hourly_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The release must ship nothing when no pair passes (the workflow fails and the served model stays), not a
    # re-anchored copy of last week's fits under a new version.
    before = snapshot(hourly_copy)
    assert train_py.main(failing_refit_args(hourly_copy)) == train_py.EXIT_GATE
    first, advice, last = capsys.readouterr().err.splitlines()
    assert first.startswith(f"train: BTC/USD: quality gate: {HOUR.horizon_label(1)}: MAPE ratio to naive")
    assert first.endswith("; keeps its previous model")  # not re-anchored: nothing is published
    assert advice.startswith("train: to try: for the MAPE ratio, a longer history")
    assert last == "train: no pair updated; the current model is unchanged"
    assert snapshot(hourly_copy) == before


def test_a_refit_failing_its_gate_without_a_stored_model_is_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = tmp_path / "model"
    assert train_py.main(failing_refit_args(model_dir)) == train_py.EXIT_GATE
    first, advice, last = capsys.readouterr().err.splitlines()
    assert first.startswith(f"train: BTC/USD: quality gate: {HOUR.horizon_label(1)}: MAPE ratio to naive")
    assert first.endswith("; has no previous model: left out")
    assert advice.startswith("train: to try: for the MAPE ratio, a longer history")
    assert last == "train: no pair updated; the current model is unchanged"
    assert not model_dir.exists()


def test_a_stored_model_that_cannot_be_loaded_is_refitted_rather_than_failing_the_run(
    refit_spy: RefitSpy, hourly_copy: Path
) -> None:
    # As a later release would leave it: a band file of another format (checksummed, so it is read).
    manifest, files = read_verified_files(hourly_copy)
    files[FILES.band] = b'{"format": 9, "damping": 0.1, "bands": {}}'
    write_artifact(hourly_copy, files, {k: v for k, v in manifest.items() if k != "files"})
    before = snapshot(hourly_copy)
    result = train(small_hourly_settings(hourly_copy, until=SMALL_HOURLY_UNTIL + SIX_HOURS))
    assert refit_spy.newest_bars == ["2025-03-01T11:00"]  # not due by age: chosen because re-anchoring failed
    assert result.outcomes[BTC].status == "kept" and not result.outcomes[BTC].reanchored
    assert snapshot(hourly_copy) == before


def test_a_run_with_no_new_bars_and_no_refit_due_publishes_nothing(hourly_copy: Path) -> None:
    # The same instant again (a rerun of the same scheduled run): the same bars, nothing to anchor at anew.
    before = snapshot(hourly_copy)
    result = train(small_hourly_settings(hourly_copy))
    assert result.outcomes[BTC].status == "unchanged"
    assert result.manifest is None and result.reasons == []
    assert snapshot(hourly_copy) == before  # the served model and its version stand, byte for byte
    args = ["--data", str(HOURLY_BTC_USD), "--pairs", BTC, "--timeframe", "1Hour", "--model-dir", str(hourly_copy)]
    args += ["--start", SMALL_HOURLY_START.isoformat(), "--until", "2025-03-01T06:00:00Z"]
    assert train_py.main(args) == 0
    assert snapshot(hourly_copy) == before
