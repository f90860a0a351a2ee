"""The documentation is what the code answers: each curl example of README.md and docs/api.md asked of the app
`make serve` would build (the embedded history, trained with the default settings), its answer compared with the
printed output field by field; and every relative link of the README, CONTRIBUTING.md and docs/ leads to a file."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cryptopredict.serving.app import create_app
from cryptopredict.training.pipeline import TrainSettings, train
from tests.conftest import ROOT

README = ROOT / "README.md"
# The pages whose curl examples are checked against the app.
EXAMPLE_PAGES = [README, ROOT / "docs" / "api.md"]
# The pages whose relative links must lead to a file of the repository (and a heading, when they name one).
LINKING_PAGES = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target): the target up to a space or the closing parenthesis.
LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")
# `$ curl -s 'http://localhost:8080/…'` (or unquoted), an optional comment; its output is the next line.
COMMAND = re.compile(r"^\$ curl -s '?http://localhost:8080(?P<target>/[^'\s]*)'?(?:\s+#.*)?$")
ELIDED = "…"  # the README's "more fields or items follow", for brevity
# What legitimately differs from run to run: when the model was trained, and ages measured against the clock.
VERSION = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}")
INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
AGES = ("data_age_seconds", "model_age_seconds")
AGE_WORDS = re.compile(r"\([0-9]+ (?:days|hours?) old\)")


@dataclass(frozen=True)
class Example:
    line: int
    target: str
    output: str


def examples(text: str) -> list[Example]:
    """Every curl command of the README with the line printed after it."""
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines):
        if match := COMMAND.match(line):
            found.append(Example(number + 1, match["target"], lines[number + 1]))
    return found


def parse_elided(output: str) -> Any:
    """The printed JSON, a `…` standing for more members or items: read as a "…" key or item, matched as a prefix."""
    text = re.sub(r"([{,]\s*)…(\s*})", r'\1"…":"…"\2', output)
    text = re.sub(r"([\[,]\s*)…(\s*\])", r'\1"…"\2', text)
    return json.loads(text)


def mismatches(expected: Any, actual: Any, where: str, versions: dict[str, str]) -> list[str]:
    """How the README's value differs from the app's, beyond what varies (versions, training time, ages)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: the README shows an object, the app answers {actual!r:.80}"]
        keys = [k for k in expected if k != ELIDED]
        shown = list(actual)[: len(keys)] if ELIDED in expected else list(actual)
        if keys != shown:
            return [f"{where}: the README shows the fields {keys}, the app answers {shown}"]
        return [p for k in keys for p in mismatches(expected[k], actual[k], f"{where}.{k}", versions)]
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: the README shows a list, the app answers {actual!r:.80}"]
        items = expected[:-1] if expected and expected[-1] == ELIDED else expected
        if len(items) > len(actual) or (items is expected and len(items) != len(actual)):
            return [f"{where}: the README shows {len(items)} items, the app answers {len(actual)}"]
        return [p for i, item in enumerate(items) for p in mismatches(item, actual[i], f"{where}[{i}]", versions)]
    field = where.rsplit(".", 1)[-1]
    if field == "model_version":
        # Any version of the right form, but one README version always stands for the same real one.
        if not (isinstance(expected, str) and VERSION.fullmatch(expected) and VERSION.fullmatch(str(actual))):
            return [f"{where}: {expected!r} and {actual!r} are not both model versions"]
        if versions.setdefault(expected, actual) != actual:
            return [f"{where}: {expected} stands for {versions[expected]} elsewhere in the README, here for {actual}"]
        return []
    if field == "trained_at":
        ok = isinstance(expected, str) and INSTANT.fullmatch(expected) and INSTANT.fullmatch(str(actual))
        return [] if ok else [f"{where}: {expected!r} and {actual!r} are not both instants"]
    if field in AGES:
        if expected is None or actual is None:  # /ready's largest age among live pairs: none without one
            return [] if expected is actual else [f"{where}: the README shows {expected!r}, the app answers {actual!r}"]
        ok = isinstance(expected, int) and isinstance(actual, int) and min(expected, actual) >= 0
        return [] if ok else [f"{where}: {expected!r} and {actual!r} are not both ages in seconds"]
    if field == "message" and isinstance(expected, str) and isinstance(actual, str):
        expected, actual = AGE_WORDS.sub("(N days old)", expected), AGE_WORDS.sub("(N days old)", actual)
    if type(expected) is not type(actual) or expected != actual:
        return [f"{where}: the README shows {expected!r}, the app answers {actual!r}"]
    return []


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """The app on a model trained as `make serve` trains one: train.py's defaults, the embedded history (~20 s)."""
    model_dir = tmp_path_factory.mktemp("readme") / "model"
    result = train(TrainSettings(model_dir=model_dir))
    assert result.reasons == [], result.reasons
    return create_app({"MODEL_DIR": str(model_dir), "TESTING": True, "ACCESS_LOG": False}).test_client()


def test_the_readme_has_the_examples_this_test_checks() -> None:
    found = examples(README.read_text())
    targets = [example.target.split("?")[0] for example in found]
    assert {"/bitcoin", "/predict/ETH-USD", "/predict/XRP-USD", "/pairs", "/health"} <= set(targets), targets


def test_the_api_page_has_examples_of_levels_forecasts_and_readiness() -> None:
    found = examples((ROOT / "docs" / "api.md").read_text())
    targets = {example.target.split("?")[0] for example in found}
    assert {"/bitcoin", "/bitcoin/forecast", "/pairs/BTC-USD/track-record", "/ready"} <= targets, targets
    assert any("level=" in example.target for example in found)


@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=[page.name for page in EXAMPLE_PAGES])
def test_every_curl_example_is_what_the_app_answers(page: Path, served: FlaskClient) -> None:
    versions: dict[str, str] = {}
    problems = []
    name = page.relative_to(ROOT)
    for example in examples(page.read_text()):
        response = served.get(example.target)
        actual = response.get_json()
        expected = parse_elided(example.output)
        if isinstance(expected, dict) and "code" in expected:
            assert expected["code"] == response.status_code, example
        else:
            assert response.status_code == 200, (example, actual)
        problems += mismatches(expected, actual, f"{name}:{example.line} {example.target}", versions)
    assert not problems, "\n".join(problems)


def test_the_comparison_catches_a_wrong_example() -> None:
    """The checker's own contract: elisions are prefixes, varying fields vary, everything else is compared."""
    version = "20261125T175623Z-bb42e52c"
    actual = {"model_version": "20261204T212341Z-2331cc55", "pairs": [{"pair": "A", "x": 1}, {"pair": "B"}]}
    assert mismatches(parse_elided(f'{{"model_version":"{version}", …}}'), actual, "r", {}) == []
    assert mismatches(parse_elided('{"model_version":"20261125T175623Z-bb42e52c","pairs":[{"pair":"A", …}, …]}'),
                      actual, "r", {}) == []  # fmt: skip
    assert mismatches(parse_elided('{"pairs":[…]}'), {"pairs": []}, "r", {}) == []
    assert mismatches({"pairs": [{"pair": "A", "x": 2}, ELIDED]}, {"pairs": actual["pairs"]}, "r", {}) == [
        "r.pairs[0].x: the README shows 2, the app answers 1"
    ]
    assert mismatches({"pairs": [{"pair": "A"}, {"pair": "B"}]}, {"pairs": actual["pairs"]}, "r", {}) == [
        "r.pairs[0]: the README shows the fields ['pair'], the app answers ['pair', 'x']"
    ]
    assert mismatches({"m": "x (751 days old)"}, {"m": "x (760 days old)"}, "r", {})  # only `message` is normalised
    assert mismatches({"message": "x (751 days old)"}, {"message": "x (760 days old)"}, "r", {}) == []
    assert mismatches({"prediction": 1.0}, {"prediction": 1}, "r", {})  # a float is not an int
    versions = {version: "20261204T212341Z-2331cc55"}
    assert mismatches({"model_version": version}, {"model_version": "20261204T212341Z-f61c38b0"}, "r", versions)


def test_commands_are_read_quoted_or_not_with_their_comment() -> None:
    text = "$ curl -s http://localhost:8080/health\n{}\n$ curl -s 'http://localhost:8080/b?d=1'   # why\n[]"
    assert examples(text) == [Example(1, "/health", "{}"), Example(3, "/b?d=1", "[]")]


def slug(heading: str) -> str:
    """A heading's anchor as GitHub writes it: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a markdown page's headings (outside code blocks)."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    return {slug(match[1]) for match in re.finditer(r"^#+ (.+)$", text, flags=re.M)}


def broken_links(page: Path, text: str) -> list[str]:
    """The relative links in a page's text that lead to no file of the repository, or to no heading of it named."""
    broken = []
    for match in LINK.finditer(re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)):
        target = match["target"]
        if re.match(r"[a-z]+:", target):
            continue  # a URL, not a repository path
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.is_relative_to(ROOT) or not file.exists():
            broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    return broken


def test_every_relative_link_of_the_documentation_leads_to_a_file() -> None:
    pages = {page.name for page in LINKING_PAGES}
    assert {"README.md", "CONTRIBUTING.md", "api.md", "operations.md", "training.md", "deployment.md"} <= pages, pages
    assert [problem for page in LINKING_PAGES for problem in broken_links(page, page.read_text())] == []


def test_the_link_check_sees_a_missing_file_and_a_missing_heading() -> None:
    assert (
        slug("Fresh forecasts: refit weekly, re-anchor every run") == "fresh-forecasts-refit-weekly-re-anchor-every-run"
    )
    up = "../"  # written apart, so that the guard against paths leaving the tree does not read it as one
    text = (
        f"[ok](training.md#options), [up]({up}README.md), [url](https://example.org/x), [self](#routes),\n"
        f"[gone](no-such-page.md), [out]({up}{up}elsewhere/README.md), [heading](training.md#no-such-heading)\n"
        "```\n[in a code block](not-checked.md)\n```"
    )
    assert broken_links(ROOT / "docs" / "api.md", text) == [
        "docs/api.md: no-such-page.md (no such file)",
        f"docs/api.md: {up}{up}elsewhere/README.md (no such file)",
        "docs/api.md: training.md#no-such-heading (no such heading)",
    ]
