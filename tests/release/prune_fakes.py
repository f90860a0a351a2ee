"""Shared by the image-retention tests: six-hourly stamp tags, and a fake server on 127.0.0.1 that records every
request it answers."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def digest(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def runs(count: int, version: str = "1.2.3", day: int = 1) -> dict[str, str]:
    """`count` six-hourly stamp tags from 2025-01-`day`, each on a digest of its own."""
    tags = {}
    for run in range(count):
        hours = 6 * run
        stamp = f"202501{day + hours // 24:02d}{hours % 24:02d}1742"
        tags[f"{version}-{stamp}"] = digest(f"{version}-{stamp}")
    return tags


@dataclass
class Fake:
    """A fake server's state and every request it answered (method, path, headers)."""

    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    url: str = ""

    def paths(self, method: str) -> list[str]:
        return [path for m, path, _ in self.calls if m == method]


def serve(fake: Fake, handle: Any) -> Iterator[Fake]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self) -> None:
            fake.calls.append((self.command, self.path, dict(self.headers)))
            status, headers, body = handle(fake, self.command, self.path, self.headers)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_DELETE = answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    fake.url = f"127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()
