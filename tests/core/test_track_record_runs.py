"""Runs that must not double-count, crash or lose the track record: a rerun, a model version seen twice, a previous
artifact failing its checksums or in an older format.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cryptopredict.core.artifact import ArtifactError, load_artifact, pair_files, read_verified_files, write_artifact
from cryptopredict.core.dates import format_utc
from cryptopredict.core.track import TrackRecord
from cryptopredict.training import cli as train_cli
from cryptopredict.training.pipeline import read_previous, train
from tests.conftest import small_hourly_settings
from tests.core.track_record_helpers import BTC, cli_args
from tests.track_chain import HOURLY_UNTILS, Chain


def test_a_run_with_no_new_bars_and_a_rerun_score_nothing_twice(
    hourly_chain: Chain, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(hourly_chain.snapshots[1], model_dir)
    before = (model_dir / pair_files(BTC).record).read_bytes()
    assert train_cli.main(cli_args(model_dir, format_utc(HOURLY_UNTILS[1]))) == 0  # the same cut-off again
    out = capsys.readouterr().out
    assert f"{BTC}: track record: as it was (nothing published)" in out.splitlines()
    assert (model_dir / pair_files(BTC).record).read_bytes() == before
    # The next run's line, printed per pair like the others; the record it writes is the chain's exactly.
    assert train_cli.main(cli_args(model_dir, format_utc(HOURLY_UNTILS[2]))) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith(f"{BTC}: track record: ")]
    assert len(line) == 1 and "scored 6 bars 2025-03-01T12:00:00Z to 2025-03-01T17:00:00Z (1-6 hours ahead)" in line[0]
    chain_record = TrackRecord.from_json((hourly_chain.snapshots[2] / pair_files(BTC).record).read_bytes())
    assert TrackRecord.from_json((model_dir / pair_files(BTC).record).read_bytes()).date == chain_record.date


def test_a_model_version_seen_twice_scores_only_bars_after_the_records_newest(
    hourly_chain: Chain, tmp_path: Path
) -> None:
    """The artifact of run 1 served again (a rerun from it, or a model kept as it was) with the record of run 2,
    which already scored its first six bars: run 3 scores only the bars after them, with the same version."""
    manifest, files = read_verified_files(hourly_chain.snapshots[1])
    _, later = read_verified_files(hourly_chain.snapshots[2])
    name = pair_files(BTC).record
    model_dir = tmp_path / "model"
    write_artifact(model_dir, {**files, name: later[name]}, {k: v for k, v in manifest.items() if k != "files"})
    result = train(small_hourly_settings(model_dir, until=HOURLY_UNTILS[3]))
    note = result.track[BTC]
    assert "scored 6 bars 2025-03-01T18:00:00Z to 2025-03-01T23:00:00Z (7-12 hours ahead)" in note
    assert "(bars to 2025-03-01T17:00:00Z were scored already)" in note
    record = load_artifact(model_dir).pairs[BTC].record
    assert record.date[:12] == TrackRecord.from_json(later[name]).date and len(record) == 18
    version = manifest["pairs"][BTC]["model_version"]
    assert [r.model_version for r in record.runs].count(version) == 1
    versions = {v["model_version"]: v["figures"]["points"] for v in record.summary["versions"]}
    assert versions[version] == 12  # six scored by run 2, six now: one entry, nothing counted twice


def test_a_previous_artifact_failing_its_checksums_starts_a_new_record(hourly_chain: Chain, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(hourly_chain.snapshots[2], model_dir)
    record_file = model_dir / pair_files(BTC).record
    record_file.write_bytes(record_file.read_bytes().replace(b'"format":1', b'"format":1 '))
    result = train(small_hourly_settings(model_dir, until=HOURLY_UNTILS[3]))
    assert result.outcomes[BTC].status == "updated"
    assert result.track[BTC].startswith("the previous artifact cannot be used (model file ")
    assert "does not match its checksum" in result.track[BTC] and "the record starts empty" in result.track[BTC]
    assert len(load_artifact(model_dir).pairs[BTC].record) == 0


def test_a_format_4_artifact_is_reanchored_and_scored_and_its_record_starts(
    hourly_chain: Chain, tmp_path: Path
) -> None:
    manifest, files = read_verified_files(hourly_chain.snapshots[1])
    del files[pair_files(BTC).record]
    old = tmp_path / "model"
    write_artifact(old, files, {**{k: v for k, v in manifest.items() if k != "files"}, "format": 4})
    with pytest.raises(ArtifactError, match="is artifact format 4, this server reads 5: retrain"):
        load_artifact(old)
    assert list(read_previous(old)) == [BTC]
    result = train(small_hourly_settings(old, until=HOURLY_UNTILS[2]))
    assert result.outcomes[BTC].fitted and result.outcomes[BTC].fitted.card["update"] == "reanchor"
    assert result.track[BTC].startswith(
        "the previous artifact has no track record (format 4): the record starts empty;"
    )
    assert len(load_artifact(old).pairs[BTC].record) == 6
