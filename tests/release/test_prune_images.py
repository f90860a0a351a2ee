"""Image retention (release/prune_images.py): the plan, and both backends end to end through main() against fake
servers on 127.0.0.1: an OCI distribution registry (tags/list, HEAD and DELETE manifests) and GitHub's packages API
(paginated versions, DELETE, the token checked). `make release-rehearsal`'s Debian docker-registry is not needed."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from release import prune_images
from release.prune_images import KEEP_IMAGES, Deletion, plan_pruning
from release.registry import MANIFEST_TYPES, registry_base

TOKEN = "ghs_fakeTokenThatMustNeverBePrinted0123"


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


def deleted_tags(tags: dict[str, str], keep: int) -> list[str]:
    return [tag for deletion in plan_pruning(tags, keep).delete for tag in deletion.tags]


# --- the plan ----------------------------------------------------------------------------------------------------


def test_keep_is_defined_once_as_a_week_of_six_hourly_runs() -> None:
    assert KEEP_IMAGES == 28
    source = Path(prune_images.__file__).read_text()
    assert source.count("KEEP_IMAGES = ") == 1 and "default=KEEP_IMAGES" in source


def test_the_newest_n_stamp_tags_are_kept_and_the_older_ones_deleted_oldest_first() -> None:
    tags = runs(31)
    stamps = sorted(tags)
    tags |= {"latest": tags[stamps[-1]], "1.2.3": tags[stamps[-1]]}
    plan = plan_pruning(tags, 28)
    assert [d.tags for d in plan.delete] == [(tag,) for tag in stamps[:3]]  # the three oldest stamps
    assert [d.digest for d in plan.delete] == [tags[tag] for tag in stamps[:3]]
    assert list(plan.kept) == stamps[::-1][:28]
    assert plan.served == ("1.2.3", "latest") and plan.other == ()


def test_fewer_images_than_kept_deletes_nothing() -> None:
    tags = runs(5)
    tags["latest"] = tags[max(tags)]
    assert plan_pruning(tags, 28).delete == ()
    assert plan_pruning(tags, 5).delete == ()
    assert deleted_tags(tags, 4) == [min(tags)]
    assert plan_pruning({}, 28).delete == ()


def test_order_is_by_stamp_not_by_the_versions_text() -> None:
    # 0.10.0 sorts before 0.9.0 as text; 0.9.0's builds are the older ones. A lower version pushed later (a revert)
    # is still the newer image.
    tags = {
        "0.9.0-20250101001742": digest("a"),
        "0.9.0-20250101061742": digest("b"),
        "0.10.0-20250101121742": digest("c"),
        "0.10.0-20250101181742": digest("d"),
        "0.2.0-20250102001742": digest("e"),
        "latest": digest("e"),
    }
    assert deleted_tags(tags, 3) == ["0.9.0-20250101001742", "0.9.0-20250101061742"]
    assert plan_pruning(tags, 3).kept == ("0.2.0-20250102001742", "0.10.0-20250101181742", "0.10.0-20250101121742")


def test_equal_stamps_are_ordered_by_version_then_tag_whatever_the_input_order() -> None:
    tags = {
        "1.10.0-20250101001742": digest("x"),
        "1.9.0-20250101001742": digest("y"),
        "1.2.0-20250101001742": digest("z"),
        "1.0.0-20241231001742": digest("old"),
        "latest": digest("new"),
        "2.0.0-20250102001742": digest("new"),
    }
    plans = {plan_pruning(dict(order), 2) for order in itertools.permutations(tags.items())}
    assert len(plans) == 1  # deterministic
    [plan] = plans
    assert plan.kept == ("2.0.0-20250102001742", "1.10.0-20250101001742")  # 1.10.0 > 1.9.0 numerically
    assert [d.tags for d in plan.delete] == [("1.0.0-20241231001742",), ("1.2.0-20250101001742",),
                                             ("1.9.0-20250101001742",)]  # fmt: skip


def test_the_served_image_is_kept_even_when_older_than_the_newest_n() -> None:
    tags = runs(10)
    served = sorted(tags)[2]  # the service still runs the third-oldest build (newer ones failed verify)
    tags |= {"latest": tags[served], "1.2.3": tags[served]}
    plan = plan_pruning(tags, 3)
    assert served not in deleted_tags(tags, 3)
    assert tags[served] not in {d.digest for d in plan.delete}
    assert deleted_tags(tags, 3) == [t for t in sorted(tags) if "-" in t and t != served][:6]
    assert len(plan.kept) == 3


def test_the_served_build_of_each_code_version_is_kept() -> None:
    tags = runs(4, "1.0.0") | runs(4, "1.1.0", day=5)
    tags |= {"1.0.0": tags["1.0.0-20250101121742"], "1.1.0": tags["1.1.0-20250105181742"]}
    tags["latest"] = tags["1.1.0-20250105181742"]
    deleted = deleted_tags(tags, 2)
    assert "1.0.0-20250101121742" not in deleted
    assert deleted == ["1.0.0-20250101001742", "1.0.0-20250101061742", "1.0.0-20250101181742",
                       "1.1.0-20250105001742", "1.1.0-20250105061742"]  # fmt: skip


@pytest.mark.parametrize(
    "tag",
    [
        "1.2.3-2025",  # a short stamp
        "1.2.3-202501010017420",  # a long one
        "1.2.3-20251301001742",  # month 13: no instant
        "1.2.3-20250230001742",  # 30 February
        "v1.2.3-20250101001742",
        "1.2-20250101001742",
        "1.2.3-20250101001742-rc",
        "sha256-" + "a" * 64,  # a referrers tag (attestations)
        "buildcache",
        "main",
    ],
)
def test_malformed_and_other_tags_are_ignored_and_protect_their_image(tag: str) -> None:
    tags = runs(3)
    tags["latest"] = tags[max(tags)]
    tags[tag] = digest(tag)
    plan = plan_pruning(tags, 1)
    assert plan.other == (tag,)
    assert tag not in deleted_tags(tags, 1)
    assert len(plan.delete) == 2 and len(plan.kept) == 1  # an ignored tag does not count among the kept
    # An old stamp tag on the same image as the other tag: the image stays (deleting it would delete that tag).
    tags[tag] = tags[min(tags)]
    assert min(tags) not in deleted_tags(tags, 1)


def test_an_image_with_a_kept_stamp_tag_is_kept_whatever_its_other_stamp_tags() -> None:
    tags = runs(4)
    oldest, newest = sorted(tags)[0], sorted(tags)[-1]
    tags[oldest] = tags[newest]  # one image under two stamp tags (a rebuild that came out byte for byte the same)
    tags["latest"] = tags[sorted(tags)[1]]
    assert deleted_tags(tags, 1) == [sorted(tags)[2]]


def test_an_image_under_two_old_stamp_tags_is_one_deletion_with_both() -> None:
    tags = runs(4)
    first, second = sorted(tags)[:2]
    tags[second] = tags[first]
    tags["latest"] = tags[max(tags)]
    assert plan_pruning(tags, 1).delete[0] == Deletion(tags[first], (first, second))
    assert len(plan_pruning(tags, 1).delete) == 2


def test_keep_zero_leaves_only_the_served_images_and_a_negative_keep_is_refused() -> None:
    tags = runs(3)
    tags["latest"] = tags[min(tags)]
    assert deleted_tags(tags, 0) == sorted(tags)[1:3]
    with pytest.raises(ValueError):
        plan_pruning(tags, -1)


def test_registry_base_is_http_only_on_loopback() -> None:
    assert registry_base("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert registry_base("127.0.0.2:5000") == "http://127.0.0.2:5000"
    assert registry_base("localhost:5000") == "http://localhost:5000"
    assert registry_base("[::1]:5000") == "http://[::1]:5000"
    assert registry_base("registry.example.com") == "https://registry.example.com"
    assert registry_base("10.0.0.1:5000") == "https://10.0.0.1:5000"
    assert registry_base("127.0.0.1.example.com") == "https://127.0.0.1.example.com"


# --- fake servers ------------------------------------------------------------------------------------------------


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


# --- the OCI distribution API ------------------------------------------------------------------------------------

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


# --- GHCR through GitHub's packages API --------------------------------------------------------------------------

OWNER, PACKAGE = "octo-org", "crypto-predict"


def github_answer(fake: Fake, method: str, path: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
    """GitHub's answers: versions in pages of `page` (an absolute Link URL), DELETE a version; 401 without the token
    (its message echoing what it was sent, so the test sees that main never prints it)."""
    if headers.get("Authorization") != f"Bearer {TOKEN}":
        message = f"Bad credentials: {headers.get('Authorization')}"
        return 401, {"Content-Type": "application/json"}, as_json({"message": message})
    versions: list[dict[str, Any]] = fake.state["versions"]
    base = f"/{fake.state['owners']}/{OWNER}/packages/container/{fake.state['package']}/versions"
    url = urllib.parse.urlsplit(path)
    if method == "GET" and url.path == base:
        query = urllib.parse.parse_qs(url.query)
        size = min(int(query["per_page"][0]), fake.state["page"])
        number = int(query.get("page", ["1"])[0])
        page = versions[(number - 1) * size : number * size]
        links = {}
        if number * size < len(versions):
            host = fake.state.get("next_host", f"http://{fake.url}")
            links["Link"] = f'<{host}{base}?per_page=100&page={number + 1}>; rel="next", <{host}{base}>; rel="last"'
        return 200, {"Content-Type": "application/json", **links}, as_json(page)
    if method == "DELETE" and url.path.startswith(f"{base}/"):
        ident = int(url.path.rsplit("/", 1)[1])
        if ident == fake.state.get("refuse"):
            message = "Publicly visible package versions with more than 5000 downloads cannot be deleted."
            return 400, {"Content-Type": "application/json"}, as_json({"message": message})
        if any(version["id"] == ident for version in versions):
            fake.state["versions"] = [version for version in versions if version["id"] != ident]
            return 204, {}, b""
    return 404, {"Content-Type": "application/json"}, as_json({"message": "Not Found"})


def ghcr_versions() -> list[dict[str, Any]]:
    """Ten runs, newest first as GitHub lists them, each an index (tagged) with two untagged children (the amd64
    image and its attestation manifest); latest and 1.2.3 on the fourth-newest run."""
    versions: list[dict[str, Any]] = []
    tags = runs(10)
    for number, tag in enumerate(sorted(tags, reverse=True)):
        extra = ["latest", "1.2.3"] if number == 3 else []
        for name, version_tags in ((f"{tag}/attestation", []), (f"{tag}/amd64", []), (tag, [tag, *extra])):
            ident = 5000 - len(versions)  # newer versions have higher ids
            versions.append({"id": ident, "name": digest(name), "metadata": {"container": {"tags": version_tags}}})
    return versions


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fake]:
    state = {"versions": ghcr_versions(), "page": 7, "owners": "orgs", "package": PACKAGE}
    for fake in serve(Fake(state=state), github_answer):
        monkeypatch.setenv("GITHUB_API_URL", f"http://{fake.url}")
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("OWNER_TYPE", "Organization")
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        yield fake


def test_ghcr_end_to_end(github: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    before = github.state["versions"]
    tagged = [v for v in before if v["metadata"]["container"]["tags"]]
    assert prune_images.main(["--image", f"ghcr.io/{OWNER.upper()}/{PACKAGE}", "--keep", "2"]) == 0
    out = capsys.readouterr()
    # The runs after the two newest, the served fourth-newest excepted: the oldest deleted first.
    doomed = [v for number, v in enumerate(tagged) if number >= 2 and number != 3][::-1]
    base = f"/orgs/{OWNER}/packages/container/{PACKAGE}/versions"
    assert github.paths("DELETE") == [f"{base}/{v['id']}" for v in doomed]
    assert github.paths("GET") == [f"{base}?per_page=100", *(f"{base}?per_page=100&page={n}" for n in (2, 3, 4, 5))]
    untagged = [v for v in before if not v["metadata"]["container"]["tags"]]
    assert [v for v in github.state["versions"] if not v["metadata"]["container"]["tags"]] == untagged  # untouched
    lines = out.out.splitlines()
    tag = doomed[0]["metadata"]["container"]["tags"][0]
    assert (
        lines[0] == f"prune: deleted ghcr.io/{OWNER}/{PACKAGE}:{tag} (version {doomed[0]['id']}, {doomed[0]['name']})"
    )
    assert len(lines) == len(doomed) + 1
    assert ": deleted 7 image(s); kept the 2 newest stamp tag(s) and 1 served image(s) (1.2.3, latest)" in lines[-1]
    assert "left alone 0 other tag(s) and 20 untagged version(s)" in lines[-1]
    assert out.err == "" and TOKEN not in out.out
    for _, _, headers in github.calls:
        assert headers["Authorization"] == f"Bearer {TOKEN}" and headers["Accept"] == "application/vnd.github+json"


def test_ghcr_user_package_in_a_folder_and_the_job_summary(
    github: Fake, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    github.state |= {"owners": "users", "package": "crypto-predict%2Fapi"}
    monkeypatch.setenv("OWNER_TYPE", "User")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    assert prune_images.main(["--image", f"ghcr.io/{OWNER}/{PACKAGE}/api", "--keep", "8", "--dry-run"]) == 0
    assert github.paths("DELETE") == []
    assert all(path.startswith(f"/users/{OWNER}/packages/container/crypto-predict%2Fapi/versions?") for path in
               github.paths("GET"))  # fmt: skip
    assert capsys.readouterr().out.count("prune: would delete ") == 2
    assert (tmp_path / "summary.md").read_text().startswith(f"Image retention: ghcr.io/{OWNER}/{PACKAGE}/api: would")


def test_ghcr_bad_token_is_one_line_without_the_token(
    github: Fake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN + "x")  # the server echoes what it got; the message must not
    assert prune_images.main(["--image", f"ghcr.io/{OWNER}/{PACKAGE}"]) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and "Traceback" not in out.err
    assert "HTTP 401 (Bad credentials: Bearer ***)" in out.err and TOKEN not in out.err


def test_ghcr_failed_delete_stops_there_in_one_line(github: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    tagged = [v for v in github.state["versions"] if v["metadata"]["container"]["tags"]]
    github.state["refuse"] = tagged[-2]["id"]  # the second-oldest run: more than 5,000 downloads, say
    assert prune_images.main(["--image", f"ghcr.io/{OWNER}/{PACKAGE}", "--keep", "2"]) == 1
    out = capsys.readouterr()
    assert len(github.paths("DELETE")) == 2  # the oldest, then the refused one; nothing after it
    first, refused = tagged[-1], tagged[-2]
    name = f"ghcr.io/{OWNER}/{PACKAGE}"
    tag = first["metadata"]["container"]["tags"][0]
    assert out.out.splitlines() == [f"prune: deleted {name}:{tag} (version {first['id']}, {first['name']})"]
    message = "Publicly visible package versions with more than 5000 downloads cannot be deleted."
    assert out.err == f"prune: deleting version {refused['id']} of {name}: HTTP 400 ({message})\n"


def test_ghcr_settings_are_checked_before_any_request(
    github: Fake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OWNER_TYPE", "Bot")
    assert prune_images.main(["--image", f"ghcr.io/{OWNER}/{PACKAGE}"]) == 1
    monkeypatch.setenv("OWNER_TYPE", "User")
    monkeypatch.delenv("GITHUB_TOKEN")
    assert prune_images.main(["--image", f"ghcr.io/{OWNER}/{PACKAGE}"]) == 1
    assert prune_images.main(["--image", f"ghcr.io/{OWNER}"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "prune: OWNER_TYPE is 'Bot', not one of User, Organization",
        "prune: GITHUB_TOKEN is not set: GitHub's packages API needs it",
        f"prune: ghcr.io/{OWNER}: a GHCR image is ghcr.io/OWNER/PACKAGE",
    ]
    assert github.calls == []


def test_ghcr_next_page_on_another_host_is_not_followed(github: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    github.state["next_host"] = "http://127.0.0.1:9"  # the token would go there
    assert prune_images.main(["--image", f"ghcr.io/{OWNER}/{PACKAGE}"]) == 1
    assert len(github.calls) == 1 and github.paths("DELETE") == []
    assert "the next page is on another host (127.0.0.1:9): not followed" in capsys.readouterr().err


def test_a_reruns_build_is_a_stamp_tag_of_its_own() -> None:
    served, old, rerun = ("sha256:" + c * 64 for c in "abc")
    tags = {"latest": served, "0.1.0": served, "0.1.0-20251001061742": old, "0.1.0-20251001061742-r2": rerun,
            "0.1.0-20251001121742": served}  # fmt: skip
    plan = plan_pruning(tags, keep=2)
    assert [deletion.digest for deletion in plan.delete] == [old]  # the re-run's image is newer than its run's
