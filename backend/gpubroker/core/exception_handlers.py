"""Ninja exception handlers: every error leaves the API in the SPEC envelope."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

# psycopg_pool's PoolTimeout (no connection within the pool's timeout) is a psycopg
# OperationalError that reaches us without Django's wrapping.
from psycopg import OperationalError as DriverOperationalError

from gpubroker.core.errors import (
    ApiError,
    PayloadTooLarge,
    ServiceUnavailable,
    api_error_response,
    error_response,
    validation_details,
    validation_message,
)
from gpubroker.core.middleware import DATABASE_UNAVAILABLE

logger = logging.getLogger("gpubroker.errors")


def install_exception_handlers(api: NinjaAPI) -> None:
    """Render every exception a route can raise as the SPEC envelope (the one outer boundary)."""

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
