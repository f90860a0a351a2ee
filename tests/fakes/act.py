"""Two small loopback servers the workflow rehearsal puts beside nektos/act (rehearsals/workflow.py).

ArtifactSigShim: in front of act's artifact server. act 0.2.89 signs upload URLs with `sig=` in padded base64 (a
  trailing `=`); upload-artifact v6's bundled @azure/core-client re-parses the URL with `split("=", 2)` and drops
  that padding, so act answers 401 "Error unauthorized" (nektos/act#6021). The shim restores the padding of `sig`
  and forwards everything else unchanged. act takes ACTIONS_RUNTIME_URL from its own environment: point it here.
FakeGitHubApi: GITHUB_API_URL for docker/metadata-action, which reads the repository and the commit (labels only).
Both bind 127.0.0.1 only and run in daemon threads of the calling process; `close()` stops them.
"""

from __future__ import annotations

import http.client
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes.render import send_json

SIG = re.compile(r"([?&]sig=)([A-Za-z0-9_-]+)=*(?=&|$)")
HOP_BY_HOP = {"connection", "transfer-encoding", "content-length", "keep-alive"}


def pad_sig(path: str) -> str:
    """`…?sig=abc&…` -> `…?sig=abc=&…`: base64 padding back to a multiple of four."""
    return SIG.sub(lambda m: m[1] + m[2] + "=" * (-len(m[2]) % 4), path)


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1:`port` (0: any free port) in a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.port = int(self.httpd.server_address[1])
        self.requests: list[str] = []
        self.httpd.owner = self  # type: ignore[attr-defined]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _ShimHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self) -> None:
        shim: ArtifactSigShim = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        path = pad_sig(self.path)
        shim.requests.append(f"{self.command} {path.split('?', 1)[0]}")
        upstream = http.client.HTTPConnection("127.0.0.1", shim.upstream_port, timeout=300)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request(self.command, path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
        finally:
            upstream.close()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    def log_message(self, format: str, *args: object) -> None:
        pass


class ArtifactSigShim(_Server):
    """Forwards to act's artifact server on 127.0.0.1:`upstream_port`, with `sig` padded again."""

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        super().__init__(_ShimHandler, port)


class _ApiHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        api: FakeGitHubApi = self.server.owner  # type: ignore[attr-defined]
        api.requests.append(f"GET {self.path}")
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) >= 3 and parts[0] == "repos":
            full = f"{parts[1]}/{parts[2]}"
            if len(parts) == 3:
                body = {"id": 1, "name": parts[2], "full_name": full, "html_url": f"https://github.com/{full}",
                        "description": "workflow rehearsal", "license": None, "default_branch": "main",
                        "topics": []}  # fmt: skip
            else:  # /repos/O/R/commits/SHA
                body = {"sha": parts[-1], "commit": {"committer": {"date": "2025-01-01T00:00:00Z"}}}
            send_json(self, 200, body)
        else:
            send_json(self, 404, {"message": "Not Found"})

    def log_message(self, format: str, *args: object) -> None:
        pass


class FakeGitHubApi(_Server):
    """The two reads docker/metadata-action makes: the repository and one commit."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(_ApiHandler, port)
