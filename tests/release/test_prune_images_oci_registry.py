"""Image retention (release/prune_images.py) end to end through main() against a fake OCI distribution registry
on 127.0.0.1 (tags/list, HEAD and DELETE manifests). `make release-rehearsal`'s Debian docker-registry is not
needed."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from release import prune_images
from release.registry import MANIFEST_TYPES, registry_base
from tests.release.prune_fakes import Fake, as_json, digest, runs, serve


def test_registry_base_is_http_only_on_loopback() -> None:
    assert registry_base("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert registry_base("127.0.0.2:5000") == "http://127.0.0.2:5000"
    assert registry_base("localhost:5000") == "http://localhost:5000"
    assert registry_base("[::1]:5000") == "http://[::1]:5000"
    assert registry_base("registry.example.com") == "https://registry.example.com"
    assert registry_base("10.0.0.1:5000") == "https://10.0.0.1:5000"
    assert registry_base("127.0.0.1.example.com") == "https://127.0.0.1.example.com"


NAME = "rehearsal/crypto-predict"


def registry_answer(fake: Fake, method: str, path: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
    """docker-registry's answers: tags/list in pages of `page` (Link header), HEAD a tag, DELETE a digest (which
    removes every tag on it), 405 when deletion is disabled."""
    tags: dict[str, str] = fake.state["tags"]
    url = urllib.parse.urlsplit(path)
    if url.path == f"/v2/{NAME}/tags/list":
        query = urllib.parse.parse_qs(url.query)
        ordered = sorted(tags)
        start = ordered.index(query["last"][0]) + 1 if "last" in query else 0
        page = ordered[start : start + fake.state["page"]]
        links = {}
        if start + len(page) < len(ordered):
            links["Link"] = f'</v2/{NAME}/tags/list?last={page[-1]}&n={fake.state["page"]}>; rel="next"'
        return 200, {"Content-Type": "application/json", **links}, as_json({"name": NAME, "tags": page})
    prefix = f"/v2/{NAME}/manifests/"
    if url.path.startswith(prefix):
        reference = url.path.removeprefix(prefix)
        if method == "HEAD" and reference in tags:
            media = "application/vnd.oci.image.index.v1+json"
            return 200, {"Docker-Content-Digest": tags[reference], "Content-Type": media}, b""
        if method == "DELETE" and not fake.state.get("delete", True):
            error = {"errors": [{"code": "UNSUPPORTED", "message": "The operation is unsupported."}]}
            return 405, {"Content-Type": "application/json"}, as_json(error)
        if method == "DELETE" and reference in tags.values():
            for tag in [tag for tag, value in tags.items() if value == reference]:
                del tags[tag]
            return 202, {}, b""
    error = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
    return 404, {"Content-Type": "application/json"}, as_json(error)


@pytest.fixture
def registry() -> Iterator[Fake]:
    tags = runs(8)
    served = sorted(tags)[1]  # an older build is served: newer ones never passed verify
    tags |= {"latest": tags[served], "1.2.3": tags[served], "buildcache": digest("cache")}
    yield from serve(Fake(state={"tags": tags, "page": 3}), registry_answer)


def test_oci_registry_end_to_end(registry: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    before = dict(registry.state["tags"])
    stamps = sorted(tag for tag in before if "-" in tag)
    image = f"{registry.url}/Rehearsal/Crypto-Predict:latest"  # repository_of: lower case, the tag dropped
    assert prune_images.main(["--image", image, "--keep", "3"]) == 0
    out = capsys.readouterr()
    expected = [stamps[0], *stamps[2:5]]  # not stamps[1] (served), not the 3 newest
    assert registry.paths("DELETE") == [f"/v2/{NAME}/manifests/{before[tag]}" for tag in expected]
    assert sorted(registry.state["tags"]) == sorted(set(before) - set(expected))
    lines = out.out.splitlines()
    assert lines[:-1] == [f"prune: deleted {registry.url}/{NAME}:{tag} ({before[tag]})" for tag in expected]
    assert lines[-1].startswith(f"prune: {registry.url}/{NAME}: deleted 4 image(s); kept the 3 newest stamp tag(s)")
    assert "1 served image(s) (1.2.3, latest)" in lines[-1] and "1 other tag(s)" in lines[-1]
    assert out.err == ""
    # Every tag resolved with the manifest types of an index and an image, OCI and Docker.
    heads = [(path, headers) for method, path, headers in registry.calls if method == "HEAD"]
    assert len(heads) == len(before)
    for _, headers in heads:
        assert set(headers["Accept"].split(", ")) == set(MANIFEST_TYPES)
    assert len(registry.paths("GET")) == 4  # 11 tags in pages of 3: the Link header followed


def test_oci_registry_dry_run_deletes_nothing(registry: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    before = dict(registry.state["tags"])
    assert prune_images.main(["--image", f"{registry.url}/{NAME}", "--keep", "3", "--dry-run"]) == 0
    assert registry.paths("DELETE") == [] and registry.state["tags"] == before
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and all(line.startswith("prune: would delete ") for line in lines[:-1])
    assert ": would delete 4 image(s)" in lines[-1]


def test_oci_registry_keeps_everything_with_the_default_keep(
    registry: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    assert prune_images.main(["--image", f"{registry.url}/{NAME}"]) == 0
    assert registry.paths("DELETE") == []
    assert ": deleted 0 image(s); kept the 8 newest" in capsys.readouterr().out


def test_oci_registry_without_deletion_fails_in_one_line(registry: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    registry.state["delete"] = False
    assert prune_images.main(["--image", f"{registry.url}/{NAME}", "--keep", "3"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "HTTP 405 (The operation is unsupported.)" in err and "storage.delete.enabled" in err


def test_no_latest_tag_means_nothing_is_deleted(registry: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    del registry.state["tags"]["latest"]
    assert prune_images.main(["--image", f"{registry.url}/{NAME}", "--keep", "1"]) == 1
    assert registry.paths("DELETE") == []
    assert "has no `latest` tag" in capsys.readouterr().err


def test_an_unreachable_registry_or_a_bad_image_name_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]  # closed below, before the request: nothing listens there
    assert prune_images.main(["--image", f"127.0.0.1:{port}/{NAME}"]) == 1
    assert prune_images.main(["--image", "library/python"]) == 1  # no registry named
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith(f"prune: listing the tags of 127.0.0.1:{port}/{NAME}: ")
    assert "name the registry" in err[1]


def test_keep_below_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        prune_images.main(["--image", f"127.0.0.1:1/{NAME}", "--keep", "0"])
    assert exited.value.code == 2 and "keep at least 1" in capsys.readouterr().err
