"""Django-level error views: errors outside Ninja (unknown routes, CSRF, crashes), enveloped."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from gpubroker.core.errors import error_response


def bad_request(request: HttpRequest, exception: Any = None) -> JsonResponse:
    """Django's 400 view: the envelope."""
    return error_response(400, "Bad request")


def permission_denied(request: HttpRequest, exception: Any = None) -> JsonResponse:
    """Django's 403 view: the envelope."""
    return error_response(403, "Forbidden")


def page_not_found(request: HttpRequest, exception: Any = None) -> JsonResponse:
    """Django's 404 view: the envelope naming the method and path."""
    return error_response(404, f"No route for {request.method} {request.path[:200]}")


def server_error(request: HttpRequest) -> JsonResponse:
    """Django's 500 view: the envelope, no internals."""
    return error_response(500, "Internal server error")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF_FAILURE_VIEW: a 403 envelope."""
    return error_response(403, "CSRF verification failed")
