"""The track record file: bounded (old points folded into the archive, never dropped), compact, and refused with
precise errors when malformed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cryptopredict.core.artifact import ArtifactError, load_artifact, pair_files, read_verified_files, write_artifact
from cryptopredict.core.dates import format_utc
from cryptopredict.core.track import KEEP_DAYS, TrackRecord
from tests.core.track_record_helpers import BTC, recompute, synthetic_batches, synthetic_record
from tests.track_chain import Chain


def test_old_points_are_folded_never_dropped() -> None:
    batches = synthetic_batches(400)
    record = synthetic_record(400)
    assert record.date[-1] - record.date[0] < KEEP_DAYS * 86_400 <= record.date[-1] - record.date[0] + 3600
    assert record.archive.points + len(record) == 400 * 24
    assert TrackRecord.from_json(record.to_json()) == record
    flat = [
        {
            "prediction": p,
            "prediction_low": lo,
            "prediction_high": hi,
            "actual": a,
            "naive": run.naive,
            "version": run.model_version,
        }
        for run, rows in batches
        for _, p, lo, hi, a in rows
    ]
    summary = record.summary
    assert summary["archived"] == record.archive.points > 0
    assert summary["first_date"] == format_utc(batches[0][1][0][0])
    for got, expected in [(summary["overall"], recompute(flat))] + [
        (v["figures"], recompute([p for p in flat if p["version"] == v["model_version"]])) for v in summary["versions"]
    ]:
        assert got["points"] == expected["points"]
        for key in ("mape", "naive_mape", "mape_ratio", "coverage"):
            assert got[key] == pytest.approx(expected[key], rel=1e-12), key
    assert [v["model_version"] for v in summary["versions"]] == list(dict.fromkeys(p["version"] for p in flat))
    assert summary["buckets"][0]["figures"]["points"] == 400 * 24  # every synthetic horizon is 1-6 h


def test_a_full_year_of_hourly_points_stays_under_a_megabyte() -> None:
    record = synthetic_record(KEEP_DAYS)
    size = len(record.to_json())
    assert len(record) == KEEP_DAYS * 24 and record.archive.points == 0
    assert size < 1_000_000, size


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format=2), "track record: format 2, expected 1"),
        (lambda d: d["points"]["actual"].pop(), "track record: column actual has 17 values, date has 18"),
        (lambda d: d["points"]["date"].__setitem__(3, d["points"]["date"][2]), "point 3: date"),
        (lambda d: d["points"]["run"].__setitem__(0, 9), "point 0: run 9 is not one of the 3 runs"),
        (lambda d: d["points"]["low"].__setitem__(1, -5), "point 1: prediction, low, high, actual"),
        (lambda d: d.pop("runs"), "track record: malformed (KeyError: 'runs')"),
        (lambda d: d["rules"].update(min_coverage=0.99), "coverages must satisfy 0 <= min (0.99) <= max (0.95) <= 1"),
    ],
)
def test_a_malformed_record_is_refused_saying_what_is_wrong(change: Any, message: str, hourly_chain: Chain) -> None:
    raw = (hourly_chain.snapshots[3] / pair_files(BTC).record).read_bytes()
    data = json.loads(raw)
    change(data)
    with pytest.raises(ValueError, match=None) as error:
        TrackRecord.from_json(json.dumps(data).encode())
    assert message in str(error.value)


def test_the_server_refuses_a_malformed_record_naming_its_file(hourly_chain: Chain, tmp_path: Path) -> None:
    manifest, files = read_verified_files(hourly_chain.snapshots[2])
    name = pair_files(BTC).record
    files[name] = files[name].replace(b'"format":1', b'"format":7')
    write_artifact(tmp_path / "model", files, {k: v for k, v in manifest.items() if k != "files"})
    with pytest.raises(ArtifactError, match=rf"model file .*{name} is malformed: track record: format 7, expected 1"):
        load_artifact(tmp_path / "model")
