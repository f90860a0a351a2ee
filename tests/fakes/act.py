"""Two small loopback servers the workflow rehearsal puts beside nektos/act (rehearsals/workflow.py).

ArtifactSigShim: in front of act's artifact server. act 0.2.89 signs upload URLs with `sig=` in padded base64 (a
  trailing `=`); upload-artifact v6's bundled @azure/core-client re-parses the URL with `split("=", 2)` and drops
  that padding, so act answers 401 "Error unauthorized" (nektos/act#6021). The shim restores the padding of `sig`
  and forwards everything else unchanged. act takes ACTIONS_RUNTIME_URL from its own environment: point it here.
FakeGitHubApi: GITHUB_API_URL for docker/metadata-action, which reads the repository and the commit (labels only).
Both bind 127.0.0.1 only and run in daemon threads of the calling process; `close()` stops them.
"""

from __future__ import annotations

import re

from tests.fakes.loopback import LoopbackServer, QuietHandler, forward, send_answer, send_json

SIG = re.compile(r"([?&]sig=)([A-Za-z0-9_-]+)=*(?=&|$)")
HOP_BY_HOP = {"connection", "transfer-encoding", "content-length", "keep-alive"}


def pad_sig(path: str) -> str:
    """`…?sig=abc&…` -> `…?sig=abc=&…`: base64 padding back to a multiple of four."""
    return SIG.sub(lambda m: m[1] + m[2] + "=" * (-len(m[2]) % 4), path)


class _ShimHandler(QuietHandler):
    protocol_version = "HTTP/1.1"

    def forward(self) -> None:
        shim: ArtifactSigShim = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        path = pad_sig(self.path)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        response, data = forward(shim.upstream_port, self.command, path, 300, body, headers)
        kept = [(key, value) for key, value in response.getheaders() if key.lower() not in HOP_BY_HOP]
        send_answer(self, response.status, kept, data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward


class ArtifactSigShim(LoopbackServer):
    """Forwards to act's artifact server on 127.0.0.1:`upstream_port`, with `sig` padded again."""

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        super().__init__(_ShimHandler, port)


class _ApiHandler(QuietHandler):
    def do_GET(self) -> None:
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


class FakeGitHubApi(LoopbackServer):
    """The two reads docker/metadata-action makes: the repository and one commit."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(_ApiHandler, port)
