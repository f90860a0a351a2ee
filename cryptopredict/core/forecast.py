"""The materialised forecast: one row per bar, looked up and interpolated without pandas.

The band levels are defined here, once, for training and serving alike: the table holds the band of its own
`level` (the default level) as columns, and every level's log-error quantiles per calibrated horizon, from
which another level's band is computed at lookup relative to those columns. The table file carries that level as
its nominal coverage, `interval` (coverage_of), a share like the API's answers.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptopredict.core.dates import format_utc

FORMAT = 2  # 1: the default band's columns only

# The band levels the API offers (nominal coverage in percent, as TimeGPT's and statsforecast's `level`), and the one
# a request without `level` gets: the table's columns hold it, so its answers are exactly what they were before levels.
LEVELS: tuple[int, ...] = (50, 80, 95)
DEFAULT_LEVEL = 80
# Log-error quantiles are stored in the table to 6 significant digits: 1e-6 of a log quantile moves a band end by
# far less than the 8 digits prices keep, and the hourly table stays small (720 steps x 3 levels x 2 sides).
QUANTILE_DIGITS = 6


def coverage_of(level: int) -> float:
    """A level's nominal coverage: 80 -> 0.8."""
    return level / 100


def level_of(coverage: float) -> int:
    """The level whose nominal coverage is `coverage` (0.8 -> 80); ValueError for any other coverage."""
    for level in LEVELS:
        if coverage_of(level) == coverage:
            return level
    raise ValueError(f"a band's coverage must be one of {levels_text()}, not {coverage!r}")


def levels_text() -> str:
    """The levels as people read them: '50, 80 or 95 (%)'."""
    return ", ".join(str(level) for level in LEVELS[:-1]) + f" or {LEVELS[-1]} (%)"


@dataclass(frozen=True)
class BandQuantiles:
    """The log-error quantiles of every level's band per horizon in bars: index 0 is one bar ahead.

    Nested by construction (the same errors' quantiles at nested tails): at every step the 95 % low is at or below
    the 80 % low, which is at or below the 50 % low, and the highs the other way round."""

    low: Mapping[int, Sequence[float]]  # by level
    high: Mapping[int, Sequence[float]]

    @property
    def calibrated(self) -> int:
        """How many bars ahead the quantiles are calibrated."""
        return len(self.low[DEFAULT_LEVEL])

    def at(self, steps: int, level: int = DEFAULT_LEVEL) -> tuple[float, float]:
        """A level's quantiles `steps` bars ahead; beyond the calibrated horizon they widen like a random walk."""
        low, high = self.low[level], self.high[level]
        if steps <= len(low):
            return low[steps - 1], high[steps - 1]
        scale = math.sqrt(steps / len(low))
        return low[-1] * scale, high[-1] * scale

    def problems(self) -> list[str]:
        """What is wrong with these quantiles: levels missing, lengths differing, values not finite or not nested."""
        if set(self.low) != set(LEVELS) or set(self.high) != set(LEVELS):
            return [f"band levels are {sorted(set(self.low) | set(self.high))}, expected {list(LEVELS)}"]
        lengths = {len(values) for side in (self.low, self.high) for values in side.values()}
        if len(lengths) != 1 or 0 in lengths:
            return ["band quantiles are empty or of different lengths"]
        for side in (self.low, self.high):
            for level, values in side.items():
                if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
                    return [f"band quantiles of the {level} % band are not all finite numbers"]
        for step in range(lengths.pop()):
            for inner, outer in itertools.pairwise(LEVELS):
                if self.low[outer][step] > self.low[inner][step] or self.high[outer][step] < self.high[inner][step]:
                    return [
                        f"bands not nested {step + 1} bars ahead: the {inner} % band's log quantiles "
                        f"[{self.low[inner][step]}, {self.high[inner][step]}] are not inside the {outer} % band's "
                        f"[{self.low[outer][step]}, {self.high[outer][step]}]"
                    ]
        return []

    def rounded(self, digits: int = QUANTILE_DIGITS) -> BandQuantiles:
        """The quantiles to `digits` significant digits (rounding is monotone: nesting survives it)."""
        return BandQuantiles(
            low={level: [significant(v, digits) for v in values] for level, values in self.low.items()},
            high={level: [significant(v, digits) for v in values] for level, values in self.high.items()},
        )

    def to_dict(self) -> dict[str, dict[str, list[float]]]:
        """{"50": {"low": [...], "high": [...]}, ...}: JSON keys are strings."""
        return {str(level): {"low": list(self.low[level]), "high": list(self.high[level])} for level in LEVELS}

    @classmethod
    def from_dict(cls, data: Any) -> BandQuantiles:
        """Quantiles from `to_dict`'s form, checked; ValueError naming what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError("band quantiles: expected an object of levels")
        try:
            levels = {int(key): value for key, value in data.items()}
            quantiles = cls(
                low={level: list(value["low"]) for level, value in levels.items()},
                high={level: list(value["high"]) for level, value in levels.items()},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"band quantiles: not levels of low and high lists ({exc})") from None
        if problems := quantiles.problems():
            raise ValueError(problems[0])
        return quantiles


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
    level: int  # the level of the band in `low` and `high`, e.g. 80
    prediction: Sequence[float]
    low: Sequence[float]
    high: Sequence[float]
    actual: Sequence[float | None]  # observed closes; None where the history has a gap or in the future
    band: BandQuantiles  # every level's quantiles: another level's band is computed from them at lookup

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

    def lookup(self, epoch: float, level: int = DEFAULT_LEVEL) -> Point:
        """The values at `epoch` with the band of `level`, interpolated linearly between the two neighbouring bars."""
        self.require_inside(epoch)
        index, remainder = divmod(epoch - self.start, self.step)
        i = int(index)
        last = remainder == 0 or i + 1 >= len(self.prediction)
        if last:
            return Point(epoch, self.prediction[i], *self.band_at(i, level))
        neighbours = (self.band_at(i, level), self.band_at(i + 1, level))
        weight = remainder / self.step

        def mix(here: float, there: float) -> float:
            return here + (there - here) * weight

        # Rounding is monotone, so low <= prediction <= high, and the nesting of the levels, hold afterwards.
        (low_here, high_here), (low_there, high_there) = neighbours
        return Point(
            epoch,
            significant(mix(self.prediction[i], self.prediction[i + 1])),
            significant(mix(low_here, low_there)),
            significant(mix(high_here, high_there)),
        )

    def steps_ahead(self, row: int) -> int:
        """How many bars before `row` its forecast was made: at the latest close before it (the row before the
        table's first is a bar with a close), so 1 through the history except after a gap, and past the last bar
        the distance from it."""
        if row > self.last_row:
            return row - self.last_row
        anchor = row - 1
        while anchor >= 0 and self.actual[anchor] is None:
            anchor -= 1
        return row - anchor

    def band_at(self, row: int, level: int) -> tuple[float, float]:
        """The band of `level` at a row: the stored band's ends moved by the difference between the two levels'
        quantiles at the row's distance from its anchor, so that a narrower level lies inside the stored band and a
        wider one around it however the numbers round."""
        low, high, centre = self.low[row], self.high[row], self.prediction[row]
        if level == self.level:  # the stored columns: the answer is what it was before levels
            return low, high
        steps = self.steps_ahead(row)
        stored_low, stored_high = self.band.at(steps, self.level)
        q_low, q_high = self.band.at(steps, level)
        # As materialised: the low end never above the prediction, the high end never below it.
        low = significant(low * math.exp(min(q_low, 0.0) - min(stored_low, 0.0)))
        high = significant(high * math.exp(max(q_high, 0.0) - max(stored_high, 0.0)))
        # A band touching the prediction may round a digit past it; it ends there.
        return min(low, centre), max(high, centre)

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
                "interval": coverage_of(self.level),
                "prediction": list(self.prediction),
                "low": list(self.low),
                "high": list(self.high),
                "actual": list(self.actual),
                "band": self.band.to_dict(),
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
        for row, (lo, mid, hi) in enumerate(zip(data["low"], data["prediction"], data["high"], strict=True)):
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= mid <= hi):
                raise ValueError(f"forecast band must be finite and hold the prediction (row {row}: {lo}, {mid}, {hi})")
        level = level_of(data["interval"])  # the stored band is one of the levels
        # Nested quantiles make every row's bands nested (see band_at); checking them is cheap at start-up.
        band = BandQuantiles.from_dict(data.get("band"))
        return cls(
            symbol=data["symbol"],
            timeframe=data["timeframe"],
            start=int(data["start"]),
            step=int(data["step"]),
            last_bar=int(data["last_bar"]),
            level=level,
            prediction=data["prediction"],
            low=data["low"],
            high=data["high"],
            actual=data["actual"],
            band=band,
        )
