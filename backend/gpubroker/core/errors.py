"""The one error taxonomy of the API and its envelope (SPEC.md "Errors").

Domain code raises an `ApiError` subclass; the Ninja exception handlers and the Django error
views render every error, whatever raised it, through `error_response`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from django.http import JsonResponse

from algorithms.errors import AlgorithmInputError
from gpubroker.core.context import current_trace_id


class ApiError(Exception):
    """Base of all client-visible errors: a stable `code` and its HTTP status."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    http_status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = dict(details or {})
        self.headers = dict(headers or {})
        super().__init__(self.message)


class BadRequest(ApiError):
    """400: the request is well formed but the domain rejects it."""

    code = "BAD_REQUEST"
    http_status = 400
    default_message = "Bad request"


class Unauthorized(ApiError):
    """401: no valid credentials; adds `WWW-Authenticate: Bearer`."""

    code = "UNAUTHORIZED"
    http_status = 401
    default_message = "Authentication required"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class Forbidden(ApiError):
    """403: authenticated but not allowed."""

    code = "FORBIDDEN"
    http_status = 403
    default_message = "Forbidden"


class NotFound(ApiError):
    """404: no such resource."""

    code = "NOT_FOUND"
    http_status = 404
    default_message = "Not found"


class Conflict(ApiError):
    """409: the resource's state forbids the request (taken email, offer gone)."""

    code = "CONFLICT"
    http_status = 409
    default_message = "Conflict"


class PayloadTooLarge(ApiError):
    """413: the body exceeds MAX_REQUEST_BODY_BYTES."""

    code = "PAYLOAD_TOO_LARGE"
    http_status = 413
    default_message = "Request body too large"


class HeadersTooLarge(ApiError):
    """431: the request's headers exceed the server's limit (gpubroker.httpserver)."""

    code = "HEADERS_TOO_LARGE"
    http_status = 431
    default_message = "Request headers too large"


class ValidationFailed(ApiError):
    """422: input that fails the schema's rules."""

    code = "VALIDATION_ERROR"
    http_status = 422
    default_message = "Validation error"


class RateLimited(ApiError):
    """429 with `Retry-After` (whole seconds, at least 1)."""

    code = "RATE_LIMITED"
    http_status = 429
    default_message = "Rate limit exceeded"

    def __init__(self, message: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))
        self.headers["Retry-After"] = str(self.retry_after)


class InternalError(ApiError):
    """500: a failure of ours; the message never carries internals."""

    pass


class BadGateway(ApiError):
    """502: an upstream provider or agent failed."""

    code = "BAD_GATEWAY"
    http_status = 502
    default_message = "Upstream provider error"


class ServiceUnavailable(ApiError):
    """503: a dependency (PostgreSQL) is down."""

    code = "SERVICE_UNAVAILABLE"
    http_status = 503
    default_message = "Service unavailable"


def field_error(field_name: str, message: str, **details: Any) -> BadRequest:
    """A 400 BAD_REQUEST naming the request field.

    Message "<field>: <message>", details `{"field": field_name, **details}`.
    """
    return BadRequest(f"{field_name}: {message}", details={"field": field_name, **details})


@contextmanager
def algorithm_input_errors(rename: Mapping[str, str] | None = None) -> Iterator[None]:
    """Re-raise `AlgorithmInputError` from `algorithms` as `field_error` (400).

    `rename` maps the algorithm's argument names to request field names: the name itself or
    a dotted prefix (`{"offers": "candidate_offers"}` turns `offers.tflops` into
    `candidate_offers.tflops`).
    """
    try:
        yield
    except AlgorithmInputError as exc:
        name = exc.field
        for prefix, replacement in (rename or {}).items():
            if name == prefix or name.startswith(f"{prefix}."):
                name = replacement + name[len(prefix) :]
                break
        raise field_error(name, exc.message) from exc


class MethodNotAllowed(ApiError):
    """405: the route exists but not for this method."""

    code = "METHOD_NOT_ALLOWED"
    http_status = 405
    default_message = "Method not allowed"


def _status_codes() -> dict[int, str]:
    """HTTP status -> code, read from ApiError and its direct subclasses (the generic errors).

    Domain errors subclass a generic one (OfferNotFound is a NotFound), so they share its
    status and never need a row of their own.
    """
    generic: list[type[ApiError]] = [ApiError, *ApiError.__subclasses__()]
    return {cls.http_status: cls.code for cls in generic}


#: The code rendered for a bare status (Django error views, Ninja's HttpError).
STATUS_CODES: dict[int, str] = _status_codes()


# Where Ninja puts the input (not a field name), and pydantic's names for a validator or a
# union member in an error's location ("function-wrap[_run_root_validator()]", "list[int]").
_CONTAINERS = frozenset(("body", "query", "path", "header", "payload"))
_PYDANTIC_STEP = re.compile(r"[\w-]+\[.*\]")
# The prefixes pydantic puts before a validator's own message ("Value error, must be ...").
_VALIDATOR_PREFIX = re.compile(r"^(?:Value error|Assertion failed), ")
#: Why text holding U+0000 is refused: PostgreSQL can neither store nor compare it (the
#: request middleware, the board's notices, the WebSocket filters).
NUL_REASON = "must not contain a NUL character (U+0000)"
#: What a client whose body could not be read should send instead.
SEND_JSON = "send a JSON object with Content-Type: application/json"
# How many fields a 422 message names (a 1,000-row matrix may fail on every row).
_PROBLEMS_SHOWN = 5


def _location(loc: Any) -> str:
    parts = [str(p) for p in loc]
    named = [p for p in parts if p not in _CONTAINERS and not _PYDANTIC_STEP.fullmatch(p)]
    return ".".join(named) or (parts[0] if parts else "request")


def validation_details(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Ninja/pydantic errors as `{fields: {name: message}, errors: [...]}` without inputs.

    The offending input is not echoed: it may be a password or a megabyte of junk. Field names
    are the request's (`candidate_offers.0.price_per_hour`), without pydantic's validator steps;
    messages are the validator's own, without pydantic's "Value error, " prefix.
    """
    fields: dict[str, str] = {}
    items = []
    for err in errors:
        field = _location(err.get("loc", ()))
        message = _VALIDATOR_PREFIX.sub("", str(err.get("msg", "invalid value")))
        if field == "body" and err.get("type") == "missing":  # no body at all
            message = f"required: {SEND_JSON}"
        elif err.get("type") == "extra_forbidden":
            message = "unknown field (this body's fields: /api/v2/docs)"
        fields.setdefault(field, message)
        items.append({"field": field, "message": message, "type": err.get("type", "")})
    return {"fields": fields, "errors": items}


def validation_message(fields: Mapping[str, str]) -> str:
    """The 422 message naming each field with what is wrong with it.

    `"Invalid input: per_page: must be one of 10, 20, 50, 100; gpu_type: Field required"`,
    fields in the order given, the first `_PROBLEMS_SHOWN` of them ("and N more": the
    details list every one); "Invalid input" alone when there are none.
    """
    problems = [f"{name}: {message}" for name, message in fields.items()]
    shown = "; ".join(problems[:_PROBLEMS_SHOWN])
    if len(problems) > _PROBLEMS_SHOWN:
        shown += f"; and {len(problems) - _PROBLEMS_SHOWN} more"
    return f"Invalid input: {shown}" if shown else "Invalid input"


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The envelope; `detail` repeats `message` for v1 clients."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": dict(details or {}),
            "trace_id": current_trace_id(),
        },
        "detail": message,
    }


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    """The envelope as a JsonResponse; the code defaults to STATUS_CODES[status]."""
    response = JsonResponse(
        error_body(code or STATUS_CODES.get(status, "BAD_REQUEST"), message, details),
        status=status,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def api_error_response(exc: ApiError) -> JsonResponse:
    """The envelope of an ApiError, with its status, code, details and headers."""
    return error_response(
        exc.http_status, exc.message, code=exc.code, details=exc.details, headers=exc.headers
    )
