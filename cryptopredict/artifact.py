"""The model artifact: a folder of files plus a manifest with their checksums, published atomically.

Both sides use this module, so it needs only the standard library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptopredict.forecast import ForecastTable

MANIFEST_FILE = "manifest.json"
FORECAST_FILE = "forecast.json"
MODEL_FILE = "prophet.json"


class ArtifactError(RuntimeError):
    """The artifact is missing, incomplete or has been altered."""


@dataclass(frozen=True)
class Artifact:
    manifest: dict[str, Any]
    forecast: ForecastTable

    @property
    def version(self) -> str:
        return str(self.manifest["model_version"])

    @property
    def trained_at(self) -> float:
        """When the model was trained, in epoch seconds."""
        return dt.datetime.fromisoformat(self.manifest["trained_at"].replace("Z", "+00:00")).timestamp()

    def age_seconds(self) -> float:
        return time.time() - self.trained_at


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    path.chmod(0o644)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
            _write_synced(staging / name, data)
            entries[name] = {"sha256": sha256_hex(data), "bytes": len(data)}
        full_manifest = {**manifest, "files": entries}
        _write_synced(staging / MANIFEST_FILE, json.dumps(full_manifest, indent=2).encode() + b"\n")
        _fsync_dir(staging)
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
    _fsync_dir(model_dir.parent)
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


def load_artifact(model_dir: Path) -> Artifact:
    """Load what the server needs, refusing anything that fails its checksum."""
    manifest, contents = read_verified_files(model_dir)
    if FORECAST_FILE not in contents:
        raise ArtifactError(f"{Path(model_dir) / MANIFEST_FILE} lists no {FORECAST_FILE}")
    try:
        forecast = ForecastTable.from_json(contents[FORECAST_FILE])
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"model file {Path(model_dir) / FORECAST_FILE} is malformed: {exc}") from None
    artifact = Artifact(manifest=manifest, forecast=forecast)
    try:
        artifact.trained_at  # noqa: B018 - checked now, so /ready and /metrics cannot fail on it later
    except (KeyError, AttributeError, ValueError):
        raise ArtifactError(f"{Path(model_dir) / MANIFEST_FILE} has no valid trained_at") from None
    return artifact
