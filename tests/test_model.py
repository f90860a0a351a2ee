"""The materialised table: every row is the model's forecast from the latest close before it."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from cryptopredict.artifact import load_artifact, pair_files, pair_name
from cryptopredict.forecast import ForecastTable
from cryptopredict.training.model import Band, deserialise_model, log_trend

# The table stores 8 significant digits; anything looser would let a sign error in the trend difference through
# (one bar of a damped trend moves the forecast by ~1e-4 of the close).
TIGHT = 1e-7


def expected_rows(model_dir: Path, symbol: str) -> tuple[ForecastTable, list[tuple[int, int, float, float, float]]]:
    """The table, and per row (row, anchor row, centre, low, high) computed from the stored Prophet fit and band
    file alone: close at the anchor times exp(damping * (trend at the row - trend at the anchor)), the band's
    quantiles at the row's distance from the anchor (widened like a random walk beyond the calibrated bars)."""
    table = load_artifact(model_dir).pairs[symbol].forecast
    files = pair_files(symbol)
    model = deserialise_model((model_dir / files.prophet).read_bytes())
    band, damping = Band.from_json((model_dir / files.band).read_bytes())
    times = pd.to_datetime([table.time_of(row) for row in range(len(table.prediction))], unit="s")
    trend = log_trend(model, times)
    rows = []
    anchor = None
    for row, close in enumerate(table.actual):
        if anchor is not None:
            centre = table.actual[anchor] * math.exp(damping * (trend[row] - trend[anchor]))
            steps, calibrated = row - anchor, len(band.low)
            scale = 1.0 if steps <= calibrated else math.sqrt(steps / calibrated)
            q_low, q_high = band.low[min(steps, calibrated) - 1] * scale, band.high[min(steps, calibrated) - 1] * scale
            rows.append((row, anchor, centre, centre * math.exp(min(q_low, 0.0)), centre * math.exp(max(q_high, 0.0))))
        if close is not None:
            anchor = row
    return table, rows


@pytest.mark.parametrize(("fixture", "symbol"), [("trained_model_dir", "BTC/USD"), ("hourly_model_dir", "BTC/USD")])
def test_every_row_is_the_damped_trend_anchored_at_the_latest_close_before_it(
    request: pytest.FixtureRequest, fixture: str, symbol: str
) -> None:
    table, rows = expected_rows(request.getfixturevalue(fixture), symbol)
    assert len(rows) >= len(table.prediction) - 1  # every row but the first has a close before it
    for row, _, centre, low, high in rows:
        assert table.prediction[row] == pytest.approx(centre, rel=TIGHT, abs=0), row
        assert table.low[row] == pytest.approx(low, rel=TIGHT, abs=0), row
        assert table.high[row] == pytest.approx(high, rel=TIGHT, abs=0), row


def test_history_rows_are_one_bar_ahead_forecasts_from_the_previous_close(trained_model_dir: Path) -> None:
    table, rows = expected_rows(trained_model_dir, "BTC/USD")
    history = [(row, anchor) for row, anchor, *_ in rows if row <= table.last_row]
    assert len(history) == table.last_row  # the daily history has no gaps: each bar is forecast from the one before
    assert all(anchor == row - 1 for row, anchor in history)


def test_future_rows_are_anchored_at_the_last_close_and_widen(trained_model_dir: Path) -> None:
    table, rows = expected_rows(trained_model_dir, "BTC/USD")
    last = table.last_row
    assert table.actual[last] is not None
    assert all(value is None for value in table.actual[last + 1 :])
    future = [r for r in rows if r[0] > last]
    assert len(future) == len(table.prediction) - last - 1
    assert all(anchor == last for _, anchor, *_ in future)
    widths = [(table.high[i] - table.low[i]) / table.prediction[i] for i in range(last + 1, len(table.prediction))]
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(widths))


def test_model_serves_the_backtest(client, trained_model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads((trained_model_dir / "manifest.json").read_text())
    served = client.get("/model").get_json()
    assert served == {**manifest, "pairs": {pair_name(s): card for s, card in manifest["pairs"].items()}}
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
