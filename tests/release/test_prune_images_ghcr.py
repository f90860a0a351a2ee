"""Image retention (release/prune_images.py) on GHCR end to end through main() against a fake of GitHub's
packages API on 127.0.0.1 (paginated versions, DELETE, the token checked)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from release import prune_images
from tests.release.prune_fakes import Fake, as_json, digest, runs, serve

TOKEN = "ghs_fakeTokenThatMustNeverBePrinted0123"
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
