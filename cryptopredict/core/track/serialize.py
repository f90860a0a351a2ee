"""The record file, `<pair>.record.json`: a record to compact JSON and back, converting only here.

Parsing gives the record's fields; TrackRecord.from_json then checks that they are consistent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from cryptopredict.core.forecast import coverage_of, level_of
from cryptopredict.core.timeframe import timeframe_of
from cryptopredict.core.track.records import COLUMNS, DriftRules, RecordError, Run
from cryptopredict.core.track.sums import Archive, Tally, is_number

if TYPE_CHECKING:
    from cryptopredict.core.track.record import TrackRecord

FORMAT = 1


def record_to_json(record: TrackRecord) -> bytes:
    """The record file: columns of plain JSON numbers, compact."""
    document = {
        "format": FORMAT,
        "symbol": record.symbol,
        "timeframe": record.timeframe,
        "interval": coverage_of(record.level),
        "rules": asdict(record.drift_rules),
        "runs": {
            "model_version": [r.model_version for r in record.runs],
            "anchor": [r.anchor for r in record.runs],
            "naive": [r.naive for r in record.runs],
        },
        "points": {name: list(getattr(record, name)) for name in COLUMNS},
        "archive": _archive_to_dict(record.archive),
    }
    return json.dumps(document, separators=(",", ":")).encode()


def fields_from_json(raw: bytes) -> dict[str, Any]:
    """A record file's fields, by TrackRecord's names; RecordError saying what is malformed."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise RecordError(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RecordError("expected an object")
    if data.get("format") != FORMAT:
        raise RecordError(f"format {data.get('format')!r}, expected {FORMAT}")
    try:
        return _fields(data)
    except RecordError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # a missing key, or a value of the wrong type
        raise RecordError(f"malformed ({type(exc).__name__}: {exc})") from None


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    timeframe = timeframe_of(data["timeframe"])
    rules = DriftRules(**data["rules"]).for_timeframe(timeframe.name)
    runs_data, points = data["runs"], data["points"]
    runs = tuple(
        Run(str(v), int(a), float(n))
        for v, a, n in zip(runs_data["model_version"], runs_data["anchor"], runs_data["naive"], strict=True)
    )
    columns = {name: points[name] for name in COLUMNS}
    return {
        "symbol": str(data["symbol"]),
        "timeframe": timeframe.name,
        "level": level_of(float(data["interval"])),
        "rules": rules,
        "runs": runs,
        **{name: tuple(values) for name, values in columns.items()},
        "archive": _archive_from_dict(data["archive"]),
    }


def _archive_to_dict(archive: Archive) -> dict[str, Any]:
    return {
        "points": archive.points,
        "first_date": archive.first_date,
        "last_date": archive.last_date,
        "overall": _tally_to_list(archive.overall),
        "buckets": {k: _tally_to_list(v) for k, v in archive.buckets.items()},
        "versions": {k: _tally_to_list(v) for k, v in archive.versions.items()},
    }


def _archive_from_dict(data: Any) -> Archive:
    if not isinstance(data, Mapping):
        raise RecordError("archive must be an object")
    try:
        archive = Archive(
            points=int(data["points"]),
            first_date=None if data["first_date"] is None else int(data["first_date"]),
            last_date=None if data["last_date"] is None else int(data["last_date"]),
            overall=_tally_from_list(data["overall"], "archive.overall"),
            buckets={str(k): _tally_from_list(v, f"archive.buckets[{k!r}]") for k, v in data["buckets"].items()},
            versions={str(k): _tally_from_list(v, f"archive.versions[{k!r}]") for k, v in data["versions"].items()},
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise RecordError(f"archive is malformed ({exc!r})") from None
    versions = sum(t.points for t in archive.versions.values())
    if archive.overall.points != archive.points or versions != archive.points:
        raise RecordError("the archive's counts do not add up")
    return archive


def _tally_to_list(tally: Tally) -> list[float]:
    return [tally.points, tally.error, tally.naive_error, tally.inside]


def _tally_from_list(value: Any, where: str) -> Tally:
    if not (isinstance(value, list) and len(value) == 4 and all(is_number(v) for v in value)):
        raise RecordError(f"{where} must be [points, error sum, naive error sum, inside]")
    points, error, naive, inside = value
    if points != int(points) or inside != int(inside) or not 0 <= inside <= points or error < 0 or naive < 0:
        raise RecordError(f"{where} holds impossible sums {value}")
    return Tally(int(points), float(error), float(naive), int(inside))
