"""Publishing and loading the artifact: one model per pair, checksums, atomic replacement, refusal of altered files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from cryptopredict.core import artifact
from cryptopredict.core.artifact import (
    ArtifactError,
    UnreadableFormat,
    load_artifact,
    pair_files,
    read_previous_artifact,
    read_verified_files,
    write_artifact,
)
from cryptopredict.core.forecast import ForecastTable

BTC_FORECAST = "btc-usd.forecast.json"


def test_manifest_lists_every_file_with_its_sha256(trained_model_dir: Path) -> None:
    manifest = json.loads((trained_model_dir / "manifest.json").read_text())
    on_disk = sorted(p.name for p in trained_model_dir.iterdir() if p.name != "manifest.json")
    assert sorted(manifest["files"]) == on_disk == [
        "btc-usd.band.json", "btc-usd.forecast.json", "btc-usd.prophet.json", "btc-usd.record.json",
        "eth-usd.band.json", "eth-usd.forecast.json", "eth-usd.prophet.json", "eth-usd.record.json",
    ]  # fmt: skip
    for name, entry in manifest["files"].items():
        data = (trained_model_dir / name).read_bytes()
        assert entry == {"sha256": artifact.sha256_hex(data), "bytes": len(data)}


def test_manifest_records_what_was_trained_for_each_pair(trained_model_dir: Path) -> None:
    manifest = json.loads((trained_model_dir / "manifest.json").read_text())
    assert manifest["format"] == artifact.FORMAT
    assert list(manifest["pairs"]) == ["BTC/USD", "ETH/USD"]
    assert manifest["run"] == {"updated": ["BTC/USD", "ETH/USD"], "unchanged": [], "kept": {}, "dropped": {}}
    for symbol, card in manifest["pairs"].items():
        assert card["symbol"] == symbol
        assert card["timeframe"] == "1Day"
        assert card["source"]["kind"] == "embedded"
        assert card["source"]["path"] == f"{symbol.replace('/', '-').lower()}-1d.csv"
        assert card["first_bar"] == "2024-01-01T00:00:00Z"
        assert card["fit_last_bar"] == card["last_bar"] == "2024-11-03T00:00:00Z"  # a refit: fitted on every bar
        assert card["rows"] == 308
        assert card["update"] == "refit"
        # No --until: trained as of the moment the run started, then fitted, then materialised.
        assert card["trained_until"] <= card["fitted_at"] <= card["trained_at"]
        assert card["gate"]["passed"] is True
        assert set(card["packages"]) >= {"python", "prophet", "pandas", "alpaca-py"}
        forecast_file = f"{symbol.replace('/', '-').lower()}.forecast.json"
        assert card["model_version"].endswith(manifest["files"][forecast_file]["sha256"][:8])
    assert manifest["pairs"]["BTC/USD"]["model_version"] != manifest["pairs"]["ETH/USD"]["model_version"]


def test_one_changed_byte_is_refused_naming_the_file(model_dir: Path) -> None:
    target = model_dir / "eth-usd.forecast.json"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"eth-usd\.forecast\.json does not match its checksum"):
        load_artifact(model_dir)


def test_a_missing_listed_file_is_refused(model_dir: Path) -> None:
    (model_dir / "btc-usd.prophet.json").unlink()
    with pytest.raises(ArtifactError, match=r"cannot read model file .*btc-usd\.prophet\.json"):
        read_verified_files(model_dir)


def test_no_model_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"no model at .*manifest\.json: train one"):
        load_artifact(tmp_path / "absent")


def test_a_corrupt_manifest_is_refused(model_dir: Path) -> None:
    (model_dir / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="is not a valid manifest"):
        load_artifact(model_dir)


def test_files_outside_the_folder_are_never_read(model_dir: Path) -> None:
    manifest = json.loads((model_dir / "manifest.json").read_text())
    manifest["files"]["../escape.json"] = {"sha256": "0" * 64, "bytes": 1}
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="outside the artifact"):
        load_artifact(model_dir)


def test_publishing_replaces_the_previous_artifact_and_leaves_no_debris(model_dir: Path) -> None:
    write_artifact(model_dir, {"forecast.json": b"new"}, {"model_version": "v2"})
    assert sorted(p.name for p in model_dir.iterdir()) == ["forecast.json", "manifest.json"]
    assert sorted(p.name for p in model_dir.parent.iterdir()) == ["model"]


def test_a_failure_while_writing_keeps_the_previous_artifact(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {p.name: p.read_bytes() for p in model_dir.iterdir()}
    calls = 0
    real = artifact.write_synced

    def fail_on_second(path: Path, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(artifact, "write_synced", fail_on_second)
    with pytest.raises(OSError, match="No space left"):
        write_artifact(model_dir, {"a.json": b"new", "b.json": b"new"}, {"model_version": "v2"})
    assert {p.name: p.read_bytes() for p in model_dir.iterdir()} == before
    assert sorted(p.name for p in model_dir.parent.iterdir()) == ["model"]
    assert list(load_artifact(model_dir).pairs) == ["BTC/USD", "ETH/USD"]


def test_published_files_are_readable_by_other_users(model_dir: Path) -> None:
    write_artifact(model_dir, {"forecast.json": b"x"}, {"model_version": "v2"})
    assert stat.S_IMODE(os.stat(model_dir).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(model_dir / "forecast.json").st_mode) == 0o644


def test_the_multi_pair_artifact_round_trips(trained_model_dir: Path) -> None:
    loaded = load_artifact(trained_model_dir)
    manifest = json.loads((trained_model_dir / "manifest.json").read_text())
    assert loaded.version == manifest["model_version"]
    for symbol in ("BTC/USD", "ETH/USD"):
        forecast_file = pair_files(symbol).forecast
        pair = loaded.pairs[symbol]
        assert pair.forecast == ForecastTable.from_json((trained_model_dir / forecast_file).read_bytes())
        assert pair.card == manifest["pairs"][symbol]
        assert pair.forecast.symbol == symbol
    assert loaded.find("eth-usd") is loaded.find("ETH-USD") is loaded.find("ETH/USD") is loaded.pairs["ETH/USD"]
    assert loaded.find("XRP-USD") is None
    assert loaded.oldest_trained_at() == min(p.trained_at for p in loaded.pairs.values())


def test_a_pair_file_holding_another_pair_is_refused(model_dir: Path) -> None:
    manifest = json.loads((model_dir / "manifest.json").read_text())
    eth = (model_dir / "eth-usd.forecast.json").read_bytes()
    (model_dir / BTC_FORECAST).write_bytes(eth)
    manifest["files"][BTC_FORECAST] = {"sha256": artifact.sha256_hex(eth), "bytes": len(eth)}
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"btc-usd\.forecast\.json is malformed: it holds ETH/USD, not BTC/USD"):
        load_artifact(model_dir)


def test_an_artifact_of_the_one_pair_format_asks_for_a_retrain(model_dir: Path) -> None:
    manifest = json.loads((model_dir / "manifest.json").read_text())
    del manifest["format"]
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=f"is artifact format 1, this server reads {artifact.FORMAT}: retrain"):
        load_artifact(model_dir)


def test_a_previous_artifact_of_an_older_format_is_upgraded_in_memory_saying_what_it_lacks(tmp_path: Path) -> None:
    files = {name: b"{}" for name in pair_files("BTC/USD").model()}
    write_artifact(tmp_path / "current", files, {"format": artifact.FORMAT, "pairs": {"BTC/USD": {}}})
    current = read_previous_artifact(tmp_path / "current")
    assert (current.manifest["format"], current.contents, current.absent) == (artifact.FORMAT, files, {})
    write_artifact(tmp_path / "old", files, {"format": 4, "pairs": {"BTC/USD": {}}})
    old = read_previous_artifact(tmp_path / "old")
    assert (old.manifest["format"], old.contents) == (artifact.FORMAT, files)
    assert old.absent == {"btc-usd.record.json": "the previous artifact has no track record (format 4)"}
    write_artifact(tmp_path / "older", files, {"format": 3, "pairs": {"BTC/USD": {}}})
    with pytest.raises(UnreadableFormat, match=r"^the previous artifact is format 3, whose forecasts this run does"):
        read_previous_artifact(tmp_path / "older")
