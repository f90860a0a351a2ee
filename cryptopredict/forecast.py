"""The materialised forecast: one row per bar, looked up and interpolated without pandas."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptopredict.dates import format_utc

FORMAT = 1


class OutOfRange(ValueError):
    """The asked-for time lies outside the table."""


def significant(value: float, digits: int = 8) -> float:
    """Round to significant digits: cheap coins keep their precision, and files and responses stay short."""
    return float(f"{value:.{digits}g}")


@dataclass(frozen=True)
class Point:
    """One answer: the predicted price and its band at a moment."""

    epoch: float
    prediction: float
    low: float
    high: float


@dataclass(frozen=True)
class ForecastTable:
    """Values on a regular grid of bar times, from the first bar to the last bar plus the horizon."""

    symbol: str
    timeframe: str
    start: int  # epoch seconds of the first grid point (the first bar)
    step: int  # seconds between grid points (the bar length)
    last_bar: int  # epoch seconds of the last observed bar
    interval: float  # the band's nominal coverage, e.g. 0.8
    prediction: Sequence[float]
    low: Sequence[float]
    high: Sequence[float]
    actual: Sequence[float | None]  # observed closes; None where the history has a gap or in the future

    @property
    def end(self) -> int:
        return self.start + (len(self.prediction) - 1) * self.step

    @property
    def last_row(self) -> int:
        """The row of the last observed bar."""
        return (self.last_bar - self.start) // self.step

    def require_inside(self, epoch: float) -> None:
        """Raise OutOfRange unless `epoch` lies between the first and the last row."""
        if not self.start <= epoch <= self.end:
            raise OutOfRange(
                f"{format_utc(epoch)} is outside this model's range {format_utc(self.start)} to {format_utc(self.end)}"
            )

    def lookup(self, epoch: float) -> Point:
        """The values at `epoch`, interpolated linearly between the two neighbouring bars."""
        self.require_inside(epoch)
        index, remainder = divmod(epoch - self.start, self.step)
        i = int(index)
        if remainder == 0 or i + 1 >= len(self.prediction):
            return Point(epoch, self.prediction[i], self.low[i], self.high[i])
        weight = remainder / self.step

        def mix(values: Sequence[float]) -> float:
            return values[i] + (values[i + 1] - values[i]) * weight

        # Rounding is monotone, so low <= prediction <= high still holds afterwards.
        return Point(epoch, significant(mix(self.prediction)), significant(mix(self.low)), significant(mix(self.high)))

    def rows_between(self, first: float, last: float) -> range:
        """Rows of the grid points from `first` to `last` inclusive; both must lie inside the table."""
        self.require_inside(first)
        self.require_inside(last)
        return range(-int((self.start - first) // self.step), int((last - self.start) // self.step) + 1)

    def time_of(self, row: int) -> int:
        return self.start + row * self.step

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "symbol": self.symbol,
                "timeframe": self.timeframe,
                "start": self.start,
                "step": self.step,
                "last_bar": self.last_bar,
                "interval": self.interval,
                "prediction": list(self.prediction),
                "low": list(self.low),
                "high": list(self.high),
                "actual": list(self.actual),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> ForecastTable:
        """Parse and check a table; a malformed one raises ValueError."""
        data: dict[str, Any] = json.loads(raw)
        if data.get("format") != FORMAT:
            raise ValueError(f"unsupported forecast format {data.get('format')!r}")
        columns = [data[name] for name in ("prediction", "low", "high", "actual")]
        if not columns[0] or any(len(c) != len(columns[0]) for c in columns):
            raise ValueError("forecast columns are empty or of different lengths")
        if data["step"] <= 0:
            raise ValueError("forecast step must be positive")
        for lo, mid, hi in zip(data["low"], data["prediction"], data["high"], strict=True):
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= mid <= hi):
                raise ValueError("forecast band must be finite and hold the prediction")
        return cls(
            symbol=data["symbol"],
            timeframe=data["timeframe"],
            start=int(data["start"]),
            step=int(data["step"]),
            last_bar=int(data["last_bar"]),
            interval=float(data["interval"]),
            prediction=data["prediction"],
            low=data["low"],
            high=data["high"],
            actual=data["actual"],
        )
