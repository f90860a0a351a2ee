"""Writing a file so that a reader sees the old version or the new one, never half of either, even after a crash.

A rename is atomic, but without an fsync a power cut can leave the new name pointing at a file whose data never
reached the disk, or the rename itself lost: so the file's data is synced before the rename, and its folder after.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path
from typing import TextIO


def write_synced(path: Path, data: bytes) -> None:
    """Write `data` to `path` and fsync it, readable by other users (the server, CI)."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    Path(path).chmod(0o644)


def fsync_dir(path: Path) -> None:
    """Fsync a folder, so that the names created, renamed or removed in it survive a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes | str) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`; on any error, remove the temporary."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)  # mkstemp only reserves a unique name here; write_synced writes and syncs it
    try:
        write_synced(Path(tmp), data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def open_text(path: Path) -> TextIO:
    """Open a text file for reading, gzip-compressed when its name ends in .gz (data/btc-usd-1h.csv.gz)."""
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="")
    return path.open(newline="")
