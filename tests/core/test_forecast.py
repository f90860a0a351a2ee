"""The forecast table's lookup, on numbers small enough to check by hand."""

from __future__ import annotations

import json
import math

import pytest

from cryptopredict.core.forecast import (
    DEFAULT_LEVEL,
    FORMAT,
    LEVELS,
    BandQuantiles,
    ForecastTable,
    OutOfRange,
    coverage_of,
    level_of,
    significant,
)

DAY = 86_400
START = 1_704_067_200  # 2024-01-01T00:00:00Z
# Two calibrated steps per level; the 80 % quantiles are the ones the columns below were made with.
QUANTILES = BandQuantiles(
    low={50: [-0.05, -0.1], 80: [-0.1, -0.2], 95: [-0.2, -0.4]},
    high={50: [0.05, 0.1], 80: [0.1, 0.2], 95: [0.2, 0.4]},
)


def table(**overrides: object) -> ForecastTable:
    values: dict[str, object] = {
        "symbol": "BTC/USD",
        "timeframe": "1Day",
        "start": START,
        "step": DAY,
        "last_bar": START + DAY,
        "level": 80,
        "prediction": [100.0, 200.0, 400.0],
        "low": [90.0, 150.0, 300.0],
        "high": [110.0, 250.0, 500.0],
        "actual": [101.0, 199.0, None],
        "band": QUANTILES,
    }
    values.update(overrides)
    return ForecastTable(**values)  # type: ignore[arg-type]


def test_lookup_on_a_bar_returns_the_stored_row() -> None:
    point = table().lookup(START + DAY)
    assert (point.prediction, point.low, point.high) == (200.0, 150.0, 250.0)


def test_lookup_between_bars_interpolates_linearly() -> None:
    point = table().lookup(START + DAY + DAY // 4)  # a quarter of the way from row 1 to row 2
    assert (point.prediction, point.low, point.high) == (250.0, 187.5, 312.5)


@pytest.mark.parametrize("epoch", [START - 1, START + 2 * DAY + 1])
def test_lookup_outside_the_grid_is_refused_with_the_range(epoch: int) -> None:
    with pytest.raises(OutOfRange, match="2024-01-01T00:00:00Z to 2024-01-03T00:00:00Z"):
        table().lookup(epoch)


def test_both_ends_are_inside_the_range() -> None:
    assert table().lookup(START).prediction == 100.0
    assert table().lookup(START + 2 * DAY).prediction == 400.0


def test_json_round_trip_keeps_every_value() -> None:
    original = table()
    assert ForecastTable.from_json(original.to_json()) == ForecastTable(
        **{**original.__dict__, "prediction": [100.0, 200.0, 400.0]}
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"low": [90.0, 150.0]}, "different lengths"),
        ({"low": [90.0, 210.0, 300.0]}, "hold the prediction"),
        ({"step": 0}, "step must be positive"),
    ],
)
def test_malformed_tables_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ForecastTable.from_json(table(**overrides).to_json())


def test_rows_between_includes_grid_points_on_both_ends() -> None:
    assert list(table().rows_between(START, START + 2 * DAY)) == [0, 1, 2]
    assert list(table().rows_between(START + 1, START + 2 * DAY - 1)) == [1]  # only 2024-01-02 lies inside
    assert list(table().rows_between(START + 1, START + DAY - 1)) == []
    with pytest.raises(OutOfRange):
        table().rows_between(START - DAY, START)


def test_the_levels_are_defined_once_with_their_nominal_coverage() -> None:
    assert LEVELS == (50, 80, 95) and DEFAULT_LEVEL == 80
    assert [coverage_of(level) for level in LEVELS] == [0.5, 0.8, 0.95]
    assert [level_of(coverage) for coverage in (0.5, 0.8, 0.95)] == [50, 80, 95]
    with pytest.raises(ValueError, match=r"one of 50, 80 or 95 \(%\), not 0.9"):
        level_of(0.9)


def test_the_default_level_is_the_stored_columns_exactly() -> None:
    for epoch in (START, START + DAY, START + DAY + DAY // 4, START + 2 * DAY):
        assert table().lookup(epoch, 80) == table().lookup(epoch)
    assert table().band_at(1, 80) == (150.0, 250.0)


@pytest.mark.parametrize(("level", "step"), [(50, 0), (95, 0), (50, 1), (95, 1)])
def test_another_level_moves_the_stored_band_by_the_difference_of_the_quantiles(level: int, step: int) -> None:
    # Row 1 is the last bar, forecast one bar ahead from row 0; row 2 is one bar past the last bar; both use step 0.
    # With the last bar at row 0, row 2 is two bars ahead: step 1.
    t = table() if step == 0 else table(last_bar=START, actual=[101.0, None, None])
    row = 2
    low = QUANTILES.low[level][step] - QUANTILES.low[80][step]
    high = QUANTILES.high[level][step] - QUANTILES.high[80][step]
    expected = (significant(300.0 * math.exp(low)), significant(500.0 * math.exp(high)))
    assert t.band_at(row, level) == expected
    point = t.lookup(START + row * DAY, level)
    assert (point.prediction, point.low, point.high) == (400.0, *expected)


def test_the_distance_to_the_anchor_counts_gaps_and_the_bars_past_the_last() -> None:
    t = table(
        last_bar=START + 2 * DAY,
        actual=[101.0, None, 199.0, None, None],
        prediction=[1.0] * 5,
        low=[1.0] * 5,
        high=[1.0] * 5,
    )
    # Row 0 from the bar before the table; row 2 from row 0 across the gap; rows 3 and 4 from the last bar, row 2.
    assert [t.steps_ahead(row) for row in range(5)] == [1, 1, 2, 1, 2]


def test_past_the_calibrated_steps_every_level_widens_like_a_random_walk() -> None:
    for level in LEVELS:
        low, high = QUANTILES.at(8, level)  # 8 steps of 2 calibrated: twice the last quantiles
        assert (low, high) == pytest.approx((2 * QUANTILES.low[level][-1], 2 * QUANTILES.high[level][-1]))


def test_between_bars_each_level_is_interpolated_and_stays_nested() -> None:
    t = table()
    bands = {level: t.lookup(START + DAY + DAY // 4, level) for level in LEVELS}
    for level, point in bands.items():
        at_1, at_2 = t.band_at(1, level), t.band_at(2, level)
        assert point.low == significant(at_1[0] + (at_2[0] - at_1[0]) / 4)
        assert point.high == significant(at_1[1] + (at_2[1] - at_1[1]) / 4)
    assert bands[95].low <= bands[80].low <= bands[50].low <= bands[50].prediction
    assert bands[50].prediction <= bands[50].high <= bands[80].high <= bands[95].high


def raw_table(**changes: object) -> bytes:
    data = json.loads(table().to_json())
    data.update(changes)
    return json.dumps(data).encode()


def test_the_stored_quantiles_round_trip() -> None:
    restored = ForecastTable.from_json(table().to_json())
    assert restored.band == QUANTILES
    assert json.loads(table().to_json())["band"]["95"] == {"low": [-0.2, -0.4], "high": [0.2, 0.4]}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": 1}, "unsupported forecast format 1"),
        ({"interval": 0.9}, r"coverage must be one of 50, 80 or 95 \(%\), not 0.9"),
        ({"band": None}, "band quantiles: expected an object of levels"),
        (
            {"band": {**QUANTILES.to_dict(), "95": {"low": [-0.2, -0.15], "high": [0.2, 0.4]}}},
            r"bands not nested 2 bars ahead: the 80 % band's log quantiles \[-0.2, 0.2\] are not inside the 95 % "
            r"band's \[-0.15, 0.4\]",
        ),
        (
            {"band": {**QUANTILES.to_dict(), "50": {"low": [-0.05, -0.1], "high": [0.15, 0.1]}}},
            r"bands not nested 1 bars ahead: the 50 % band's log quantiles \[-0.05, 0.15\] are not inside the 80 %",
        ),
        ({"band": {"50": QUANTILES.to_dict()["50"], "80": QUANTILES.to_dict()["80"]}}, r"band levels are \[50, 80\]"),
        ({"band": {**QUANTILES.to_dict(), "95": {"low": [-0.2], "high": [0.2]}}}, "of different lengths"),
        ({"band": {**QUANTILES.to_dict(), "95": {"low": [-0.2, None], "high": [0.2, 0.4]}}}, "not all finite"),
    ],
    ids=["format-1", "interval", "no-band", "95-inside-80", "50-outside-80", "a-level-missing", "lengths", "null"],
)
def test_a_table_whose_levels_are_missing_or_not_nested_is_refused_precisely(
    changes: dict[str, object], message: str
) -> None:
    assert FORMAT == 2
    with pytest.raises(ValueError, match=message):
        ForecastTable.from_json(raw_table(**changes))
