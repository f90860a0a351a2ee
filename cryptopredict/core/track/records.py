"""What a track record declares: its bounds, its error, the drift rules, a served model's run, and the summary's
shape (typed JSON, core/typed_json.py: the API's schemas are generated from them, serving/records.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Literal, TypedDict

from cryptopredict.core.timeframe import timeframe_of
from cryptopredict.core.typed_json import Example, Instant

KEEP_DAYS = 365  # points this recent (from the newest) are kept one by one; older ones are folded into sums
DAY_SECONDS = 86_400
DriftStatus = Literal["ok", "degraded", "too few points"]
COLUMNS = ("date", "run", "prediction", "low", "high", "actual")  # a record's point columns, in the file's order


class RecordError(ValueError):
    """A track record that is malformed, or a change it refuses; the message says what is wrong."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"track record: {problem}")


@dataclass(frozen=True)
class DriftRules:
    """When a pair's live record says its model has drifted: judged over the newest `window_days` of points."""

    max_mape_ratio: float = 1.25  # live MAPE / the naive forecast's on the same points
    min_coverage: float = 0.65  # share of actual closes inside the served band (nominally 80 %) ...
    max_coverage: float = 0.95  # ... must stay inside [min, max]
    window_days: int = 30
    # Fewer points in the window: no verdict, so a fresh record does not flag. None: the timeframe's own minimum
    # (Timeframe.drift_min_points), resolved when a record is made (empty_record, TrackRecord.from_json).
    min_points: int | None = None

    def for_timeframe(self, timeframe: str) -> DriftRules:
        """These rules with the minimum of points resolved for a record of `timeframe` bars."""
        if self.min_points is not None:
            return self
        return replace(self, min_points=timeframe_of(timeframe).drift_min_points)

    def problems(self) -> list[str]:
        """What is wrong with these rules; empty when nothing is."""
        found = []
        if not 0 <= self.min_coverage <= self.max_coverage <= 1:
            found.append(f"coverages must satisfy 0 <= min ({self.min_coverage}) <= max ({self.max_coverage}) <= 1")
        if not self.max_mape_ratio > 0:
            found.append(f"the MAPE ratio limit must be positive, not {self.max_mape_ratio}")
        if not 0 < self.window_days <= KEEP_DAYS:
            found.append(f"the window must be 1 to {KEEP_DAYS} days, not {self.window_days}")
        if self.min_points is not None and self.min_points < 1:
            found.append(f"the minimum number of points must be at least 1, not {self.min_points}")
        return found


@dataclass(frozen=True)
class Run:
    """One served model whose forecasts were scored: the version the API reported, and its anchor."""

    model_version: str
    anchor: int  # epoch seconds of the served table's newest bar
    naive: float  # that bar's close: the naive forecast


# --- the summary's shape -------------------------------------------------------------------------------------------


class Figures(TypedDict):
    """Served forecasts against actual closes over a set of points"""

    points: Annotated[int, "Points scored"]
    mape: Annotated[float | None, "Mean absolute percentage error of the served predictions (0.05 = 5 %)"]
    naive_mape: Annotated[
        float | None, "The naive forecast's MAPE on the same points: the close of the served model's newest bar"
    ]
    mape_ratio: Annotated[float | None, "mape / naive_mape: below 1 the served model beat the naive forecast"]
    coverage: Annotated[
        float | None, "Share of actual closes inside the served band (its nominal coverage: `interval`)"
    ]


class BucketFigures(TypedDict):
    """The record over one horizon bucket"""

    bucket: Annotated[str, "The bucket's label", Example("1-6 h")]
    first_horizon: Annotated[int, "Its first horizon, in bars after the served model's newest bar"]
    last_horizon: Annotated[int, "Its last horizon, in bars, included"]
    figures: Annotated[Figures, "The bucket's figures"]


class VersionFigures(TypedDict):
    """The record of one served model version"""

    model_version: Annotated[str, "The model version the API reported with these answers"]
    figures: Annotated[Figures, "That version's figures"]


class Rules(TypedDict):
    """The drift thresholds the training run judged the record by"""

    max_mape_ratio: Annotated[float, "Degraded above this live MAPE ratio"]
    min_coverage: Annotated[float, "Degraded below this live band coverage"]
    max_coverage: Annotated[float, "Degraded above this live band coverage"]
    window_days: Annotated[int, "The window judged: the newest points within this many days"]
    min_points: Annotated[int, "No verdict with fewer points than this in the window"]


class Drift(TypedDict):
    """The drift verdict on the newest points: the pair is degraded when its live band coverage or MAPE ratio leaves
    the rules' bounds"""

    status: Annotated[DriftStatus, "ok, degraded, or too few points to judge"]
    degraded: Annotated[bool, "Whether the live record breaks a rule (the service keeps serving it)"]
    window_start: Annotated[Instant | None, "The window's first bar; null with no points"]
    figures: Annotated[Figures, "The window's figures"]
    reasons: Annotated[list[str], "Every broken rule, readable; empty when none"]
    rules: Annotated[Rules, "The thresholds"]


class TrackSummary(TypedDict):
    """A pair's track record, summarised: overall, by horizon bucket and by served model version, with the drift
    verdict"""

    symbol: Annotated[str, "The pair, as Alpaca writes it", Example("BTC/USD")]
    timeframe: Annotated[str, "The bar length", Example("1Hour")]
    interval: Annotated[float, "Nominal coverage of the served band scored (the API's default level)", Example(0.8)]
    first_date: Annotated[Instant | None, "The first bar scored; null when none"]
    last_date: Annotated[Instant | None, "The newest bar scored; null when none"]
    archived: Annotated[int, "Points older than the kept span, folded into these figures but no longer listed"]
    overall: Annotated[Figures, "Every point"]
    buckets: Annotated[list[BucketFigures], "By horizon bucket (points past the last bucket count only overall)"]
    versions: Annotated[list[VersionFigures], "By served model version, oldest first"]
    drift: Annotated[Drift, "The drift verdict"]


class TrackPoint(TypedDict):
    """One served forecast and what happened"""

    date: Annotated[Instant, "The bar (its start) the forecast was for: its close is `actual`"]
    model_version: Annotated[str, "The model version that answered"]
    horizon: Annotated[int, "Bars after the served model's newest bar"]
    bucket: Annotated[str | None, "The horizon bucket; null past the last"]
    prediction: Annotated[float, "What the API answered for `date` (without `level`)"]
    prediction_low: Annotated[float, "The low end of the band it answered"]
    prediction_high: Annotated[float, "The high end of the band it answered"]
    actual: Annotated[float, "The bar's close"]
    naive: Annotated[float, "The naive forecast: the close of the served model's newest bar"]
