"""The materialised table: every row is the model's forecast from the latest close before it."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from cryptopredict.core.artifact import load_artifact, pair_files, pair_name
from cryptopredict.core.forecast import DEFAULT_LEVEL, LEVELS, QUANTILE_DIGITS, BandQuantiles, ForecastTable
from cryptopredict.training.model import deserialise_model, log_trend, read_band_file, write_band_file

# The table stores 8 significant digits; anything looser would let a sign error in the trend difference through
# (one bar of a damped trend moves the forecast by ~1e-4 of the close).
TIGHT = 1e-7
# The other levels' bands come from quantiles stored to QUANTILE_DIGITS digits: a log quantile of up to 2 (a year
# ahead) is then off by 1e-5 at most, and so is the band's end, relatively.
LEVEL_TIGHT = 2 * 10 ** (1 - QUANTILE_DIGITS)


def expected_rows(
    model_dir: Path, symbol: str, level: int = DEFAULT_LEVEL
) -> tuple[ForecastTable, list[tuple[int, int, float, float, float]]]:
    """The table, and per row (row, anchor row, centre, low, high) computed from the stored Prophet fit and band
    file alone: close at the anchor times exp(damping * (trend at the row - trend at the anchor)), the band's
    quantiles of `level` at the row's distance from the anchor (widened like a random walk beyond the calibrated
    bars)."""
    table = load_artifact(model_dir).pairs[symbol].forecast
    files = pair_files(symbol)
    model = deserialise_model((model_dir / files.prophet).read_bytes())
    band, damping = read_band_file((model_dir / files.band).read_bytes())
    times = pd.to_datetime([table.time_of(row) for row in range(len(table.prediction))], unit="s")
    trend = log_trend(model, times)
    rows = []
    anchor = None
    for row, close in enumerate(table.actual):
        if anchor is not None:
            centre = table.actual[anchor] * math.exp(damping * (trend[row] - trend[anchor]))
            low, high = band.low[level], band.high[level]
            steps, calibrated = row - anchor, len(low)
            scale = 1.0 if steps <= calibrated else math.sqrt(steps / calibrated)
            q_low, q_high = low[min(steps, calibrated) - 1] * scale, high[min(steps, calibrated) - 1] * scale
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


@pytest.mark.parametrize("level", [level for level in LEVELS if level != DEFAULT_LEVEL])
@pytest.mark.parametrize("fixture", ["trained_model_dir", "hourly_model_dir"])
def test_every_row_of_another_level_is_its_own_quantiles_around_the_same_forecast(
    request: pytest.FixtureRequest, fixture: str, level: int
) -> None:
    table, rows = expected_rows(request.getfixturevalue(fixture), "BTC/USD", level)
    for row, _, _, low, high in rows:
        assert table.band_at(row, level) == pytest.approx((low, high), rel=LEVEL_TIGHT, abs=0), row


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


BAND = BandQuantiles(
    low={50: [-0.004, -0.0123456789], 80: [-0.01, -0.0212345678901], 95: [-0.02, -0.0412345678901]},
    high={50: [0.005, 0.0123456789], 80: [0.012, 0.0212345678901], 95: [0.021, 0.0412345678901]},
)


def test_the_band_file_round_trips_with_its_damping() -> None:
    restored, damping = read_band_file(write_band_file(BAND, 0.35, 80))
    assert damping == 0.35
    # The columns' level exactly (a re-anchor reproduces the table byte for byte); the others as the table keeps them.
    assert (restored.low[80], restored.high[80]) == (BAND.low[80], BAND.high[80])
    assert restored.low[95] == [-0.02, -0.0412346] and restored.high[50] == [0.005, 0.0123457]
    assert restored.rounded() == BAND.rounded()


def old_band_file() -> bytes:
    return b'{"format": 1, "damping": 0.1, "low": [-0.01, -0.02], "high": [0.01, 0.02]}'


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (old_band_file(), r"the band file holds the 80 % band only; this version calibrates 50, 80 or 95 \(%\)"),
        (b'{"format": 9, "damping": 0.1, "levels": {}}', "not a band file of format 2"),
        (b'{"format": 2, "damping": 0.1, "levels": {"80": {"low": [-0.1], "high": [0.1]}}}', r"band levels are \[80\]"),
        (
            b'{"format": 2, "damping": 0.1, "levels": {"50": {"low": [-0.2], "high": [0.1]}, '
            b'"80": {"low": [-0.1], "high": [0.2]}, "95": {"low": [-0.3], "high": [0.3]}}}',
            "not a band file: bands not nested 1 bars ahead: the 50 % band's",
        ),
        (b'{"format": 2, "levels": {}}', "not a band file"),
        (b"[1, 2]", "not a band file"),
        (b"not json", "not a band file: not JSON"),
    ],
    ids=["80-only", "format", "one-level", "not-nested", "no-damping", "list", "not-json"],
)
def test_anything_but_a_band_file_of_this_format_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_band_file(raw)
