"""A record's summary: the archive's sums plus the kept points', overall, per horizon bucket and per served model
version, with the drift verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cryptopredict.core.dates import format_utc
from cryptopredict.core.forecast import coverage_of
from cryptopredict.core.timeframe import timeframe_of
from cryptopredict.core.track.drift import judge_drift
from cryptopredict.core.track.records import BucketFigures, TrackSummary, VersionFigures
from cryptopredict.core.track.sums import Tally
from cryptopredict.core.typed_json import build

if TYPE_CHECKING:
    from cryptopredict.core.track.record import TrackRecord


def summarise(record: TrackRecord) -> dict[str, Any]:
    """The record's TrackSummary."""
    archive = record.archive
    by_bucket, by_version = record.groups(range(len(record.date)))

    def total(members: Sequence[int], folded: Tally | None) -> Tally:
        return (folded or Tally()) + record.tally(members)

    versions = list(archive.versions) + [v for v in by_version if v not in archive.versions]
    first = archive.first_date
    if first is None and record.date:
        first = record.date[0]
    newest = record.newest
    return build(
        TrackSummary,
        symbol=record.symbol,
        timeframe=record.timeframe,
        interval=coverage_of(record.level),
        first_date=None if first is None else format_utc(first),
        last_date=None if newest is None else format_utc(newest),
        archived=archive.points,
        overall=total(range(len(record.date)), archive.overall).figures(),
        buckets=[
            build(
                BucketFigures,
                bucket=label,
                first_horizon=low,
                last_horizon=high,
                figures=total(by_bucket.get(label, []), archive.buckets.get(label)).figures(),
            )
            for label, low, high in timeframe_of(record.timeframe).track_buckets
        ],
        versions=[
            build(
                VersionFigures,
                model_version=version,
                figures=total(by_version.get(version, []), archive.versions.get(version)).figures(),
            )
            for version in versions
        ],
        drift=judge_drift(record),
    )
