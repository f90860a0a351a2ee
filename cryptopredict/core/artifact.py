"""The model artifact: a folder of files plus a manifest with their checksums, published atomically.

One artifact holds one model per pair: `<pair>.forecast.json` (what the server looks up), `<pair>.prophet.json`
(Prophet's own JSON), `<pair>.band.json` (the damping and the calibrated band) and `<pair>.record.json` (its track
record, cryptopredict/core/track/), with each pair's model card under `pairs` in the manifest. The server reads the
forecast and the record; the next training run re-anchors the stored Prophet model and band on the bars that closed
since, and scores the stored forecast against them (see training/pipeline.py and training/scoring.py).
Both sides use this module, so it needs only the standard library.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptopredict.core.dates import parse_utc
from cryptopredict.core.files import fsync_dir, write_synced
from cryptopredict.core.forecast import ForecastTable
from cryptopredict.core.manifest import FORMAT, PREVIOUS_FORMATS, check_manifest
from cryptopredict.core.timeframe import Timeframe, timeframe_of
from cryptopredict.core.track import TrackRecord

MANIFEST_FILE = "manifest.json"


class ArtifactError(RuntimeError):
    """The artifact is missing, incomplete or has been altered."""


class UnreadableFormat(ArtifactError):
    """A previous artifact of a format this version cannot upgrade to its own."""


def pair_name(symbol: str) -> str:
    """BTC/USD -> BTC-USD, the form a URL path can carry."""
    return symbol.replace("/", "-")


def symbol_of(name: str) -> str:
    """ETH-USD, eth/usd or ETH/USD -> ETH/USD, Alpaca's form: the inverse of `pair_name`, case-insensitive."""
    return name.strip().upper().replace("-", "/")


@dataclass(frozen=True)
class PairFiles:
    """A pair's file names inside the artifact."""

    forecast: str  # the materialised forecast the server looks up
    prophet: str  # the fitted Prophet model, in Prophet's own JSON
    band: str  # the damping and the band's log-error quantiles per horizon
    record: str  # the track record: the served forecasts scored against what happened (cryptopredict/core/track/)

    def model(self) -> tuple[str, str, str]:
        """The files that make the model: a training run needs all three to re-anchor it."""
        return self.forecast, self.prophet, self.band

    def all(self) -> tuple[str, str, str, str]:
        return *self.model(), self.record


def pair_files(symbol: str) -> PairFiles:
    slug = pair_name(symbol).lower()
    return PairFiles(f"{slug}.forecast.json", f"{slug}.prophet.json", f"{slug}.band.json", f"{slug}.record.json")


@dataclass(frozen=True)
class PairModel:
    """One pair's model as the server uses it: its card, its materialised forecast and its track record."""

    card: dict[str, Any]
    forecast: ForecastTable
    record: TrackRecord  # its track record: every pair of the format a server reads has one

    @property
    def symbol(self) -> str:
        return self.forecast.symbol

    @property
    def version(self) -> str:
        return str(self.card["model_version"])

    @property
    def trained_at(self) -> float:
        return parse_utc(self.card["trained_at"]).timestamp()

    def age_seconds(self) -> float:
        return time.time() - self.trained_at

    @property
    def timeframe(self) -> Timeframe:
        return timeframe_of(self.forecast.timeframe)

    @property
    def source_kind(self) -> str:
        """Where the bars came from: "alpaca" (live), "embedded" (the history in this repo) or "csv"."""
        return str(self.card["source"]["kind"])

    @property
    def live(self) -> bool:
        """Trained on live market data, which should be current; the embedded history and CSV files are not."""
        return self.source_kind == "alpaca"

    @property
    def newest_close(self) -> float:
        """When the newest bar the model has seen closed (epoch seconds): the model knows prices up to then."""
        return self.timeframe.closes_at(self.forecast.last_bar)

    def data_age_seconds(self) -> float:
        """How old the newest price the model knows is."""
        return time.time() - self.newest_close


@dataclass(frozen=True)
class Artifact:
    manifest: dict[str, Any]
    pairs: dict[str, PairModel]  # by symbol, e.g. "BTC/USD"

    @property
    def version(self) -> str:
        """The artifact's version: it changes whenever any pair's model does."""
        return str(self.manifest["model_version"])

    def find(self, name: str) -> PairModel | None:
        """A pair by its URL form (ETH-USD, any case) or its symbol (ETH/USD)."""
        return self.pairs.get(symbol_of(name))

    def oldest_trained_at(self) -> float:
        """When the stalest pair was trained: the artifact is only as fresh as that."""
        return min(p.trained_at for p in self.pairs.values())

    def age_seconds(self) -> float:
        return time.time() - self.oldest_trained_at()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_artifact(model_dir: Path, files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Write `files` and a manifest into a temporary folder beside `model_dir`, then swap it in.

    Until the swap, the previous artifact is untouched; on any error the temporary folder is removed.
    """
    model_dir = Path(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.staging-", dir=model_dir.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the server may run as another user
        entries = {}
        for name, data in files.items():
            write_synced(staging / name, data)
            entries[name] = {"sha256": sha256_hex(data), "bytes": len(data)}
        full_manifest = {**manifest, "files": entries}
        write_synced(staging / MANIFEST_FILE, json.dumps(full_manifest, indent=2).encode() + b"\n")
        fsync_dir(staging)
        _swap_in(staging, model_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return full_manifest


def _swap_in(staging: Path, model_dir: Path) -> None:
    """Replace `model_dir` by `staging` with two renames on one file system.

    A crash between the renames leaves the old artifact complete under `<name>.previous`.
    """
    previous = model_dir.with_name(model_dir.name + ".previous")
    if previous.exists():
        shutil.rmtree(previous)
    if model_dir.exists():
        os.rename(model_dir, previous)
    os.rename(staging, model_dir)
    fsync_dir(model_dir.parent)
    shutil.rmtree(previous, ignore_errors=True)


def read_verified_files(model_dir: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Read the manifest and every file it lists, checking each checksum."""
    model_dir = Path(model_dir)
    manifest_path = model_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        hint = ""
        if model_dir.with_name(model_dir.name + ".previous").is_dir():
            hint = f"; an interrupted publish left the previous model in {model_dir}.previous"
        raise ArtifactError(f"no model at {manifest_path}: train one with `python train.py`{hint}")
    try:
        manifest = json.loads(manifest_path.read_bytes())
        listed = manifest["files"]
        if not isinstance(listed, dict) or not listed:
            raise ValueError("lists no files")
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{manifest_path} is not a valid manifest: {exc}") from None
    contents: dict[str, bytes] = {}
    for name, entry in listed.items():
        path = model_dir / name
        if Path(name).name != name:
            raise ArtifactError(f"{manifest_path} lists a file outside the artifact: {name!r}")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ArtifactError(f"cannot read model file {path}: {exc.strerror}") from None
        if sha256_hex(data) != entry.get("sha256"):
            raise ArtifactError(f"model file {path} does not match its checksum in {manifest_path}")
        contents[name] = data
    return manifest, contents


@dataclass(frozen=True)
class PreviousArtifact:
    """A published artifact as a training run reads it: upgraded to FORMAT in memory, with why a file this format
    has is absent because the artifact's own format lacked it, by file name."""

    manifest: dict[str, Any]
    contents: dict[str, bytes]
    absent: dict[str, str] = field(default_factory=dict)


def read_previous_artifact(model_dir: Path) -> PreviousArtifact:
    """The artifact in `model_dir`, checked as read_verified_files does, of this FORMAT or upgraded to it from one of
    the PREVIOUS_FORMATS; ArtifactError if it cannot be read, UnreadableFormat if it is of any other format.

    This is the one place that knows what the older formats lack."""
    manifest, contents = read_verified_files(model_dir)
    found = manifest.get("format")
    if found not in (FORMAT, *PREVIOUS_FORMATS):
        raise UnreadableFormat(f"the previous artifact is format {found!r}, whose forecasts this run does not read")
    absent = {}
    if found == 4:  # format 5 added each pair's track record; a format-4 pair's starts with the next run's points
        pairs = manifest.get("pairs")
        absent = {
            pair_files(symbol).record: "the previous artifact has no track record (format 4)"
            for symbol in (pairs if isinstance(pairs, dict) else {})
        }
    return PreviousArtifact({**manifest, "format": FORMAT}, contents, absent)


def _read_record(model_dir: Path, contents: Mapping[str, bytes], symbol: str) -> TrackRecord:
    """A pair's track record, checked against its pair; ArtifactError naming the file."""
    name = pair_files(symbol).record
    path = Path(model_dir) / name
    if name not in contents:
        raise ArtifactError(f"{Path(model_dir) / MANIFEST_FILE} lists no {name} for {symbol}")
    try:
        record = TrackRecord.from_json(contents[name])
    except ValueError as exc:
        raise ArtifactError(f"model file {path} is malformed: {exc}") from None
    if record.symbol != symbol:
        raise ArtifactError(f"model file {path} is malformed: it holds {record.symbol}, not {symbol}")
    record.summary  # noqa: B018 - computed now, so /metrics and the track-record route cannot fail on it later
    return record


def _read_pair(model_dir: Path, contents: Mapping[str, bytes], symbol: str, card: dict[str, Any]) -> PairModel:
    """A pair's forecast and track record, checked against its pair; ArtifactError naming the file."""
    forecast_name = pair_files(symbol).forecast
    if forecast_name not in contents:
        raise ArtifactError(f"{Path(model_dir) / MANIFEST_FILE} lists no {forecast_name} for {symbol}")
    try:
        table = ForecastTable.from_json(contents[forecast_name])
        if table.symbol != symbol:
            raise ValueError(f"it holds {table.symbol}, not {symbol}")
        pair = PairModel(card=card, forecast=table, record=_read_record(model_dir, contents, symbol))
        pair.timeframe  # noqa: B018 - checked now, so /ready and /metrics cannot fail on it later
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ArtifactError(f"model file {Path(model_dir) / forecast_name} is malformed: {exc}") from None
    return pair


def load_artifact(model_dir: Path) -> Artifact:
    """Load what the server needs, refusing anything that fails its checksum or the manifest's definition.

    check_manifest proves the cards (and so every date and version the server reads from them); the forecast and
    record files are checked as they are read."""
    manifest, contents = read_verified_files(model_dir)
    manifest_path = Path(model_dir) / MANIFEST_FILE
    if manifest.get("format") != FORMAT:
        raise ArtifactError(
            f"{manifest_path} is artifact format {manifest.get('format', 1)!r}, this server reads {FORMAT}: retrain"
        )
    if problems := check_manifest(manifest):
        raise ArtifactError(f"{manifest_path} does not match the manifest's definition: {'; '.join(problems[:5])}")
    cards = manifest["pairs"]
    if not cards:
        raise ArtifactError(f"{manifest_path} lists no pairs")
    pairs = {symbol: _read_pair(model_dir, contents, symbol, card) for symbol, card in sorted(cards.items())}
    return Artifact(manifest=manifest, pairs=pairs)
