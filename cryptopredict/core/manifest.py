"""The manifest and each pair's model card, defined once: every field's name, type, nullability and description.

A record is a class whose attributes are its fields, in the order the manifest lists them. Naming a field through
its record gives its key, so readers write `card[PairCard.rows]` and a misspelt field fails where it is read.
`Record.make` is how training builds a record: it refuses a field unknown, missing or of the wrong type, so a
field cannot be added in one place only. `check_manifest` checks a whole manifest against the definition
(load_artifact runs it). The /model schemas are generated from these records (serving/records.py), and
tests/core/test_manifest.py checks that every field the chart page reads is declared.

Standard library only: both sides import it, and release/model_card.py runs on a bare python3.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

from cryptopredict.core.dates import format_utc, parse_utc
from cryptopredict.core.timeframe import TIMEFRAMES

# The artifact's format: which files a pair has and the records below. A server reads only its own format, so
# a change to the records that an older server or training run could not read comes with a new number.
FORMAT = 5  # 1: one pair per artifact; 2: no band file, no re-anchoring; 3: one band level (80 %); 4: no track record
# Older formats a training run still reads as its previous artifact: a format-4 pair has every model file, so it is
# re-anchored (and its forecasts scored) as usual, and its track record starts with this run's points.
PREVIOUS_FORMATS = (4,)

DATE_TIME = "date-time"  # ISO 8601 UTC with a Z, to the second, as dates.format_utc writes it

SourceKind = Literal["alpaca", "embedded", "csv"]
SOURCE_KINDS: tuple[SourceKind, ...] = get_args(SourceKind)
Update = Literal["refit", "reanchor"]
UPDATES: tuple[Update, ...] = get_args(Update)


@dataclass(frozen=True)
class ListOf:
    """A JSON array whose items are all of one kind."""

    item: Kind


@dataclass(frozen=True)
class MapOf:
    """A JSON object with free keys (pair symbols, file or package names) and values of one kind."""

    value: Kind


Kind = type | ListOf | MapOf  # str, int, float, bool, a Record subclass, or a list or map of a kind


@dataclass(frozen=True)
class Field:
    """One field of a record. Read on the record class, it is its key: `PairCard.rows == "rows"`."""

    kind: Kind
    description: str
    nullable: bool = False  # the value may be null
    optional: bool = False  # the key may be absent
    format: str | None = None
    enum: tuple[str, ...] | None = None
    example: Any = None
    name: str = field(default="", init=False)

    def __set_name__(self, owner: type, name: str) -> None:
        object.__setattr__(self, "name", name)

    def __get__(self, instance: object, owner: type | None = None) -> str:
        return self.name

    def problems(self, value: Any, where: str) -> list[str]:
        """What is wrong with `value` as this field's value; empty when nothing is."""
        if value is None:
            return [] if self.nullable else [f"{where}: is null"]
        found = _kind_problems(self.kind, value, where)
        if found:
            return found
        if self.enum is not None and value not in self.enum:
            return [f"{where}: {value!r} is not one of {', '.join(self.enum)}"]
        if self.format == DATE_TIME and not _is_utc_instant(value):
            return [f"{where}: {value!r} is not an ISO 8601 UTC instant like 2025-01-01T00:00:00Z"]
        return []


class Record:
    """A JSON object with exactly the fields declared on the subclass (see the module's docstring)."""

    fields: ClassVar[dict[str, Field]] = {}

    def __init_subclass__(cls) -> None:
        cls.fields = {name: value for name, value in vars(cls).items() if isinstance(value, Field)}

    @classmethod
    def make(cls, *, leave_out: Collection[str] = (), **values: Any) -> dict[str, Any]:
        """The record as a dict in the declared order.

        TypeError for a field that is unknown, missing or of the wrong type; `leave_out` names fields the caller
        deliberately leaves for another writer to add (write_artifact adds the manifest's `files`)."""
        unknown = sorted(set(values) - set(cls.fields))
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)}")
        record = {name: values[name] for name in cls.fields if name in values}
        problems = cls.check(record, cls.__name__, leave_out=leave_out)
        if problems:
            raise TypeError("; ".join(problems))
        return record

    @classmethod
    def check(cls, value: Any, where: str = "", *, leave_out: Collection[str] = ()) -> list[str]:
        """Every way `value` differs from this record's definition, each with its path; empty when none."""
        where = where or cls.__name__
        if not isinstance(value, Mapping):
            return [f"{where}: expected an object ({cls.__name__}), got {_type_name(value)}"]
        problems = [f"{where}.{key}: not a field of {cls.__name__}" for key in value if key not in cls.fields]
        for name, spec in cls.fields.items():
            if name in value:
                problems += spec.problems(value[name], f"{where}.{name}")
            elif not spec.optional and name not in leave_out:
                problems.append(f"{where}.{name}: missing")
        return problems


_SCALARS = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}


def _kind_problems(kind: Kind, value: Any, where: str) -> list[str]:
    if isinstance(kind, ListOf):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {_type_name(value)}"]
        return [p for i, item in enumerate(value) for p in _value_problems(kind.item, item, f"{where}[{i}]")]
    if isinstance(kind, MapOf):
        if not isinstance(value, Mapping):
            return [f"{where}: expected an object, got {_type_name(value)}"]
        return [p for key, item in value.items() for p in _value_problems(kind.value, item, f"{where}[{key!r}]")]
    if issubclass(kind, Record):
        return kind.check(value, where)
    if isinstance(value, bool):  # Python counts a bool as an int; JSON does not
        valid = kind is bool
    elif kind is float:  # JSON has one number type, an integer is a valid one; NaN and infinities are not JSON
        valid = isinstance(value, int | float) and math.isfinite(value)
    else:
        valid = isinstance(value, kind)
    return [] if valid else [f"{where}: expected {_SCALARS[kind]}, got {_type_name(value)}"]


def _value_problems(kind: Kind, value: Any, where: str) -> list[str]:
    """An item of a list or a map: never null."""
    return [f"{where}: is null"] if value is None else _kind_problems(kind, value, where)


def _type_name(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r:.40}"


def _is_utc_instant(text: str) -> bool:
    try:
        return format_utc(parse_utc(text)) == text
    except ValueError:
        return False


def instant(description: str) -> Field:
    """A field holding an instant, written as dates.format_utc writes it."""
    return Field(str, description, format=DATE_TIME)


# --- the model card ------------------------------------------------------------------------------------------


class Source(Record):
    """Where a pair's bars came from: live Alpaca bars, or a file (the embedded history or a CSV file)"""

    kind = Field(
        str,
        "Where the bars came from: alpaca (live market data), embedded (the history shipped with the service) "
        "or csv (a file)",
        enum=SOURCE_KINDS,
    )
    feed = Field(str, "Alpaca's data feed (alpaca only)", optional=True)
    url = Field(str, "The Alpaca data URL the run used, or `default` (alpaca only)", optional=True)
    path = Field(str, "The file's name (embedded and csv only)", optional=True)
    sha256 = Field(str, "The file's SHA-256, hex (embedded and csv only)", optional=True)


class LevelScores(Record):
    """The band of one level at one horizon: its nominal coverage against the share of outcomes it held"""

    level = Field(int, "The band's level: its nominal coverage in percent (the API's `level`)", example=95)
    nominal = Field(float, "The band's nominal coverage", example=0.95)
    coverage = Field(float, "Share of outcomes inside the band; null when too few errors calibrate one", nullable=True)
    width = Field(float, "Mean band width / forecast; null when too few errors calibrate a band", nullable=True)
    tolerance = Field(
        float,
        "How far from `nominal` the gate let `coverage` fall: the gate's `max_coverage_gap`, or two standard errors "
        "of a calibrated band's coverage over the horizon's `independent` outcomes if wider; null on the naive "
        "forecast's bands, which the gate does not judge",
        nullable=True,
        example=0.07,
    )


class Scores(Record):
    """One forecast's scores at one horizon, over the scored origins"""

    mape = Field(float, "Mean absolute percentage error (0.05 = 5 %)")
    mase = Field(float, "Mean absolute error relative to naive")
    coverage = Field(
        float,
        "Share of outcomes inside the band of the card's `interval` (the default level); null when too few errors "
        "calibrate one",
        nullable=True,
    )
    width = Field(
        float,
        "Mean width / forecast of the band of the card's `interval`; null when too few errors calibrate a band",
        nullable=True,
    )
    levels = Field(ListOf(LevelScores), "Every level's band, from the narrowest to the widest")


class HorizonScores(Record):
    """The backtest at one horizon: the model and the naive forecast side by side"""

    horizon = Field(int, "Bars ahead")
    unit = Field(str, "The bar's unit", enum=tuple(t.unit for t in TIMEFRAMES.values()), example="day")
    origins = Field(int, "Forecast origins scored at this horizon")
    independent = Field(
        int,
        "Non-overlapping horizon-long windows among the origins whose band was scored: how many independent "
        "outcomes the band coverage is measured on",
        example=24,
    )
    mape_ratio = Field(float, "Model MAPE / naive MAPE")
    model = Field(Scores, "The model's scores")
    naive = Field(Scores, "The last close, carried forward")


class Backtest(Record):
    """The rolling-origin backtest of the last refit"""

    origins = Field(int, "Forecast origins scored")
    refits = Field(int, "Model refits whose forecasts are scored")
    warmup_refits = Field(int, "Earlier refits whose errors only calibrate the band")
    first_scored_origin = instant("The first scored forecast origin (a bar's start)")
    last_origin = instant("The last forecast origin (a bar's start)")
    band = Field(str, "How the band is calibrated")
    horizons = Field(ListOf(HorizonScores), "One row per reported horizon")


class ModelDescription(Record):
    """The model's settings"""

    timeframe = Field(str, "The bar length", enum=tuple(TIMEFRAMES))
    damping = Field(float, "The factor on Prophet's trend change from the last close, chosen by the backtest")
    changepoint_prior_scale = Field(float, "Prophet's changepoint prior scale: smaller is a stiffer trend")
    fit_window_days = Field(int, "Days of bars the Prophet fit sees")
    target = Field(str, "What Prophet is fitted on", example="log close")


class Gate(Record):
    """The quality gate's thresholds and its verdict on the last refit"""

    max_mape_ratio = Field(float, "The largest model/naive MAPE ratio allowed at any horizon")
    min_coverage = Field(float, "The smallest coverage allowed for the band of the card's `interval`, at any horizon")
    max_coverage = Field(float, "The largest coverage allowed for the band of the card's `interval`, at any horizon")
    max_coverage_gap = Field(
        float, "The largest distance allowed between each level's band coverage and its nominal one, at any horizon"
    )
    passed = Field(bool, "Whether the model cleared every threshold")
    failures = Field(ListOf(str), "Every failed check, readable; empty when it passed")


class PairCard(Record):
    """One pair's model card: what was trained, on what, when, with which packages, and how it scored"""

    model_version = Field(str, "This pair's model version: when its forecast was made, and its file's hash")
    symbol = Field(str, "The pair, as Alpaca writes it", example="BTC/USD")
    timeframe = Field(str, "The bar length the model was trained on", enum=tuple(TIMEFRAMES))
    interval = Field(float, "Nominal coverage of the band", example=0.8)
    horizon_days = Field(int, "How many days past the newest bar the forecast reaches")
    source = Field(Source, "Where the bars came from")
    first_bar = instant("First bar of the Prophet fit's window")
    fit_last_bar = instant("Last bar of the Prophet fit's window")
    rows = Field(int, "Bars in the Prophet fit's window")
    last_bar = instant("The newest bar (its start): the forecast is anchored at its close")
    fitted_at = instant("When the backtest, gate and Prophet fit ran")
    update = Field(
        str,
        "What the run that made this forecast did: refitted, or re-anchored the stored fit",
        enum=UPDATES,
    )
    trained_at = instant("When this forecast was made")
    trained_until = instant("Only bars closed by then were used")
    git_commit = Field(str, "The commit of the code that made the fit; null when not known", nullable=True)
    model = Field(ModelDescription, "The model's settings")
    backtest = Field(Backtest, "The rolling-origin backtest of the last refit")
    gate = Field(Gate, "The quality gate's verdict on the last refit")
    packages = Field(MapOf(str), "Versions of Python and the training packages, by name (absent: not installed)")


# --- the manifest --------------------------------------------------------------------------------------------


class RunOutcome(Record):
    """What the training run that published the artifact did with each pair"""

    updated = Field(ListOf(str), "Pairs refitted or re-anchored on new bars")
    unchanged = Field(ListOf(str), "Pairs with no new bar and no refit due: their stored model stands as it was")
    kept = Field(MapOf(str), "Pairs that failed and kept their previous model, with the reason")
    dropped = Field(MapOf(str), "Pairs that failed with no previous model to keep, with the reason")


class FileEntry(Record):
    """One file of the artifact"""

    sha256 = Field(str, "SHA-256 of its bytes, hex")
    bytes = Field(int, "Its size in bytes")


class Manifest(Record):
    """The artifact: a model card per pair, what the last training run did, and the checksum of every file"""

    format = Field(int, "The artifact's format: a server reads only its own", example=FORMAT)
    model_version = Field(str, "The artifact's version: changes whenever any pair's does")
    published_at = instant("When the artifact was published")
    git_commit = Field(str, "The commit of the code that published it; null when not known", nullable=True)
    pairs = Field(MapOf(PairCard), "Each pair's model card, by symbol")
    run = Field(RunOutcome, "What the last training run did")
    files = Field(MapOf(FileEntry), "Every file of the artifact, by name, with its checksum")


def check_manifest(manifest: Any) -> list[str]:
    """Every way `manifest` differs from the definition (a field missing, unknown, of the wrong type or null
    where it may not be, at any depth), each with its path; empty when it matches."""
    problems = Manifest.check(manifest, "manifest")
    if isinstance(manifest, Mapping) and isinstance(manifest.get(Manifest.pairs), Mapping):
        for symbol, card in manifest[Manifest.pairs].items():
            if isinstance(card, Mapping) and card.get(PairCard.symbol) != symbol:
                problems.append(f"manifest.pairs[{symbol!r}].symbol: is {card.get(PairCard.symbol)!r}")
    return problems
