"""The materialised table: every row is the model's forecast from the latest close before it."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from cryptopredict.artifact import load_artifact
from cryptopredict.training.model import Band


def test_history_rows_are_one_bar_ahead_forecasts_from_the_previous_close(trained_model_dir: Path) -> None:
    table = load_artifact(trained_model_dir).pairs["BTC/USD"].forecast
    last = table.last_row
    for i in range(1, last + 1):
        previous = table.actual[i - 1]
        assert previous is not None
        # damping 0.1 of a stiff trend moves a one-day forecast by well under 1 % from the previous close
        assert abs(table.prediction[i] / previous - 1) < 0.01
        assert table.low[i] <= table.prediction[i] <= table.high[i]


def test_future_rows_are_anchored_at_the_last_close_and_widen(trained_model_dir: Path) -> None:
    table = load_artifact(trained_model_dir).pairs["BTC/USD"].forecast
    card = json.loads((trained_model_dir / "manifest.json").read_text())["pairs"]["BTC/USD"]
    last = table.last_row
    last_close = table.actual[last]
    assert last_close is not None
    assert all(value is None for value in table.actual[last + 1 :])
    widths = [(table.high[i] - table.low[i]) / table.prediction[i] for i in range(last + 1, len(table.prediction))]
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(widths))
    # one bar ahead, the damped trend moves the forecast by a fraction of a percent of the last close
    assert abs(table.prediction[last + 1] / last_close - 1) < 0.01 * card["model"]["damping"] * 10


def test_model_serves_the_backtest(client, trained_model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads((trained_model_dir / "manifest.json").read_text())
    served = client.get("/model").get_json()
    assert served == manifest
    for card in served["pairs"].values():
        assert [row["horizon"] for row in card["backtest"]["horizons"]] == [1, 7, 30]
        assert card["gate"]["passed"] is True
        assert card["model"]["target"] == "log close"


def test_the_band_file_round_trips_with_its_damping() -> None:
    band = Band(low=[-0.01, -0.02, -0.025], high=[0.012, 0.02, 0.031])
    restored, damping = Band.from_json(band.to_json(0.35))
    assert (list(restored.low), list(restored.high), damping) == (list(band.low), list(band.high), 0.35)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"format": 1, "damping": 0.1, "low": [-0.01], "high": [0.01, 0.02]}',  # sides of different lengths
        b'{"format": 1, "damping": 0.1, "low": [], "high": []}',
        b'{"format": 9, "damping": 0.1, "low": [-0.01], "high": [0.01]}',
        b'{"format": 1, "low": [-0.01], "high": [0.01]}',
        b"[1, 2]",
        b"not json",
    ],
)
def test_anything_but_a_band_file_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="band file"):
        Band.from_json(raw)
