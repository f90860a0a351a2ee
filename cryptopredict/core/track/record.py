"""The track record: a pair's scored points, stored as columns, and its archive of the points older than it keeps."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from cryptopredict.core.dates import format_utc
from cryptopredict.core.timeframe import timeframe_of
from cryptopredict.core.track import serialize
from cryptopredict.core.track.records import (
    COLUMNS,
    DAY_SECONDS,
    KEEP_DAYS,
    DriftRules,
    RecordError,
    Run,
)
from cryptopredict.core.track.summary import summarise
from cryptopredict.core.track.sums import Archive, Tally, Values, is_number, tally_of

Groups = dict[str, list[int]]  # point indices by label, labels in the order their first point comes


@dataclass(frozen=True)
class TrackRecord:
    """A pair's scored points, oldest first, stored as columns; `runs` names the served model of each point."""

    symbol: str
    timeframe: str
    level: int  # the level of the band scored (the file and the summary carry its coverage, `interval`)
    # Made by empty_record or from_json, the minimum of points is resolved; `drift_rules` resolves it for a record
    # given rules without one by dataclasses.replace.
    rules: DriftRules = field(default_factory=DriftRules)
    runs: tuple[Run, ...] = ()
    date: tuple[int, ...] = ()  # epoch seconds of each scored bar, strictly increasing
    run: tuple[int, ...] = ()  # index into `runs`
    prediction: tuple[float, ...] = ()
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()
    actual: tuple[float, ...] = ()
    archive: Archive = field(default_factory=Archive)

    @property
    def drift_rules(self) -> DriftRules:
        """The rules the record is judged by and written with: the minimum of points is the record's timeframe's
        unless the rules set one (DriftRules.for_timeframe)."""
        return self.rules.for_timeframe(self.timeframe)

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

    def groups(self, indices: Iterable[int]) -> tuple[Groups, Groups]:
        """The points `indices` by horizon bucket (none for those past the last bucket) and by served model version."""
        timeframe = timeframe_of(self.timeframe)
        by_bucket: Groups = {}
        by_version: Groups = {}
        for i in indices:
            label = timeframe.track_bucket(self.horizon(i))
            if label is not None:
                by_bucket.setdefault(label, []).append(i)
            by_version.setdefault(self.runs[self.run[i]].model_version, []).append(i)
        return by_bucket, by_version

    def tally(self, indices: Iterable[int]) -> Tally:
        """The sums over the points `indices`."""
        return tally_of([self._values(i) for i in indices])

    def _values(self, i: int) -> Values:
        return self.prediction[i], self.low[i], self.high[i], self.actual[i], self.runs[self.run[i]].naive

    # --- growing ---

    def extended(self, run: Run, rows: Sequence[tuple[int, float, float, float, float]]) -> TrackRecord:
        """This record with `rows` (date, prediction, low, high, actual) served by `run` appended, then bounded.

        RecordError (a ValueError) if a row is not newer than the newest bar scored: a bar is scored once."""
        if not rows:
            return self
        newest = self.newest
        dates = [row[0] for row in rows]
        if (newest is not None and dates[0] <= newest) or any(b <= a for a, b in itertools.pairwise(dates)):
            raise RecordError("scored bars must be newer than the record's newest and increasing")
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
        by_bucket, by_version = self.groups(old)
        archive = self.archive.folded(
            first_date=self.date[0],
            last_date=self.date[cut - 1],
            overall=self.tally(old),
            buckets={label: self.tally(members) for label, members in by_bucket.items()},
            versions={label: self.tally(members) for label, members in by_version.items()},
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

    # --- the summary ---

    @cached_property
    def summary(self) -> dict[str, Any]:
        """TrackSummary: the archive's sums plus the kept points', overall, per bucket and per version; and drift."""
        return summarise(self)

    @property
    def degraded(self) -> bool:
        return bool(self.summary["drift"]["degraded"])

    # --- the file ---

    def to_json(self) -> bytes:
        """The record file: columns of plain JSON numbers, compact."""
        return serialize.record_to_json(self)

    @classmethod
    def from_json(cls, raw: bytes) -> TrackRecord:
        """Parse and check a record file; RecordError (a ValueError) saying precisely what is wrong."""
        record = cls(**serialize.fields_from_json(raw))
        if problems := record.problems() + record.rules.problems():
            raise RecordError(problems[0])
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
            if not all(is_number(v) and v > 0 for v in values) or not self.low[i] <= self.high[i]:
                return [f"point {i}: prediction, low, high, actual {values} are not positive with low <= high"]
            if date <= self.runs[run].anchor:
                return [f"point {i}: bar {format_utc(date)} is not after its served model's newest bar"]
        if n and self.archive.last_date is not None and self.archive.last_date >= self.date[0]:
            return ["the archive reaches past the first kept point"]
        return []


def empty_record(symbol: str, timeframe: str, level: int, rules: DriftRules) -> TrackRecord:
    """A record with nothing scored yet, judged by `rules` with the minimum of points resolved for `timeframe`."""
    return TrackRecord(symbol=symbol, timeframe=timeframe, level=level, rules=rules.for_timeframe(timeframe))
