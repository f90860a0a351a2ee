"""write_atomically: the old file or the new one, never a half-written one, and no debris."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cryptopredict import files
from cryptopredict.files import write_atomically


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
