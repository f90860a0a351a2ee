"""marshmallow schemas generated from the kernel's typed JSON declarations (cryptopredict.core.typed_json): GET
/model's, the track record's, and the card fields that /pairs and /ready restate, so the OpenAPI document says
what the declaration says."""

from __future__ import annotations

from functools import cache
from typing import Any, get_args, get_origin, is_typeddict

import marshmallow as ma

from cryptopredict.core.typed_json import FieldSpec, fields_of

_SCALARS: dict[type, type[ma.fields.Field]] = {
    str: ma.fields.String,
    int: ma.fields.Integer,
    float: ma.fields.Float,
    bool: ma.fields.Boolean,
}


@cache  # one schema class per record, so the OpenAPI document has one component per record
def schema_of(record: type) -> type[ma.Schema]:
    """The record's schema, named like it: its component in the OpenAPI document.

    No Meta.description: apispec then leaves out `additionalProperties: false`, and a record has no other fields."""
    attributes: dict[str, Any] = {name: field_of(spec) for name, spec in fields_of(record).items()}
    return type(record.__name__, (ma.Schema,), attributes)


def field_of(spec: FieldSpec, **metadata: Any) -> ma.fields.Field:
    """A marshmallow field for one declared field: required unless it may be absent, nullable as declared, with
    its description, format, enum and example (`metadata` adds to them or overrides them)."""
    declared = {"description": spec.description, "format": spec.format, "enum": spec.enum, "example": spec.example}
    declared = {key: list(value) if key == "enum" else value for key, value in declared.items() if value is not None}
    return _field(spec.kind, required=not spec.optional, allow_none=spec.nullable, metadata={**declared, **metadata})


def _field(kind: Any, **options: Any) -> ma.fields.Field:
    if get_origin(kind) is list:
        return ma.fields.List(_field(*get_args(kind)), **options)
    if get_origin(kind) is dict:
        return ma.fields.Dict(keys=ma.fields.String(), values=_field(get_args(kind)[1]), **options)
    if is_typeddict(kind):
        return ma.fields.Nested(schema_of(kind), **options)
    return _SCALARS[kind](**options)
