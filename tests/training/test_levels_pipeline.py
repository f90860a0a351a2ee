"""The band levels across training runs: an artifact from before levels (one 80 % band) is refitted, not
re-anchored, by the next run, and a stored band file without every level is a refit reason of its own."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cryptopredict.core.artifact import ArtifactError, load_artifact, pair_files, read_verified_files, write_artifact
from cryptopredict.core.forecast import LEVELS
from cryptopredict.core.manifest import FORMAT, PREVIOUS_FORMATS
from cryptopredict.training.backtest import BacktestPlan
from cryptopredict.training.bars import read_csv_bars
from cryptopredict.training.gate import GateThresholds
from cryptopredict.training.model import read_band_file
from cryptopredict.training.pipeline import train
from cryptopredict.training.stored import PairEntry, read_previous
from tests.conftest import HOURLY_BTC_USD, SMALL_HOURLY_UNTIL, small_hourly_settings

BTC = "BTC/USD"
FILES = pair_files(BTC)
SIX_HOURS = dt.timedelta(hours=6)
# A real refit, small: 6 fits. Its backtest is too short to judge, so the gate here only needs it to run.
TINY = {
    "backtest_plan": BacktestPlan(scored=4, warmup=2, span_days=30),
    "gate": GateThresholds(max_mape_ratio=10.0, min_coverage=0.0, max_coverage=1.0, max_coverage_gap=1.0),
}


def old_band_file(band_json: bytes) -> bytes:
    """The band file as format 1 wrote it: the damping and the 80 % band's quantiles only."""
    band, damping = read_band_file(band_json)
    return json.dumps({"format": 1, "damping": damping, "low": band.low[80], "high": band.high[80]}).encode()


def without_levels(card: dict[str, Any]) -> dict[str, Any]:
    """A card as format 3 wrote it: no levels in the scores, no coverage gap in the gate."""
    card = json.loads(json.dumps(card))
    for row in card["backtest"]["horizons"]:
        for side in ("model", "naive"):
            del row[side]["levels"]
    del card["gate"]["max_coverage_gap"]
    return card


@pytest.fixture
def previous_format(hourly_model_dir: Path, tmp_path: Path) -> Path:
    """The session's hourly model rewritten as the release before levels published it (artifact format 3)."""
    manifest, files = read_verified_files(hourly_model_dir)
    forecast = json.loads(files[FILES.forecast])
    del forecast["band"]
    files[FILES.forecast] = json.dumps({**forecast, "format": 1}, separators=(",", ":")).encode()
    files[FILES.band] = old_band_file(files[FILES.band])
    old = {k: v for k, v in manifest.items() if k != "files"}
    old.update(format=3, pairs={BTC: without_levels(manifest["pairs"][BTC])})
    model_dir = tmp_path / "model"
    write_artifact(model_dir, files, old)
    return model_dir


def test_the_server_refuses_an_artifact_from_before_levels_and_says_retrain(previous_format: Path) -> None:
    with pytest.raises(ArtifactError, match=f"is artifact format 3, this server reads {FORMAT}: retrain"):
        load_artifact(previous_format)


def test_the_next_run_refits_an_artifact_from_before_levels(previous_format: Path) -> None:
    assert 3 not in (FORMAT, *PREVIOUS_FORMATS)  # the format before levels is not read as a previous artifact
    assert read_previous(previous_format) == {}  # nothing of the old format is re-anchored or kept
    result = train(small_hourly_settings(previous_format, until=SMALL_HOURLY_UNTIL + SIX_HOURS, **TINY))
    assert result.outcomes[BTC].status == "updated", result.reasons
    artifact = load_artifact(previous_format)
    card = artifact.pairs[BTC].card
    assert (card["update"], card["last_bar"]) == ("refit", "2025-03-01T11:00:00Z")
    assert [b["level"] for b in card["backtest"]["horizons"][0]["model"]["levels"]] == list(LEVELS)
    band, _ = read_band_file((previous_format / FILES.band).read_bytes())
    assert band.problems() == []
    table = artifact.pairs[BTC].forecast
    assert table.band == band.rounded()


def test_a_stored_band_file_with_the_80_percent_band_only_is_a_refit_reason(
    hourly_model_dir: Path, tmp_path: Path
) -> None:
    manifest, files = read_verified_files(hourly_model_dir)
    files[FILES.band] = old_band_file(files[FILES.band])
    model_dir = tmp_path / "model"
    write_artifact(model_dir, files, {k: v for k, v in manifest.items() if k != "files"})
    [stored] = read_previous(model_dir).values()
    assert isinstance(stored, PairEntry)
    settings = small_hourly_settings(model_dir, until=SMALL_HOURLY_UNTIL + SIX_HOURS, **TINY)
    bars = read_csv_bars(HOURLY_BTC_USD)
    bars = bars[bars["ds"] <= pd.Timestamp("2025-03-01T11:00")]
    # Six hours of bars are not due a refit by age (the weekly policy); the band file is.
    assert stored.refit_due(settings, bars) == (
        "the stored band cannot be re-anchored: the band file holds the 80 % band only; this version calibrates "
        "50, 80 or 95 (%)"
    )
    result = train(settings)
    assert result.outcomes[BTC].status == "updated", result.reasons
    assert json.loads((model_dir / "manifest.json").read_text())["pairs"][BTC]["update"] == "refit"
    assert json.loads((model_dir / FILES.band).read_bytes())["format"] == 2


def test_the_stored_band_of_this_format_is_re_anchored(hourly_model_dir: Path, tmp_path: Path) -> None:
    model_dir = Path(shutil.copytree(hourly_model_dir, tmp_path / "model"))
    before = (model_dir / FILES.band).read_bytes()
    result = train(small_hourly_settings(model_dir, until=SMALL_HOURLY_UNTIL + SIX_HOURS))
    assert result.outcomes[BTC].status == "updated", result.reasons
    assert json.loads((model_dir / "manifest.json").read_text())["pairs"][BTC]["update"] == "reanchor"
    assert (model_dir / FILES.band).read_bytes() == before  # every level carried over unchanged
