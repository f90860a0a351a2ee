"""The track record: the forecasts a pair's served models answered, scored against what happened. Standard library only.

Every training run scores the previous artifact's forecasts for the bars that closed since its newest bar, exactly as
the API answered them (the default band: `GET /predict/{pair}?date=<bar>` without `level`), and appends them to the
pair's record, `<pair>.record.json` in the artifact, which the next run carries forward. This module defines that file
(`TrackRecord.to_json` / `from_json`), its bound (365 days of points; older ones folded into per-bucket and per-version
sums, never dropped), the summary (by the horizon buckets `Timeframe.track_buckets` defines, overall and per served
model version) and the drift verdict. Training writes it, the server, release/monitor.py and release/model_card.py read
it, and the API's schemas are generated from the records below.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any

from cryptopredict.core.dates import format_utc
from cryptopredict.core.manifest import Field, ListOf, Record, instant
from cryptopredict.core.timeframe import TIMEFRAMES, timeframe_of

FORMAT = 1
KEEP_DAYS = 365  # points this recent (from the newest) are kept one by one; older ones are folded into sums
DAY_SECONDS = 86_400
STATUSES = ("ok", "degraded", "too few points")


@dataclass(frozen=True)
class DriftRules:
    """When a pair's live record says its model has drifted: judged over the newest `window_days` of points."""

    max_mape_ratio: float = 1.25  # live MAPE / the naive forecast's on the same points
    min_coverage: float = 0.65  # share of actual closes inside the served band (nominally 80 %) ...
    max_coverage: float = 0.95  # ... must stay inside [min, max]
    window_days: int = 30
    # Fewer points in the window: no verdict, so a fresh record does not flag. None: the timeframe's own minimum
    # (Timeframe.drift_min_points), resolved when a record is made (TrackRecord.__post_init__).
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


# --- the summary's shape: the API's schemas are generated from these records (serving/records.py) ------------------


class Figures(Record):
    """Served forecasts against actual closes over a set of points"""

    points = Field(int, "Points scored")
    mape = Field(float, "Mean absolute percentage error of the served predictions (0.05 = 5 %)", nullable=True)
    naive_mape = Field(
        float, "The naive forecast's MAPE on the same points: the close of the served model's newest bar", nullable=True
    )
    mape_ratio = Field(float, "mape / naive_mape: below 1 the served model beat the naive forecast", nullable=True)
    coverage = Field(
        float, "Share of actual closes inside the served band (its nominal coverage: `interval`)", nullable=True
    )


class BucketFigures(Record):
    """The record over one horizon bucket"""

    bucket = Field(str, "The bucket's label", example="1-6 h")
    first_horizon = Field(int, "Its first horizon, in bars after the served model's newest bar")
    last_horizon = Field(int, "Its last horizon, in bars, included")
    figures = Field(Figures, "The bucket's figures")


class VersionFigures(Record):
    """The record of one served model version"""

    model_version = Field(str, "The model version the API reported with these answers")
    figures = Field(Figures, "That version's figures")


class Rules(Record):
    """The drift thresholds the training run judged the record by"""

    max_mape_ratio = Field(float, "Degraded above this live MAPE ratio")
    min_coverage = Field(float, "Degraded below this live band coverage")
    max_coverage = Field(float, "Degraded above this live band coverage")
    window_days = Field(int, "The window judged: the newest points within this many days")
    min_points = Field(int, "No verdict with fewer points than this in the window")


class Drift(Record):
    """The drift verdict on the newest points: the pair is degraded when its live band coverage or MAPE ratio leaves
    the rules' bounds"""

    status = Field(str, "ok, degraded, or too few points to judge", enum=STATUSES)
    degraded = Field(bool, "Whether the live record breaks a rule (the service keeps serving it)")
    window_start = Field(str, "The window's first bar; null with no points", nullable=True, format="date-time")
    figures = Field(Figures, "The window's figures")
    reasons = Field(ListOf(str), "Every broken rule, readable; empty when none")
    rules = Field(Rules, "The thresholds")


class TrackSummary(Record):
    """A pair's track record, summarised: overall, by horizon bucket and by served model version, with the drift
    verdict"""

    symbol = Field(str, "The pair, as Alpaca writes it", example="BTC/USD")
    timeframe = Field(str, "The bar length", example="1Hour")
    interval = Field(float, "Nominal coverage of the served band scored (the API's default level)", example=0.8)
    first_date = Field(str, "The first bar scored; null when none", nullable=True, format="date-time")
    last_date = Field(str, "The newest bar scored; null when none", nullable=True, format="date-time")
    archived = Field(int, "Points older than the kept span, folded into these figures but no longer listed")
    overall = Field(Figures, "Every point")
    buckets = Field(ListOf(BucketFigures), "By horizon bucket (points past the last bucket count only overall)")
    versions = Field(ListOf(VersionFigures), "By served model version, oldest first")
    drift = Field(Drift, "The drift verdict")


class TrackPoint(Record):
    """One served forecast and what happened"""

    date = instant("The bar (its start) the forecast was for: its close is `actual`")
    model_version = Field(str, "The model version that answered")
    horizon = Field(int, "Bars after the served model's newest bar")
    bucket = Field(str, "The horizon bucket; null past the last", nullable=True)
    prediction = Field(float, "What the API answered for `date` (without `level`)")
    prediction_low = Field(float, "The low end of the band it answered")
    prediction_high = Field(float, "The high end of the band it answered")
    actual = Field(float, "The bar's close")
    naive = Field(float, "The naive forecast: the close of the served model's newest bar")


# --- sums that can be folded -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """Sums from which Figures follow; adding two tallies is folding points together."""

    points: int = 0
    error: float = 0.0  # sum of |prediction - actual| / actual
    naive_error: float = 0.0  # the same for the naive forecast
    inside: int = 0  # actual closes inside the band

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.points + other.points,
            math.fsum((self.error, other.error)),
            math.fsum((self.naive_error, other.naive_error)),
            self.inside + other.inside,
        )

    def figures(self) -> dict[str, Any]:
        if not self.points:
            return Figures.make(points=0, mape=None, naive_mape=None, mape_ratio=None, coverage=None)
        return Figures.make(
            points=self.points,
            mape=self.error / self.points,
            naive_mape=self.naive_error / self.points,
            mape_ratio=self.error / self.naive_error if self.naive_error else None,
            coverage=self.inside / self.points,
        )

    def to_list(self) -> list[float]:
        return [self.points, self.error, self.naive_error, self.inside]

    @classmethod
    def from_list(cls, value: Any, where: str) -> Tally:
        if not (isinstance(value, list) and len(value) == 4 and all(_is_number(v) for v in value)):
            raise ValueError(f"track record: {where} must be [points, error sum, naive error sum, inside]")
        points, error, naive, inside = value
        if points != int(points) or inside != int(inside) or not 0 <= inside <= points or error < 0 or naive < 0:
            raise ValueError(f"track record: {where} holds impossible sums {value}")
        return cls(int(points), float(error), float(naive), int(inside))


def tally_of(points: Sequence[tuple[float, float, float, float, float]]) -> Tally:
    """Sums over (prediction, low, high, actual, naive) tuples, each sum exactly rounded (math.fsum)."""
    return Tally(
        len(points),
        math.fsum(abs(p - a) / a for p, _, _, a, _ in points),
        math.fsum(abs(n - a) / a for _, _, _, a, n in points),
        sum(1 for _, lo, hi, a, _ in points if lo <= a <= hi),
    )


@dataclass(frozen=True)
class Archive:
    """Points older than KEEP_DAYS, folded: how many, the span, and their sums overall, per bucket and per version."""

    points: int = 0
    first_date: int | None = None
    last_date: int | None = None
    overall: Tally = Tally()
    buckets: Mapping[str, Tally] = field(default_factory=dict)
    versions: Mapping[str, Tally] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "first_date": self.first_date,
            "last_date": self.last_date,
            "overall": self.overall.to_list(),
            "buckets": {k: v.to_list() for k, v in self.buckets.items()},
            "versions": {k: v.to_list() for k, v in self.versions.items()},
        }

    @classmethod
    def from_dict(cls, data: Any) -> Archive:
        if not isinstance(data, Mapping):
            raise ValueError("track record: archive must be an object")
        try:
            archive = cls(
                points=int(data["points"]),
                first_date=None if data["first_date"] is None else int(data["first_date"]),
                last_date=None if data["last_date"] is None else int(data["last_date"]),
                overall=Tally.from_list(data["overall"], "archive.overall"),
                buckets={str(k): Tally.from_list(v, f"archive.buckets[{k!r}]") for k, v in data["buckets"].items()},
                versions={str(k): Tally.from_list(v, f"archive.versions[{k!r}]") for k, v in data["versions"].items()},
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"track record: archive is malformed ({exc!r})") from None
        versions = sum(t.points for t in archive.versions.values())
        if archive.overall.points != archive.points or versions != archive.points:
            raise ValueError("track record: the archive's counts do not add up")
        return archive


# --- the record ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One served model whose forecasts were scored: the version the API reported, and its anchor."""

    model_version: str
    anchor: int  # epoch seconds of the served table's newest bar
    naive: float  # that bar's close: the naive forecast


COLUMNS = ("date", "run", "prediction", "low", "high", "actual")


@dataclass(frozen=True)
class TrackRecord:
    """A pair's scored points, oldest first, stored as columns; `runs` names the served model of each point."""

    symbol: str
    timeframe: str
    interval: float  # the nominal coverage of the band scored
    rules: DriftRules = DriftRules()
    runs: tuple[Run, ...] = ()
    date: tuple[int, ...] = ()  # epoch seconds of each scored bar, strictly increasing
    run: tuple[int, ...] = ()  # index into `runs`
    prediction: tuple[float, ...] = ()
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()
    actual: tuple[float, ...] = ()
    archive: Archive = Archive()

    def __post_init__(self) -> None:
        # The minimum of points is the record's timeframe's unless the rules set one (DriftRules.for_timeframe).
        if self.rules.min_points is None and self.timeframe in TIMEFRAMES:
            object.__setattr__(self, "rules", self.rules.for_timeframe(self.timeframe))

    @property
    def newest(self) -> int | None:
        """The newest bar scored (epoch seconds), in the points or, with none kept, in the archive."""
        return self.date[-1] if self.date else self.archive.last_date

    def __len__(self) -> int:
        return len(self.date)

    def horizon(self, i: int) -> int:
        """Bars between point `i` and its served model's newest bar."""
        return (self.date[i] - self.runs[self.run[i]].anchor) // timeframe_of(self.timeframe).seconds

    def point(self, i: int) -> dict[str, Any]:
        """Point `i` as the API lists it (TrackPoint's fields, in order)."""
        run = self.runs[self.run[i]]
        horizon = self.horizon(i)
        return {
            "date": format_utc(self.date[i]),
            "model_version": run.model_version,
            "horizon": horizon,
            "bucket": timeframe_of(self.timeframe).track_bucket(horizon),
            "prediction": self.prediction[i],
            "prediction_low": self.low[i],
            "prediction_high": self.high[i],
            "actual": self.actual[i],
            "naive": run.naive,
        }

    def newest_first(self, before: float | None = None) -> Iterator[int]:
        """Indices of the points before `before` (epoch seconds; all when None), newest first."""
        end = len(self.date) if before is None else bisect.bisect_left(self.date, before)
        return iter(range(end - 1, -1, -1))

    def extended(self, run: Run, rows: Sequence[tuple[int, float, float, float, float]]) -> TrackRecord:
        """This record with `rows` (date, prediction, low, high, actual) served by `run` appended, then bounded.

        ValueError if a row is not newer than the newest bar scored: a bar is scored once."""
        if not rows:
            return self
        newest = self.newest
        dates = [row[0] for row in rows]
        if (newest is not None and dates[0] <= newest) or any(b <= a for a, b in itertools.pairwise(dates)):
            raise ValueError("track record: scored bars must be newer than the record's newest and increasing")
        runs = self.runs if run in self.runs else (*self.runs, run)
        index = runs.index(run)
        columns = list(zip(*rows, strict=True))
        grown = replace(
            self,
            runs=runs,
            date=self.date + tuple(columns[0]),
            run=self.run + (index,) * len(rows),
            prediction=self.prediction + tuple(columns[1]),
            low=self.low + tuple(columns[2]),
            high=self.high + tuple(columns[3]),
            actual=self.actual + tuple(columns[4]),
        )
        return grown.bounded()

    def bounded(self, keep_days: int = KEEP_DAYS) -> TrackRecord:
        """Points more than `keep_days` older than the newest folded into the archive (never dropped)."""
        if not self.date:
            return self
        cut = bisect.bisect_right(self.date, self.date[-1] - keep_days * DAY_SECONDS)
        if cut == 0:
            return self
        old = range(cut)
        buckets, versions = dict(self.archive.buckets), dict(self.archive.versions)
        timeframe = timeframe_of(self.timeframe)
        for key, into in ((lambda i: timeframe.track_bucket(self.horizon(i)), buckets), (self._version, versions)):
            groups: dict[str, list[int]] = {}
            for i in old:
                label = key(i)
                if label is not None:
                    groups.setdefault(label, []).append(i)
            for label, members in groups.items():
                into[label] = into.get(label, Tally()) + tally_of([self._values(i) for i in members])
        archive = Archive(
            points=self.archive.points + cut,
            first_date=self.archive.first_date if self.archive.first_date is not None else self.date[0],
            last_date=self.date[cut - 1],
            overall=self.archive.overall + tally_of([self._values(i) for i in old]),
            buckets=buckets,
            versions=versions,
        )
        used = sorted(set(self.run[cut:]))  # runs with no kept point live on in the archive's sums only
        renumber = {old_index: new_index for new_index, old_index in enumerate(used)}
        return replace(
            self,
            runs=tuple(self.runs[i] for i in used),
            date=self.date[cut:],
            run=tuple(renumber[r] for r in self.run[cut:]),
            prediction=self.prediction[cut:],
            low=self.low[cut:],
            high=self.high[cut:],
            actual=self.actual[cut:],
            archive=archive,
        )

    def _version(self, i: int) -> str:
        return self.runs[self.run[i]].model_version

    def _values(self, i: int) -> tuple[float, float, float, float, float]:
        return self.prediction[i], self.low[i], self.high[i], self.actual[i], self.runs[self.run[i]].naive

    # --- the summary ---

    @cached_property
    def summary(self) -> dict[str, Any]:
        """TrackSummary: the archive's sums plus the kept points', overall, per bucket and per version; and drift."""
        timeframe = timeframe_of(self.timeframe)
        by_bucket: dict[str, list[int]] = {}
        by_version: dict[str, list[int]] = {}
        for i in range(len(self.date)):
            label = timeframe.track_bucket(self.horizon(i))
            if label is not None:
                by_bucket.setdefault(label, []).append(i)
            by_version.setdefault(self._version(i), []).append(i)

        def total(members: Sequence[int], folded: Tally | None) -> Tally:
            return (folded or Tally()) + tally_of([self._values(i) for i in members])

        versions = list(self.archive.versions) + [v for v in by_version if v not in self.archive.versions]
        first = self.archive.first_date
        if first is None and self.date:
            first = self.date[0]
        newest = self.newest
        return TrackSummary.make(
            symbol=self.symbol,
            timeframe=self.timeframe,
            interval=self.interval,
            first_date=None if first is None else format_utc(first),
            last_date=None if newest is None else format_utc(newest),
            archived=self.archive.points,
            overall=total(range(len(self.date)), self.archive.overall).figures(),
            buckets=[
                BucketFigures.make(
                    bucket=label,
                    first_horizon=low,
                    last_horizon=high,
                    figures=total(by_bucket.get(label, []), self.archive.buckets.get(label)).figures(),
                )
                for label, low, high in timeframe.track_buckets
            ],
            versions=[
                VersionFigures.make(
                    model_version=version,
                    figures=total(by_version.get(version, []), self.archive.versions.get(version)).figures(),
                )
                for version in versions
            ],
            drift=self.drift(),
        )

    def drift(self) -> dict[str, Any]:
        """The verdict on the newest `rules.window_days` of points (Drift)."""
        rules = self.rules
        start = None
        members: range = range(0)
        if self.date:
            start = bisect.bisect_right(self.date, self.date[-1] - rules.window_days * DAY_SECONDS)
            members = range(start, len(self.date))
        figures = tally_of([self._values(i) for i in members]).figures()
        reasons: list[str] = []
        if figures[Figures.points] < rules.min_points:
            status = "too few points"
        else:
            coverage, ratio = figures[Figures.coverage], figures[Figures.mape_ratio]
            if not rules.min_coverage <= coverage <= rules.max_coverage:
                reasons.append(
                    f"live coverage {coverage:.1%} over the last {rules.window_days} days is outside "
                    f"{rules.min_coverage:.0%}-{rules.max_coverage:.0%} (nominal {self.interval:.0%})"
                )
            if ratio is not None and ratio > rules.max_mape_ratio:
                reasons.append(
                    f"live MAPE ratio {ratio:.3f} over the last {rules.window_days} days exceeds "
                    f"{rules.max_mape_ratio:g}"
                )
            status = "degraded" if reasons else "ok"
        return Drift.make(
            status=status,
            degraded=status == "degraded",
            window_start=None if start is None else format_utc(self.date[start]),
            figures=figures,
            reasons=reasons,
            rules=Rules.make(**asdict(rules)),
        )

    @property
    def degraded(self) -> bool:
        return bool(self.summary[TrackSummary.drift][Drift.degraded])

    # --- the file ---

    def to_json(self) -> bytes:
        """The record file: columns of plain JSON numbers, compact."""
        return json.dumps(
            {
                "format": FORMAT,
                "symbol": self.symbol,
                "timeframe": self.timeframe,
                "interval": self.interval,
                "rules": asdict(self.rules),
                "runs": {
                    "model_version": [r.model_version for r in self.runs],
                    "anchor": [r.anchor for r in self.runs],
                    "naive": [r.naive for r in self.runs],
                },
                "points": {name: list(getattr(self, name)) for name in COLUMNS},
                "archive": self.archive.to_dict(),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> TrackRecord:
        """Parse and check a record file; ValueError saying precisely what is wrong."""
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"track record: not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError("track record: expected an object")
        if data.get("format") != FORMAT:
            raise ValueError(f"track record: format {data.get('format')!r}, expected {FORMAT}")
        try:
            timeframe = timeframe_of(data["timeframe"])
            rules = DriftRules(**data["rules"])
            runs_data, points = data["runs"], data["points"]
            runs = tuple(
                Run(str(v), int(a), float(n))
                for v, a, n in zip(runs_data["model_version"], runs_data["anchor"], runs_data["naive"], strict=True)
            )
            columns = {name: points[name] for name in COLUMNS}
            record = cls(
                symbol=str(data["symbol"]),
                timeframe=timeframe.name,
                interval=float(data["interval"]),
                rules=rules,
                runs=runs,
                date=tuple(columns["date"]),
                run=tuple(columns["run"]),
                prediction=tuple(columns["prediction"]),
                low=tuple(columns["low"]),
                high=tuple(columns["high"]),
                actual=tuple(columns["actual"]),
                archive=Archive.from_dict(data["archive"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ValueError) and str(exc).startswith("track record:"):
                raise
            raise ValueError(f"track record: malformed ({type(exc).__name__}: {exc})") from None
        if problems := record.problems() + rules.problems():
            raise ValueError(f"track record: {problems[0]}")
        return record

    def problems(self) -> list[str]:
        """What is inconsistent in the columns; empty when nothing is."""
        n = len(self.date)
        for name in COLUMNS:
            if len(getattr(self, name)) != n:
                return [f"column {name} has {len(getattr(self, name))} values, date has {n}"]
        step = timeframe_of(self.timeframe).seconds
        for i in range(n):
            date, run = self.date[i], self.run[i]
            values = (self.prediction[i], self.low[i], self.high[i], self.actual[i])
            if not isinstance(date, int) or date % step or (i and date <= self.date[i - 1]):
                return [f"point {i}: date {date!r} is not a {self.timeframe} bar after the one before"]
            if not isinstance(run, int) or not 0 <= run < len(self.runs):
                return [f"point {i}: run {run!r} is not one of the {len(self.runs)} runs"]
            if not all(_is_number(v) and v > 0 for v in values) or not self.low[i] <= self.high[i]:
                return [f"point {i}: prediction, low, high, actual {values} are not positive with low <= high"]
            if date <= self.runs[run].anchor:
                return [f"point {i}: bar {format_utc(date)} is not after its served model's newest bar"]
        if n and self.archive.last_date is not None and self.archive.last_date >= self.date[0]:
            return ["the archive reaches past the first kept point"]
        return []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def empty_record(symbol: str, timeframe: str, interval: float, rules: DriftRules) -> TrackRecord:
    """A record with nothing scored yet."""
    return TrackRecord(symbol=symbol, timeframe=timeframe, interval=interval, rules=rules)


# --- as text, for train.py, the job summary and release/monitor.py -----------------------------------------------


def _cells(label: str, figures: Mapping[str, Any]) -> list[str]:
    def share(value: float | None, digits: int) -> str:
        return "n/a" if value is None else f"{value:.{digits}%}"

    ratio = figures[Figures.mape_ratio]
    return [
        label,
        str(figures[Figures.points]),
        share(figures[Figures.mape], 2),
        share(figures[Figures.naive_mape], 2),
        "n/a" if ratio is None else f"{ratio:.3f}",
        share(figures[Figures.coverage], 1),
    ]


SUMMARY_COLUMNS = ("horizon", "points", "MAPE", "naive MAPE", "ratio", "coverage")


def summary_rows(summary: Mapping[str, Any]) -> list[list[str]]:
    """The summary's rows: each bucket, then overall, then the drift window."""
    drift = summary[TrackSummary.drift]
    rows = [_cells(b[BucketFigures.bucket], b[BucketFigures.figures]) for b in summary[TrackSummary.buckets]]
    rows.append(_cells("all", summary[TrackSummary.overall]))
    rows.append(_cells(f"last {drift[Drift.rules][Rules.window_days]} days", drift[Drift.figures]))
    return rows


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary as a fixed-width table."""
    rows = [list(SUMMARY_COLUMNS), *summary_rows(summary)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(SUMMARY_COLUMNS))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as a Markdown table."""
    lines = ["| " + " | ".join(SUMMARY_COLUMNS) + " |", "|" + "---|" * len(SUMMARY_COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in summary_rows(summary)]
    return "\n".join(lines)


def verdict_line(summary: Mapping[str, Any]) -> str:
    """'BTC/USD: degraded: live coverage 52.0 % ...' or 'BTC/USD: ok (312 points in the last 30 days)'."""
    drift = summary[TrackSummary.drift]
    window = drift[Drift.figures][Figures.points]
    rules = drift[Drift.rules]
    if drift[Drift.status] == "degraded":
        return f"{summary[TrackSummary.symbol]}: degraded: {'; '.join(drift[Drift.reasons])}"
    if drift[Drift.status] == "too few points":
        return (
            f"{summary[TrackSummary.symbol]}: not judged: {window} points in the last {rules[Rules.window_days]} days, "
            f"fewer than {rules[Rules.min_points]}"
        )
    figures = drift[Drift.figures]
    ratio = figures[Figures.mape_ratio]
    return (
        f"{summary[TrackSummary.symbol]}: ok: live coverage {figures[Figures.coverage]:.1%}, MAPE ratio "
        f"{'n/a' if ratio is None else format(ratio, '.3f')} over {window} points in the last "
        f"{rules[Rules.window_days]} days"
    )
