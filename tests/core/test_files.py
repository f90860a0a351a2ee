"""write_atomically: the old file or the new one, never a half-written one, and no debris."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cryptopredict.core import files
from cryptopredict.core.files import write_atomically


def test_replaces_the_file_readable_by_others(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "card.html"
    write_atomically(target, "old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["card.html"]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "bars.csv"
    target.write_text("old")

    def refuse(source: str, destination: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["bars.csv"]


def test_the_data_is_synced_before_the_rename_and_the_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without both fsyncs a crash can leave the new name on an empty file, or lose the rename."""
    target = tmp_path / "card.html"
    events: list[tuple[str, int]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.fstat(fd).st_ino))  # which file or folder, whatever path it has then
        real_fsync(fd)

    def replace(source: str, destination: Path) -> None:
        events.append(("replace", os.stat(source).st_ino))
        real_replace(source, destination)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    write_atomically(target, "new")
    written = os.stat(target).st_ino
    assert events == [("fsync", written), ("replace", written), ("fsync", os.stat(tmp_path).st_ino)]
