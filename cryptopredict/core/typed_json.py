"""Typed JSON objects: declared once as TypedDicts, built and checked here, documented from the same declaration.

A field is declared with its type and, in `Annotated`, its description and optional markers:

    class FileEntry(TypedDict):
        sha256: Annotated[str, "SHA-256 of its bytes, hex"]
        bytes: Annotated[int, "Its size in bytes", Example(1024)]
        note: NotRequired[Annotated[str | None, "May be absent, and null"]]

The types are str, int, float, bool, a `Literal` of strings, another TypedDict, `list[...]` and `dict[str, ...]`;
`X | None` may be null, `NotRequired[...]` may be absent, `Instant` is an ISO 8601 UTC instant as dates.format_utc
writes it. A value stays a plain dict, so reading and writing JSON needs no conversion: `build` is how a writer
makes one (in the declared order, refusing a field unknown, missing or of the wrong type) and `problems` how a
reader checks one it loaded. serving/records.py generates the OpenAPI schemas from `fields_of`.

Standard library only: both sides import it, and the release steps run it on a bare python3.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, NotRequired, Union, get_args, get_origin, is_typeddict

from cryptopredict.core.dates import format_utc, parse_utc

DATE_TIME = "date-time"  # ISO 8601 UTC with a Z, to the second, as dates.format_utc writes it


@dataclass(frozen=True)
class Format:
    """The OpenAPI format of a string field."""

    name: str


@dataclass(frozen=True)
class Example:
    """An example value for the OpenAPI document."""

    value: Any


Instant = Annotated[str, Format(DATE_TIME)]


@dataclass(frozen=True)
class FieldSpec:
    """One declared field, read from its annotation. `kind` is str, int, float, bool, a TypedDict, `list[kind]` or
    `dict[str, kind]`."""

    kind: Any
    description: str
    nullable: bool = False  # the value may be null
    optional: bool = False  # the key may be absent
    format: str | None = None
    enum: tuple[str, ...] | None = None
    example: Any = None


@cache
def fields_of(record: type) -> dict[str, FieldSpec]:
    """The TypedDict's fields, in the declared order."""
    hints = typing.get_type_hints(record, include_extras=True)
    return {name: _spec_of(name, hint) for name, hint in hints.items()}


def _spec_of(name: str, hint: Any) -> FieldSpec:
    optional = get_origin(hint) is NotRequired
    kind, markers = _unwrap(get_args(hint)[0] if optional else hint)
    nullable = get_origin(kind) in (Union, types.UnionType) and type(None) in get_args(kind)
    if nullable:
        (kind,) = [arg for arg in get_args(kind) if arg is not type(None)]
        kind, more = _unwrap(kind)  # Instant | None: the instant's own markers
        markers += more
    descriptions = [m for m in markers if isinstance(m, str)]
    if len(descriptions) != 1:
        raise TypeError(f"field {name}: declare it as Annotated[type, description], with one description")
    enum = get_args(kind) if get_origin(kind) is Literal else None
    return FieldSpec(
        str if enum else kind,
        descriptions[0],
        nullable=nullable,
        optional=optional,
        format=next((m.name for m in markers if isinstance(m, Format)), None),
        enum=enum,
        example=next((m.value for m in markers if isinstance(m, Example)), None),
    )


def _unwrap(hint: Any) -> tuple[Any, list[Any]]:
    """The type inside `Annotated` and its markers (none if it is not annotated)."""
    if get_origin(hint) is Annotated:
        kind, *markers = get_args(hint)
        return kind, markers
    return hint, []


def build(record: type, *, leave_out: Collection[str] = (), **values: Any) -> dict[str, Any]:
    """The record as a dict in the declared order.

    TypeError for a field that is unknown, missing or of the wrong type; `leave_out` names fields the caller
    deliberately leaves for another writer to add (write_artifact adds the manifest's `files`)."""
    declared = fields_of(record)
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise TypeError(f"{record.__name__} has no field {', '.join(unknown)}")
    made = {name: values[name] for name in declared if name in values}
    found = problems(record, made, record.__name__, leave_out=leave_out)
    if found:
        raise TypeError("; ".join(found))
    return made


def problems(record: type, value: Any, where: str = "", *, leave_out: Collection[str] = ()) -> list[str]:
    """Every way `value` differs from the record's declaration, each with its path; empty when none."""
    where = where or record.__name__
    if not isinstance(value, Mapping):
        return [f"{where}: expected an object ({record.__name__}), got {_type_name(value)}"]
    declared = fields_of(record)
    found = [f"{where}.{key}: not a field of {record.__name__}" for key in value if key not in declared]
    for name, spec in declared.items():
        if name in value:
            found += _field_problems(spec, value[name], f"{where}.{name}")
        elif not spec.optional and name not in leave_out:
            found.append(f"{where}.{name}: missing")
    return found


def _field_problems(spec: FieldSpec, value: Any, where: str) -> list[str]:
    if value is None:
        return [] if spec.nullable else [f"{where}: is null"]
    found = _kind_problems(spec.kind, value, where)
    if found:
        return found
    if spec.enum is not None and value not in spec.enum:
        return [f"{where}: {value!r} is not one of {', '.join(spec.enum)}"]
    if spec.format == DATE_TIME and not _is_utc_instant(value):
        return [f"{where}: {value!r} is not an ISO 8601 UTC instant like 2025-01-01T00:00:00Z"]
    return []


_SCALARS = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}


def _kind_problems(kind: Any, value: Any, where: str) -> list[str]:
    if get_origin(kind) is list:
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {_type_name(value)}"]
        (item,) = get_args(kind)
        return [p for i, element in enumerate(value) for p in _item_problems(item, element, f"{where}[{i}]")]
    if get_origin(kind) is dict:
        if not isinstance(value, Mapping):
            return [f"{where}: expected an object, got {_type_name(value)}"]
        _, item = get_args(kind)
        return [p for key, element in value.items() for p in _item_problems(item, element, f"{where}[{key!r}]")]
    if is_typeddict(kind):
        return problems(kind, value, where)
    if isinstance(value, bool):  # Python counts a bool as an int; JSON does not
        valid = kind is bool
    elif kind is float:  # JSON has one number type, an integer is a valid one; NaN and infinities are not JSON
        valid = isinstance(value, int | float) and math.isfinite(value)
    else:
        valid = isinstance(value, kind)
    return [] if valid else [f"{where}: expected {_SCALARS[kind]}, got {_type_name(value)}"]


def _item_problems(kind: Any, value: Any, where: str) -> list[str]:
    """An item of a list or a map: never null."""
    return [f"{where}: is null"] if value is None else _kind_problems(kind, value, where)


def _type_name(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r:.40}"


def _is_utc_instant(text: str) -> bool:
    try:
        return format_utc(parse_utc(text)) == text
    except ValueError:
        return False
