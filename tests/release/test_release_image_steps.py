"""The release steps that handle the pushed image: the linux/amd64 manifest deploy names, promote's tags, both
against a fake registry behind a bearer-token challenge as GHCR's; and the smoke test against the real server."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from release import cli
from release.common import ReleaseError
from release.image import check_service, platform_image
from tests.fakes.loopback import free_port
from tests.servers import running_api


class FakeRegistry(BaseHTTPRequestHandler):
    """The distribution API's manifest routes for one repository, behind a bearer-token challenge as GHCR's."""

    manifests: ClassVar[dict[str, tuple[bytes, str]]] = {}  # digest -> (bytes, media type)
    tags: ClassVar[dict[str, str]] = {}  # tag -> digest
    seen: ClassVar[list[str]] = []

    def answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorised(self) -> bool:
        self.seen.append(f"{self.command} {self.path} {self.headers.get('Authorization', '')}")
        if self.path.startswith("/token"):
            return True
        if self.headers.get("Authorization") == "Bearer t0k":
            return True
        port = self.server.server_address[1]
        self.answer(401, WWW_Authenticate=f'Bearer realm="http://127.0.0.1:{port}/token",service="fake"')
        return False

    def reference(self) -> str:
        ref = self.path.rsplit("/", 1)[1]
        return self.tags.get(ref, ref)

    def do_GET(self) -> None:
        if not self.authorised():
            return
        if self.path.startswith("/token"):
            assert self.headers["Authorization"] == "Basic " + base64.b64encode(b"bot:s3cret").decode()
            self.answer(200, json.dumps({"token": "t0k"}).encode())
        elif self.path == "/v2/":
            self.answer(200, b"{}")
        else:
            body, media_type = self.manifests[self.reference()]
            self.answer(200, body, Content_Type=media_type, Docker_Content_Digest=self.reference())

    def do_HEAD(self) -> None:
        if self.authorised():
            self.answer(200, Docker_Content_Digest=self.reference())

    def do_PUT(self) -> None:
        if self.authorised():
            body = self.rfile.read(int(self.headers["Content-Length"]))
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            self.manifests[digest] = (body, self.headers["Content-Type"])
            self.tags[self.path.rsplit("/", 1)[1]] = digest
            self.answer(201, Docker_Content_Digest=digest)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fake registry on loopback with an index (amd64 image + attestation) pushed; `docker login` done."""
    image = json.dumps({"mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}).encode()
    amd64 = "sha256:" + hashlib.sha256(image).hexdigest()
    index = json.dumps({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"digest": "sha256:" + "a" * 64, "platform": {"os": "unknown", "architecture": "unknown"}},
        {"digest": amd64, "platform": {"os": "linux", "architecture": "amd64"}},
    ]}).encode()  # fmt: skip
    index_digest = "sha256:" + hashlib.sha256(index).hexdigest()
    FakeRegistry.manifests = {amd64: (image, "application/vnd.oci.image.manifest.v1+json"),
                              index_digest: (index, "application/vnd.oci.image.index.v1+json")}  # fmt: skip
    FakeRegistry.tags, FakeRegistry.seen = {"1.2.3-20261125060000": index_digest}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(b"bot:s3cret").decode()
    (config / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    try:
        yield f"{host}/o/r"
    finally:
        server.shutdown()
        server.server_close()


def test_deploy_gets_the_linux_amd64_manifest_not_the_index(registry: str) -> None:
    index = FakeRegistry.tags["1.2.3-20261125060000"]
    amd64 = json.loads(FakeRegistry.manifests[index][0])["manifests"][1]["digest"]
    assert platform_image(f"{registry}@{index}") == f"{registry}@{amd64}"
    assert platform_image(f"{registry}@{amd64}") == f"{registry}@{amd64}"  # already one image
    # The registry asked for a token, which came from docker's stored login: Basic to the token service only.
    assert any(line.startswith("GET /token?") for line in FakeRegistry.seen)
    FakeRegistry.manifests[index] = (FakeRegistry.manifests[index][0].replace(b"amd64", b"arm64"), "x")
    with pytest.raises(ReleaseError, match="has no linux/amd64 image"):
        platform_image(f"{registry}@{index}")


def test_promote_puts_the_very_manifest_under_latest_and_the_version(registry: str) -> None:
    index = FakeRegistry.tags["1.2.3-20261125060000"]
    assert cli.main(["promote", "--image", f"{registry}@{index}", "--version", "1.2.3"]) == 0
    # The tags resolve to the digest verified, not to a new index wrapping it.
    assert FakeRegistry.tags == {"1.2.3-20261125060000": index, "latest": index, "1.2.3": index}
    assert cli.main(["promote", "--image", f"{registry}:1.2.3-x", "--version", "1.2.3"]) == 1


def test_the_smoke_test_asks_every_pair_the_real_server_serves(mixed_model_dir: Path) -> None:
    with running_api(mixed_model_dir) as base:
        lines = check_service(base, timeout=10)
    assert [line.split(" at ")[0] for line in lines] == ["BTC-USD", "ETH-USD"]  # hourly and daily side by side
    with pytest.raises(ReleaseError, match="did not answer within 1 s"):
        check_service(f"http://127.0.0.1:{free_port()}", timeout=1)
