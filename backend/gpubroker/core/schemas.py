"""Schemas shared by every router: the SPEC error envelope (OpenAPI), and plain render models."""

from __future__ import annotations

import functools
import types
import typing
from typing import Any

from ninja import Schema
from pydantic import BaseModel, ConfigDict, create_model


class ErrorBodyOut(Schema):
    """The `error` object of the envelope."""

    code: str
    message: str
    details: dict[str, Any]
    trace_id: str | None


class ErrorOut(Schema):
    """The SPEC error envelope (documentation of the error responses)."""

    error: ErrorBodyOut
    detail: str


def responses(ok: Any, *codes: int) -> dict[int, Any]:
    """A route's `response=` mapping: the success schema plus the error statuses it returns."""
    return {200: ok, **dict.fromkeys(codes, ErrorOut)}


def plain_model(schema: type[BaseModel]) -> type[BaseModel]:
    """`schema` as a plain pydantic model for rendering a view's own values: same fields.

    Same fields, defaults, descriptions and JSON, nested schemas converted alike, but without
    Ninja's wrap validator, which puts every input behind a `DjangoGetter` and reads each field
    through it: for a listing page of 100 items that was ~10 ms of CPU of a ~20 ms request
    (docs/verification.md, "Load"). Reads attributes too (`from_attributes`), as Ninja's do.

    Raises TypeError for a schema with validators or serializers of its own, which the copy
    would not carry. Built once per schema (cached).
    """
    return _plain_model(schema)


@functools.cache
def _plain_model(schema: type[BaseModel]) -> type[BaseModel]:
    decorators = schema.__pydantic_decorators__
    own = [
        *decorators.field_validators,
        *(name for name in decorators.model_validators if name != "_run_root_validator"),
        *decorators.field_serializers,
        *decorators.model_serializers,
        *decorators.computed_fields,
        *decorators.validators,
        *decorators.root_validators,
    ]
    if own:
        raise TypeError(f"{schema.__name__} has validators or serializers of its own: {own}")
    fields: dict[str, Any] = {
        name: (_plain_annotation(info.annotation), info)
        for name, info in schema.model_fields.items()
    }
    return create_model(
        schema.__name__,
        __config__=ConfigDict(from_attributes=True),
        __doc__=schema.__doc__,
        **fields,
    )


def _plain_annotation(annotation: Any) -> Any:
    """`annotation` with every Ninja schema in it (alone, in a list or a union) made plain."""
    if isinstance(annotation, type) and issubclass(annotation, Schema):
        return _plain_model(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if not args:
        return annotation
    plain = tuple(_plain_annotation(arg) for arg in args)
    if plain == args:
        return annotation
    if origin in (typing.Union, types.UnionType):
        return typing.Union[plain]  # noqa: UP007 (built from a tuple)
    return origin[plain if len(plain) > 1 else plain[0]]
