"""Schemas shared by every router: the SPEC error envelope, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from ninja import Schema


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
