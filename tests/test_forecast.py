"""The forecast table's lookup, on numbers small enough to check by hand."""

from __future__ import annotations

import pytest

from cryptopredict.forecast import ForecastTable, OutOfRange

DAY = 86_400
START = 1_704_067_200  # 2024-01-01T00:00:00Z


def table(**overrides: object) -> ForecastTable:
    values: dict[str, object] = {
        "symbol": "BTC/USD",
        "timeframe": "1Day",
        "start": START,
        "step": DAY,
        "last_bar": START + DAY,
        "interval": 0.8,
        "prediction": [100.0, 200.0, 400.0],
        "low": [90.0, 150.0, 300.0],
        "high": [110.0, 250.0, 500.0],
        "actual": [101.0, 199.0, None],
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
