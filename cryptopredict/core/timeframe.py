"""Bar lengths: one value per timeframe, carrying everything that depends on it. Standard library only.

The time convention, for every timeframe: a bar is named by the instant it starts (UTC), its value is its close,
and that close is known once the bar has ended, `seconds` after its start. The forecast table, the API's `date`,
the bar store and the backtest all count in bars named this way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptopredict.core.settings import SettingsError


@dataclass(frozen=True)
class Timeframe:
    """One bar length and what follows from it."""

    name: str  # Alpaca's name, also written in cards and forecast files: "1Day", "1Hour"
    seconds: int  # the bar length
    unit: str  # horizons are counted in these: "day", "hour"
    short: str  # in file names: btc-usd-1d.csv
    horizons: tuple[int, ...]  # in bars: what the backtest reports and the gate checks; the last is calibrated
    fit_window_days: int  # how much recent history one Prophet fit sees
    table_history_days: int  # how far back from the last bar the served table reaches
    backtest_refits: int  # scored refits over the backtest span (plus half as many warm-up refits)
    origin_every: int  # in bars: a forecast origin at every bar whose close falls on a multiple of this
    range_before_bars: int  # GET .../forecast's default range: this many bars before the last bar ...
    range_after_bars: int  # ... to this many after it
    # The track record's horizon buckets (see cryptopredict/core/track/): (label, first, last) in bars ahead of the
    # served forecast's anchor, inclusive; defined here once for the record, the API, /metrics and the summaries.
    track_buckets: tuple[tuple[str, int, int], ...] = ()
    # No drift verdict on fewer live points in the window: neighbouring bars share their errors, so a day of hourly
    # points swings too much to page anyone on (a week of them, or three weeks of daily closes, does not).
    drift_min_points: int = 24

    @property
    def calibrated_bars(self) -> int:
        """How far ahead, in bars, the band is calibrated from backtest errors; past it, it widens like √h."""
        return self.horizons[-1]

    def bars_in(self, seconds: float) -> int:
        """Whole bars in a span of time."""
        return int(seconds // self.seconds)

    def horizon_label(self, bars: int) -> str:
        """'1 day', '7 days', '1 hour', '720 hours (30 days)': whole days are named for sub-daily bars."""
        label = f"{bars} {self.unit}{'' if bars == 1 else 's'}"
        days, rest = divmod(bars * self.seconds, 86_400)
        if self.seconds < 86_400 and days and not rest:
            label += f" ({days} day{'' if days == 1 else 's'})"
        return label

    def track_bucket(self, horizon: int) -> str | None:
        """The label of the track-record bucket holding `horizon` bars ahead; None past the last one."""
        for label, first, last in self.track_buckets:
            if first <= horizon <= last:
                return label
        return None

    def closes_at(self, bar_start: float) -> float:
        """When the bar starting at `bar_start` (epoch seconds) closes: its close is known from then on."""
        return bar_start + self.seconds

    def on_grid(self, epoch: Any) -> Any:
        """Whether a bar may start at `epoch`: bars sit on multiples of their length since the Unix epoch (UTC).

        Elementwise on a pandas Series of epoch seconds (bars.align_to_grid checks a whole column with it)."""
        return epoch % self.seconds == 0

    def alpaca(self) -> Any:
        """Alpaca's TimeFrame for this bar length (imports the SDK: training side only)."""
        from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

        unit = {86_400: TimeFrameUnit.Day, 3_600: TimeFrameUnit.Hour}[self.seconds]
        return TimeFrame(1, unit)

    def __str__(self) -> str:
        return self.name


DAY = Timeframe(
    name="1Day",
    seconds=86_400,
    unit="day",
    short="1d",
    horizons=(1, 7, 30),
    fit_window_days=3 * 365,
    table_history_days=3 * 365,
    backtest_refits=120,
    origin_every=1,
    range_before_bars=90,
    range_after_bars=30,
    track_buckets=(("1 d", 1, 1), ("2-7 d", 2, 7), ("8-30 d", 8, 30)),
    drift_min_points=21,
)
# Hourly fits see 120 days (a fit costs ~50x a daily one), the band is calibrated to 30 days (720 h) ahead, and
# forecast origins sit every six hours, at the closes the six-hourly retrains anchor at (00, 06, 12, 18 UTC).
HOUR = Timeframe(
    name="1Hour",
    seconds=3_600,
    unit="hour",
    short="1h",
    horizons=(1, 24, 168, 720),
    fit_window_days=120,
    table_history_days=90,
    backtest_refits=24,
    origin_every=6,
    range_before_bars=14 * 24,
    range_after_bars=7 * 24,
    track_buckets=(("1-6 h", 1, 6), ("6-24 h", 7, 24), ("1-7 d", 25, 168)),
    drift_min_points=168,
)
TIMEFRAMES: dict[str, Timeframe] = {tf.name: tf for tf in (DAY, HOUR)}


def timeframe_of(name: str) -> Timeframe:
    """The timeframe with Alpaca's name `name` (1Day, 1Hour)."""
    try:
        return TIMEFRAMES[name]
    except KeyError:
        raise SettingsError(f"unknown timeframe {name!r}; use one of {', '.join(TIMEFRAMES)}") from None
