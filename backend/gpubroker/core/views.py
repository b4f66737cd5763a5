"""Django-level error views: errors outside Ninja (unknown routes, CSRF, crashes), enveloped."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve

from gpubroker.core.errors import error_response


def no_route_message(request: HttpRequest) -> str:
    """The 404 message: the method and path, and the path that exists when only a slash differs.

    `"No route for GET /api/v2/providers/; did you mean /api/v2/providers?"`: the API's routes
    have no trailing slash, Django's pages (`/admin/`) do.
    """
    path = request.path
    message = f"No route for {request.method} {path[:200]}"
    other = path.rstrip("/") if path.endswith("/") and path != "/" else f"{path}/"
    try:
        resolve(other)
    except Resolver404:
        return message
    return f"{message}; did you mean {other[:200]}?"


def bad_request(request: HttpRequest, exception: Any = None) -> JsonResponse:
    """Django's 400 view: the envelope."""
    return error_response(400, "Bad request")


def permission_denied(request: HttpRequest, exception: Any = None) -> JsonResponse:
    """Django's 403 view: the envelope."""
    return error_response(403, "Forbidden")


def page_not_found(request: HttpRequest, exception: Any = None) -> JsonResponse:
    """Django's 404 view: the envelope naming the method and path (`no_route_message`)."""
    return error_response(404, no_route_message(request))


def server_error(request: HttpRequest) -> JsonResponse:
    """Django's 500 view: the envelope, no internals."""
    return error_response(500, "Internal server error")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF_FAILURE_VIEW: a 403 envelope."""
    return error_response(403, "CSRF verification failed")
