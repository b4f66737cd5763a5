"""Outermost request middleware: trace context, body-size cap, request log line.

It runs on both the sync and the async path so it never forces Django to adapt the chain.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote_to_bytes, urlencode

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponseBase, QueryDict
from django.urls import Resolver404, resolve
from django.utils.functional import empty
from psycopg import OperationalError as DriverOperationalError

from gpubroker.core.context import (
    new_trace_id,
    set_user_id,
    trace_id_from_traceparent,
    trace_id_var,
    user_id_var,
)
from gpubroker.core.errors import (
    NUL_REASON,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationFailed,
    api_error_response,
    error_response,
    validation_message,
)
from gpubroker.core.tracing import current_span_trace_id
from gpubroker.core.views import no_route_message

request_logger = logging.getLogger("gpubroker.request")
logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "Database not available"
API_PATH_PREFIXES = ("/api/", "/health", "/metrics")
_View = TypeVar("_View", bound=Callable[..., Any])


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _evaluated_user_id(request: HttpRequest) -> str:
    """The session user's id if Django already loaded it; never triggers a query here."""
    lazy_user = request.__dict__.get("user")
    wrapped: Any = getattr(lazy_user, "_wrapped", empty)
    if wrapped is empty or wrapped is None or not wrapped.is_authenticated:
        return ""
    return str(wrapped.pk)


def _enveloped(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    status = response.status_code
    if status == 404:
        message = no_route_message(request)
    elif status >= 500:
        message = "Internal server error"
    else:
        message = response.reason_phrase or "Request failed"
    enveloped = error_response(status, message)
    for header in ("Retry-After", "WWW-Authenticate", "Allow"):
        if header in response:
            enveloped[header] = response[header]
    return enveloped


class DualModeMiddleware:
    """Base of our middleware: native on both the sync and the async path (no adaptation)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        """Handle one request (subclasses implement it for both modes)."""
        raise NotImplementedError


# A JSON string's escaped NUL (backslash, u, 0000). Text holding those six characters literally
# (an escaped backslash before them) is refused too: rare, and still a clear 422, never a 500.
_JSON_NUL = b"\\u0000"
_NUL_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/")


_DROPS_NUL_PARAMETERS = "drops_nul_parameters"


def drops_nul_parameters(view: _View) -> _View:
    """Mark a page view that answers a query parameter holding a NUL by leaving it out.

    For such a view (a GET or HEAD), the middleware removes those parameters from
    `request.GET` (and the query string) instead of answering 422; `nul_parameters(request)`
    names them, so the page can say what it left out.
    """
    setattr(view, _DROPS_NUL_PARAMETERS, True)
    return view


def nul_parameters(request: HttpRequest) -> tuple[str, ...]:
    """The query parameters left out for holding a NUL (a NUL in a name shown as backslash-x00)."""
    return tuple(getattr(request, "_nul_parameters", ()))


def _nul_parameter_names(pairs: list[tuple[str, str]]) -> list[str]:
    """Each parameter whose name or value holds a NUL (a NUL in a name shown as a backslash-x00)."""
    names = [name for name, value in pairs if "\x00" in name or "\x00" in value]
    return list(dict.fromkeys(name.replace("\x00", "\\x00") for name in names))


def _drop_nul_parameters(
    request: HttpRequest, pairs: list[tuple[str, str]], names: list[str]
) -> bool:
    """Leave the NUL-bearing parameters out for a view marked `drops_nul_parameters`.

    `pairs` is the query string parsed, `names` those of them `_nul_parameter_names` found.
    """
    if request.method not in ("GET", "HEAD"):
        return False
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return False
    if not getattr(view, _DROPS_NUL_PARAMETERS, False):
        return False
    kept = [(name, value) for name, value in pairs if "\x00" not in name and "\x00" not in value]
    request.META["QUERY_STRING"] = urlencode(kept)
    request.GET = QueryDict(request.META["QUERY_STRING"])
    request._nul_parameters = tuple(names)  # type: ignore[attr-defined]
    return True


def _refuse_nul(request: HttpRequest) -> HttpResponseBase | None:
    """422 when the path, the query string or a text body carries a NUL character.

    PostgreSQL cannot store or compare text holding U+0000 (psycopg raises DataError), so a NUL
    anywhere in what a client sends would reach the database as a 500; it is refused here once,
    before any view, with the validation envelope (naming each query parameter that holds one),
    and nothing is read or written. A page view marked `drops_nul_parameters` gets the request
    without those parameters instead.
    """
    where: list[str] = []
    query_string = request.META.get("QUERY_STRING", "")
    if "\x00" in request.path:
        where = ["path"]
    elif b"\x00" in unquote_to_bytes(query_string):
        pairs = parse_qsl(query_string, keep_blank_values=True)
        names = _nul_parameter_names(pairs)
        if names and _drop_nul_parameters(request, pairs, names):
            return None
        where = names or ["query"]
    elif str(request.META.get("CONTENT_TYPE", "")).startswith(_NUL_BODY_TYPES):
        content_type = str(request.META["CONTENT_TYPE"])
        try:
            body = request.body
        except RequestDataTooBig:
            return None  # the view's own handling answers 413
        if content_type.startswith("application/x-www-form-urlencoded"):
            body = unquote_to_bytes(body)
        if b"\x00" in body or (content_type.startswith("application/json") and _JSON_NUL in body):
            where = ["body"]
    if not where:
        return None
    fields = dict.fromkeys(where, NUL_REASON)
    details = {
        "fields": fields,
        "errors": [{"field": name, "message": NUL_REASON} for name in where],
    }
    message = validation_message(fields)
    return api_error_response(ValidationFailed(message, details=details))


def _logged(status: int, duration_ms: float) -> bool:
    """Whether a request's line is written: every error or slow answer, successes sampled.

    REQUEST_LOG_SAMPLE_RATE (0..1) is the share of successful, fast requests logged;
    REQUEST_LOG_SLOW_MS (milliseconds) is what counts as slow.
    """
    rate = float(settings.REQUEST_LOG_SAMPLE_RATE)
    if rate >= 1.0 or status >= 400 or duration_ms >= float(settings.REQUEST_LOG_SLOW_MS):
        return True
    return rate > 0.0 and random.random() < rate  # noqa: S311 (sampling, not security)


class RequestContextMiddleware(DualModeMiddleware):
    """Trace id, body cap (413), X-Trace-Id and one log line per request."""

    def __call__(self, request: HttpRequest) -> Any:
        """Serve the request with its trace id set, in the mode of the stack (sync or async)."""
        if self.is_async:
            return self._acall(request)
        started = self._begin(request)
        refused = self._refuse_oversized(request) or _refuse_nul(request)
        response = refused or self.get_response(request)
        return self._finish(request, response, started)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        started = self._begin(request)
        refused = self._refuse_oversized(request) or _refuse_nul(request)
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        response = refused or await get_response(request)
        return self._finish(request, response, started)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        # Non-Ninja views (health, admin) get the same 503 as the API when PostgreSQL is gone.
        """503 envelope when PostgreSQL is unreachable (for views outside Ninja); None otherwise."""
        if isinstance(exception, OperationalError | InterfaceError | DriverOperationalError) or (
            isinstance(exception, DatabaseError) and "connection" in str(exception).lower()
        ):
            logger.warning("database unavailable: %s", exception.__class__.__name__)
            return api_error_response(ServiceUnavailable(DATABASE_UNAVAILABLE))
        return None

    @staticmethod
    def _begin(request: HttpRequest) -> float:
        incoming = current_span_trace_id() or trace_id_from_traceparent(
            request.META.get("HTTP_TRACEPARENT")
        )
        trace_id_var.set(incoming or new_trace_id())
        set_user_id(None)
        return time.perf_counter()

    @staticmethod
    def _refuse_oversized(request: HttpRequest) -> HttpResponseBase | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _declared_length(request) > limit:
            return api_error_response(
                PayloadTooLarge(f"Request body exceeds {limit} bytes", details={"max_bytes": limit})
            )
        return None

    @staticmethod
    def _finish(request: HttpRequest, response: Any, started: float) -> Any:
        if (
            response.status_code >= 400
            and request.path.startswith(API_PATH_PREFIXES)
            and not str(response.get("Content-Type", "")).startswith("application/json")
        ):
            # Django's own pages (DEBUG's technical 404/500, CSRF failures) are HTML; an API
            # client gets the envelope whatever produced the error.
            response = _enveloped(request, response)
        trace_id = trace_id_var.get()
        response["X-Trace-Id"] = trace_id
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        if _logged(response.status_code, duration_ms):
            user_id = user_id_var.get() or _evaluated_user_id(request)
            request_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "user_id": user_id or None,
                },
            )
        return response
