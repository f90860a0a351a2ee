"""The manifest's one definition (cryptopredict/core/manifest.py): what training writes, what /model documents and what
the chart page reads all follow it."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Annotated, Any, TypedDict, get_args, get_origin, is_typeddict

import pytest
from flask.testing import FlaskClient

from cryptopredict.core import manifest as definition
from cryptopredict.core.artifact import ArtifactError, load_artifact, read_verified_files, write_artifact
from cryptopredict.core.manifest import (
    Gate,
    HorizonScores,
    Manifest,
    PairCard,
    RunOutcome,
    Scores,
    Source,
    check_manifest,
)
from cryptopredict.core.typed_json import build, fields_of
from cryptopredict.serving.schemas import SERVED_PAIRS
from cryptopredict.training.pipeline import train
from tests.conftest import SMALL_HOURLY_UNTIL, small_hourly_settings

ROOT = Path(__file__).resolve().parents[2]
CHART_JS = ROOT / "cryptopredict" / "serving" / "static" / "chart.js"
RECORDS = [value for value in vars(definition).values() if is_typeddict(value)]


def read_manifest(model_dir: Path) -> dict[str, Any]:
    return json.loads((model_dir / "manifest.json").read_text())


def republish(model_dir: Path, manifest: dict[str, Any]) -> None:
    """Write `manifest` over the artifact in `model_dir` with fresh checksums, as training would."""
    _, files = read_verified_files(model_dir)
    write_artifact(model_dir, files, {key: value for key, value in manifest.items() if key != "files"})


# --- freshly written manifests match the definition ----------------------------------------------------------


@pytest.mark.parametrize("fixture", ["trained_model_dir", "hourly_model_dir", "mixed_model_dir"])
def test_a_freshly_written_manifest_matches_the_definition(fixture: str, request: pytest.FixtureRequest) -> None:
    manifest = read_manifest(request.getfixturevalue(fixture))
    assert check_manifest(manifest) == []
    for card in manifest["pairs"].values():
        assert list(card) == list(fields_of(PairCard))  # every field, in the declared order
        assert list(card["backtest"]["horizons"][0]) == list(fields_of(HorizonScores))


def test_a_reanchored_manifest_matches_the_definition(hourly_model_dir: Path, tmp_path: Path) -> None:
    model_dir = Path(shutil.copytree(hourly_model_dir, tmp_path / "model"))
    fitted = read_manifest(model_dir)["pairs"]["BTC/USD"]
    result = train(small_hourly_settings(model_dir, until=SMALL_HOURLY_UNTIL + dt.timedelta(hours=6)))
    manifest = read_manifest(model_dir)
    card = manifest["pairs"]["BTC/USD"]
    assert result.manifest == manifest
    assert card["update"] == "reanchor" and card["fitted_at"] == fitted["fitted_at"]
    assert check_manifest(manifest) == []


# --- a manifest that differs from it is refused ----------------------------------------------------------------


def test_a_missing_an_unknown_or_a_mistyped_field_is_named_with_its_path(trained_model_dir: Path) -> None:
    good = read_manifest(trained_model_dir)
    broken = copy.deepcopy(good)
    btc = broken["pairs"]["BTC/USD"]
    del btc["rows"]
    btc["backtest"]["horizons"][1]["model"]["sharpe"] = 1.5
    btc["gate"]["passed"] = "yes"
    btc["source"]["kind"] = "ftp"
    broken["pairs"]["ETH/USD"]["backtest"]["horizons"][0]["naive"]["mape"] = float("nan")
    broken["pairs"]["ETH/USD"]["trained_at"] = "2024-11-03"
    broken["run"]["kept"] = {"XRP/USD": None}
    del broken["published_at"]
    assert sorted(check_manifest(broken)) == sorted(
        [
            "manifest.published_at: missing",
            "manifest.pairs['BTC/USD'].rows: missing",
            "manifest.pairs['BTC/USD'].backtest.horizons[1].model.sharpe: not a field of Scores",
            "manifest.pairs['BTC/USD'].gate.passed: expected a boolean, got str 'yes'",
            "manifest.pairs['BTC/USD'].source.kind: 'ftp' is not one of alpaca, embedded, csv",
            "manifest.pairs['ETH/USD'].backtest.horizons[0].naive.mape: expected a number, got float nan",
            "manifest.pairs['ETH/USD'].trained_at: '2024-11-03' is not an ISO 8601 UTC instant like "
            "2025-01-01T00:00:00Z",
            "manifest.run.kept['XRP/USD']: is null",
        ]
    )
    assert check_manifest(good) == []  # the copy was deep: the original is untouched


def test_null_is_refused_except_where_declared(trained_model_dir: Path) -> None:
    manifest = read_manifest(trained_model_dir)
    manifest["git_commit"] = None  # declared nullable (no commit known)
    manifest["pairs"]["BTC/USD"]["backtest"]["horizons"][0]["model"]["coverage"] = None  # too few errors
    assert check_manifest(manifest) == []
    manifest["pairs"]["BTC/USD"]["backtest"]["horizons"][0]["model"]["mape"] = None
    assert check_manifest(manifest) == ["manifest.pairs['BTC/USD'].backtest.horizons[0].model.mape: is null"]


def test_a_card_filed_under_another_symbol_is_refused(trained_model_dir: Path) -> None:
    manifest = read_manifest(trained_model_dir)
    manifest["pairs"]["BTC/USD"]["symbol"] = "ETH/USD"
    assert check_manifest(manifest) == ["manifest.pairs['BTC/USD'].symbol: is 'ETH/USD'"]


@pytest.mark.parametrize("change", ["remove", "add"])
def test_the_server_refuses_a_manifest_with_a_field_removed_or_added(model_dir: Path, change: str) -> None:
    manifest = read_manifest(model_dir)
    card = manifest["pairs"]["ETH/USD"]
    if change == "remove":
        del card["trained_until"]
        expected = r"manifest's definition: manifest.pairs\['ETH/USD'\].trained_until: missing"
    else:
        card["backtest"]["calibration"] = "conformal"
        expected = r"manifest's definition: manifest.pairs\['ETH/USD'\].backtest.calibration: not a field of Backtest"
    republish(model_dir, manifest)
    with pytest.raises(ArtifactError, match=expected):
        load_artifact(model_dir)


# --- records are built through the definition -----------------------------------------------------------------

LEVEL_SCORES = [{"level": 50, "nominal": 0.5, "coverage": 0.52, "width": 0.03, "tolerance": 0.07}]
SCORES = {"mape": 0.05, "mase": 1.0, "coverage": 0.8, "width": None, "levels": LEVEL_SCORES}


def test_make_refuses_an_unknown_a_missing_or_a_mistyped_field() -> None:
    assert build(Scores, **SCORES) == SCORES
    with pytest.raises(TypeError, match="Scores has no field sharpe"):
        build(Scores, **SCORES, sharpe=1.2)
    with pytest.raises(TypeError, match=r"Scores\.width: missing"):
        build(Scores, mape=0.05, mase=1.0, coverage=0.8, levels=LEVEL_SCORES)
    with pytest.raises(TypeError, match=r"Scores\.mase: expected a number, got str"):
        build(Scores, **{**SCORES, "mase": "1.0"})
    with pytest.raises(TypeError, match=r"Scores\.levels\[0\]\.coverage: expected a number, got str"):
        build(Scores, **{**SCORES, "levels": [{**LEVEL_SCORES[0], "coverage": "52 %"}]})
    with pytest.raises(TypeError, match=r"Gate\.failures\[0\]: expected a string, got int"):
        build(
            Gate,
            max_mape_ratio=1.1,
            min_coverage=0.7,
            max_coverage=0.9,
            max_coverage_gap=0.07,
            passed=False,
            failures=[3],
        )


def test_make_lists_fields_in_the_declared_order_and_leaves_out_only_what_it_is_told() -> None:
    scores = build(Scores, levels=[], width=0.1, coverage=None, mase=1.0, mape=0.05)
    assert list(scores) == ["mape", "mase", "coverage", "width", "levels"]
    run = build(RunOutcome, updated=["BTC/USD"], unchanged=[], kept={}, dropped={})
    partial = dict(format=definition.FORMAT, model_version="v", published_at="2025-01-01T00:00:00Z", git_commit=None)
    made = build(Manifest, leave_out={"files"}, **partial, pairs={}, run=run)
    assert "files" not in made
    with pytest.raises(TypeError, match=r"Manifest\.files: missing"):
        build(Manifest, **partial, pairs={}, run=run)


def test_a_source_holds_only_the_fields_of_its_kind() -> None:
    live = build(Source, kind="alpaca", feed="us", url="default")
    assert live == {"kind": "alpaca", "feed": "us", "url": "default"}
    with pytest.raises(TypeError, match=r"Source\.kind: missing"):
        build(Source, path="btc-usd-1d.csv", sha256="0" * 64)


def test_a_field_without_exactly_one_description_is_refused() -> None:
    class Bare(TypedDict):
        rows: int

    class Twice(TypedDict):
        rows: Annotated[int, "Bars", "Bars again"]

    for record in (Bare, Twice):
        with pytest.raises(TypeError, match="field rows: declare it as Annotated"):
            fields_of(record)


def test_every_field_is_described() -> None:
    assert {record.__name__ for record in RECORDS} == {
        "Source", "LevelScores", "Scores", "HorizonScores", "Backtest", "ModelDescription", "Gate", "PairCard",
        "RunOutcome", "FileEntry", "Manifest",
    }  # fmt: skip
    for record in RECORDS:
        assert record.__doc__, record
        for name, spec in fields_of(record).items():
            assert len(spec.description) > 8, (record, name)


# --- /model's schemas are generated from it -----------------------------------------------------------------


def _openapi_type(kind: Any) -> dict[str, Any]:
    if get_origin(kind) is list:
        return {"type": "array", "items": _openapi_type(*get_args(kind))}
    if get_origin(kind) is dict:
        return {"type": "object", "additionalProperties": _openapi_type(get_args(kind)[1])}
    if is_typeddict(kind):
        return {"$ref": f"#/components/schemas/{kind.__name__}"}
    return {"type": {str: "string", int: "integer", float: "number", bool: "boolean"}[kind]}


def test_the_model_schemas_are_the_definition(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert spec["paths"]["/model"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Manifest"
    }
    for record in RECORDS:
        schema = schemas[record.__name__]
        assert set(schema["properties"]) == set(fields_of(record)), record
        assert set(schema["required"]) == {name for name, spec in fields_of(record).items() if not spec.optional}
        assert schema["additionalProperties"] is False
        for name, spec in fields_of(record).items():
            documented = schema["properties"][name]
            kind = documented["allOf"][0] if "allOf" in documented else documented
            assert {key: kind[key] for key in _openapi_type(spec.kind)} == _openapi_type(spec.kind), (record, name)
            # /model keys pairs by path form (ETH-USD), not by symbol as the file does, and says so.
            served = SERVED_PAIRS if (record, name) == (Manifest, "pairs") else spec.description
            assert documented["description"] == served
            assert documented.get("nullable", False) is spec.nullable
            assert documented.get("enum") == (list(spec.enum) if spec.enum else None)
            assert documented.get("format") == spec.format


def test_pairs_and_ready_restate_card_fields_as_the_definition_describes_them(client: FlaskClient) -> None:
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    summary, readiness = schemas["PairSummary"]["properties"], schemas["PairReadiness"]["properties"]
    for name in ("model_version", "trained_at", "timeframe", "interval", "last_bar", "symbol"):
        assert summary[name]["description"] == fields_of(PairCard)[name].description, name
    assert summary["gate_passed"]["description"] == fields_of(Gate)["passed"].description
    assert (
        summary["source"]["description"] == readiness["source"]["description"] == fields_of(Source)["kind"].description
    )
    artifact_version = fields_of(Manifest)["model_version"].description
    assert schemas["PairList"]["properties"]["model_version"]["description"] == artifact_version
    assert schemas["Readiness"]["properties"]["model_version"]["description"] == artifact_version


# --- the chart page reads only declared fields -----------------------------------------------------------------

_ANNOTATION = re.compile(r"@param \{(\w+)\} (\w+)|@type \{(\w+)\} \*/ (?:let|const|var) (\w+)")
_CHAIN = r"(?:\.\w+|\[[^\[\]]*\])+"
_READ = re.compile(rf"(?<![\w$.])(\w+)({_CHAIN})")
_COMMENT = re.compile(r"/\*.*?\*/|(?:^|(?<=\s))//[^\n]*", re.DOTALL | re.MULTILINE)
_ALIAS = re.compile(rf"(?:const|let|var) (\w+) = (\w+{_CHAIN});|for \((?:const|let) (\w+) of (\w+{_CHAIN})\)")


def _deref(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    if "allOf" in schema:
        schema = schema["allOf"][0]
    if "$ref" in schema:
        return schemas[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _resolve(schema: dict[str, Any], chain: str, schemas: dict[str, Any]) -> tuple[dict[str, Any] | None, str, str]:
    """The schema `chain` (".backtest.horizons", "[key]") reaches from `schema` (None if it reaches none), why not,
    and the part of `chain` that reads fields (without a trailing method of a string or an array: slice, map)."""
    read = ""
    for segment in re.findall(r"\.\w+|\[[^\[\]]*\]", chain):
        schema = _deref(schema, schemas)
        if segment.startswith("["):
            if schema.get("type") == "array":
                schema = schema["items"]
            elif isinstance(schema.get("additionalProperties"), dict):
                schema = schema["additionalProperties"]
            else:
                return None, f"indexes {segment} into what is not a list or a map", read
        elif "properties" in schema:
            if segment[1:] not in schema["properties"]:
                return None, f"{segment[1:]} is not declared", read
            schema = schema["properties"][segment[1:]]
        elif isinstance(schema.get("additionalProperties"), dict):
            schema = schema["additionalProperties"]
        else:
            break  # a string's or an array's own method or property: slice, toFixed, length, map
        read += segment
    return _deref(schema, schemas), "", read


def undeclared_reads(source: str, schemas: dict[str, Any]) -> tuple[list[str], set[str]]:
    """Every field chart.js reads from a variable typed in JSDoc, or assigned from one (`const bt = card.backtest`,
    `for (const row of bt.horizons)`), that the OpenAPI document does not declare; and every read checked.

    Variables are matched by name across the file, so one name must always hold the same schema."""
    problems: list[str] = []
    types: dict[str, dict[str, Any]] = {}

    def assign(name: str, schema: dict[str, Any] | None) -> None:
        if schema is not None and types.setdefault(name, schema) is not schema:
            problems.append(f"{name} holds different schemas in different places: give them different names")

    for match in _ANNOTATION.finditer(source):
        type_name, name = (match[1], match[2]) if match[1] else (match[3], match[4])
        if type_name not in schemas:
            problems.append(f"{name}: no schema {type_name} in the OpenAPI document")
        assign(name, schemas.get(type_name))
    code = _COMMENT.sub(" ", source)  # comments may name files (manifest.py) or fields in prose
    for _ in range(3):  # aliases of aliases
        for match in _ALIAS.finditer(code):
            name, chain, item = (match[1], match[2], False) if match[1] else (match[3], match[4], True)
            root = re.match(r"\w+", chain)[0]  # type: ignore[index]
            if root in types:
                schema, _, _ = _resolve(types[root], chain[len(root) :], schemas)
                if schema is not None and item:
                    schema = _deref(schema["items"], schemas) if schema.get("type") == "array" else None
                assign(name, schema)
    checked = set()
    for match in _READ.finditer(code):
        name, chain = match[1], match[2]
        if name in types:
            schema, why, read = _resolve(types[name], chain, schemas)
            if schema is None:
                problems.append(f"{name}{chain}: {why}")
            checked.add(name + read)
    return problems, checked


def test_the_chart_page_reads_only_fields_the_api_declares(client: FlaskClient) -> None:
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    problems, checked = undeclared_reads(CHART_JS.read_text(), schemas)
    assert problems == []
    # The check sees the card through each name the page gives it: the card, its source, its backtest, a row.
    assert {
        "card.fit_last_bar", "source.path", "bt.first_scored_origin", "row.model.levels", "row.mape_ratio",
        "manifest.pairs[pair]", "summary.bar_seconds", "range.points", "first.model.levels",
    } <= checked  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "problem"),
    [
        ("bt.refits", "bt.refit_count", "bt.refit_count: refit_count is not declared"),
        ("row.model.mape", "row.model.mean_error", "row.model.mean_error: mean_error is not declared"),
        ("source.path", "source.file", "source.file: file is not declared"),
        ("card.rows", "card.bars", "card.bars: bars is not declared"),
        ("@param {PairCard} card */", "@param {ModelCard} card */", "card: no schema ModelCard"),
    ],
)
def test_the_chart_check_finds_a_field_the_api_does_not_declare(
    client: FlaskClient, before: str, after: str, problem: str
) -> None:
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    source = CHART_JS.read_text()
    assert before in source
    problems, _ = undeclared_reads(source.replace(before, after, 1), schemas)
    assert any(p.startswith(problem) for p in problems), problems
