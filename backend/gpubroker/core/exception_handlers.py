"""Ninja exception handlers: every error leaves the API in the SPEC envelope."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.parser import Parser

# psycopg_pool's PoolTimeout (no connection within the pool's timeout) is a psycopg
# OperationalError that reaches us without Django's wrapping.
from psycopg import OperationalError as DriverOperationalError

from gpubroker.core.errors import (
    SEND_JSON,
    ApiError,
    BadRequest,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationFailed,
    api_error_response,
    error_response,
    validation_details,
    validation_message,
)
from gpubroker.core.middleware import DATABASE_UNAVAILABLE

logger = logging.getLogger("gpubroker.errors")


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number",
               bool: "true or false", type(None): "null"}  # fmt: skip


class JsonObjectParser(Parser):
    """Ninja's JSON body parser, with errors that say what is wrong with the body.

    Every body GPUBROKER reads is a JSON object. Ninja answers an unreadable body "Cannot parse
    request body" (with the parser's exception text under DEBUG: "maximum recursion depth
    exceeded ..."), and a JSON array with "Field required" for every field. Raises BadRequest
    (400, field `body`) for text that is not JSON or is nested too deeply, ValidationFailed
    (422, field `body`) for JSON that is not an object; Ninja wraps both in its HttpError,
    which `install_exception_handlers` unwraps.
    """

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        """The body as a dict (raises as the class docstring says)."""
        try:
            data = json.loads(request.body)
        except RecursionError as exc:
            raise BadRequest("body: JSON nested too deeply", details={"field": "body"}) from exc
        except json.JSONDecodeError as exc:
            message = f"body: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            raise BadRequest(message + SEND_JSON, details={"field": "body"}) from exc
        except UnicodeDecodeError as exc:
            raise BadRequest(
                f"body: not UTF-8 text; {SEND_JSON}", details={"field": "body"}
            ) from exc
        if not isinstance(data, dict):
            reason = f"must be a JSON object, not {_JSON_KINDS.get(type(data), 'another value')}"
            fields = {"body": reason}
            errors = [{"field": "body", "message": reason, "type": "model_type"}]
            raise ValidationFailed(
                validation_message(fields), details={"fields": fields, "errors": errors}
            )
        return data


def install_exception_handlers(api: NinjaAPI) -> None:
    """Render every exception a route can raise as the SPEC envelope (the one outer boundary).

    Also reads bodies with `JsonObjectParser`, whose errors are part of that boundary.
    """
    api.parser = JsonObjectParser()

    def on_api_error(request: HttpRequest, exc: Any) -> HttpResponse:
        if exc.http_status >= 500:
            logger.error("api error %s: %s", exc.code, exc.message)
        return api_error_response(exc)

    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        details = validation_details(list(exc.errors))
        return error_response(422, validation_message(details["fields"]), details=details)

    def on_auth(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(
            401, "Authentication required", headers={"WWW-Authenticate": "Bearer"}
        )

    def on_forbidden(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(403, "Forbidden")

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        if isinstance(exc.__cause__, ApiError):  # JsonObjectParser's, wrapped by Ninja
            return api_error_response(exc.__cause__)
        message = str(exc.message) if exc.status_code < 500 else "Internal server error"
        return error_response(exc.status_code, message)

    def on_not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(404, "Not found")

    def on_too_big(request: HttpRequest, exc: Any) -> HttpResponse:
        return api_error_response(PayloadTooLarge())

    def on_database(request: HttpRequest, exc: Any) -> HttpResponse:
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        return api_error_response(ServiceUnavailable(DATABASE_UNAVAILABLE))

    def on_unhandled(request: HttpRequest, exc: Any) -> HttpResponse:
        # The one outer boundary: log everything, reveal nothing.
        if isinstance(exc, OperationalError | InterfaceError | DriverOperationalError):
            return on_database(request, exc)
        if isinstance(exc, DatabaseError) and "connection" in str(exc).lower():
            return on_database(request, exc)
        logger.exception("unhandled exception")
        return error_response(500, "Internal server error")

    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(AuthenticationError, on_auth)
    api.add_exception_handler(AuthorizationError, on_forbidden)
    api.add_exception_handler(PermissionDenied, on_forbidden)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(RequestDataTooBig, on_too_big)
    api.add_exception_handler(Exception, on_unhandled)
