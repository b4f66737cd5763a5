"""The API's own ASGI handler: the same behaviour with an async-native middleware stack.

Under ASGI, Django runs every hook of a classic `MiddlewareMixin` (process_request,
process_response, process_view) through `sync_to_async`, i.e. a hop to a worker thread and
back. The full stack in `settings.MIDDLEWARE` makes about a dozen such hops per request, most of
them for browser concerns (sessions, CSRF, messages, session auth) that the bearer-token API
never uses; on this project's 2-core machine that was most of the cost of `GET /api/v2/ping`
(docs/benchmarks.md).

Django's handler also runs each request in a fresh `ThreadSensitiveContext`, whose first
thread-sensitive call (the `request_started` signal's receivers, before the view even runs)
creates a new worker thread that exits with the request. `ApiASGIHandler` lends each request a
long-lived single-thread executor from a free list instead (asgiref's
`ThreadSensitiveContext(executor=...)`): the same one-thread-per-request guarantee for sync code,
without starting a thread per request (docs/benchmarks.md "Request path").

`routing.build_application` therefore sends `/api/`, `/health` and `/metrics` to
`ApiASGIHandler`, built from `settings.API_MIDDLEWARE`: the same security, CORS, common, trace,
JWT, rate-limit and Prometheus middleware, with the CPU-only Django/django-prometheus ones run
inline on the event loop (they never block or touch the database). Admin and everything else
keep Django's standard handler and the full `MIDDLEWARE`, which `manage.py check` inspects.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, markcoroutinefunction
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware as _XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware as _CommonMiddleware
from django.middleware.security import SecurityMiddleware as _SecurityMiddleware
from django_prometheus.middleware import (
    PrometheusAfterMiddleware as _PrometheusAfterMiddleware,
)
from django_prometheus.middleware import (
    PrometheusBeforeMiddleware as _PrometheusBeforeMiddleware,
)

from gpubroker.core.middleware import API_PATH_PREFIXES


class InlineHooks:
    """Run a CPU-only MiddlewareMixin's hooks directly on the event loop (no thread hop).

    Only for middleware whose hooks neither block nor query the database.
    """

    get_response: Any

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class SecurityMiddleware(InlineHooks, _SecurityMiddleware):
    """Django's SecurityMiddleware with its hooks run inline on the event loop."""

    pass


class CommonMiddleware(InlineHooks, _CommonMiddleware):
    """Django's CommonMiddleware with its hooks run inline on the event loop."""

    pass


class XFrameOptionsMiddleware(InlineHooks, _XFrameOptionsMiddleware):
    """Django's XFrameOptionsMiddleware with its hooks run inline on the event loop."""

    pass


class PrometheusBeforeMiddleware(InlineHooks, _PrometheusBeforeMiddleware):
    """django-prometheus' first middleware with its hooks run inline on the event loop."""

    pass


class PrometheusAfterMiddleware(InlineHooks, _PrometheusAfterMiddleware):
    # A coroutine process_view is awaited as is instead of being wrapped in sync_to_async.
    """django-prometheus' last middleware with its hooks run inline on the event loop."""

    async def process_view(
        self, request: HttpRequest, view_func: Any, *view_args: Any, **view_kwargs: Any
    ) -> None:
        """Count the view like django-prometheus does, without a thread hop."""
        super().process_view(request, view_func, *view_args, **view_kwargs)


class AnonymousUserMiddleware:
    """`request.user` without sessions: anonymous until the bearer-token middleware says more."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Set `request.user` to AnonymousUser and continue."""
        request.user = AnonymousUser()
        return await self.get_response(request)


class RequestThreads:
    """Single-thread executors lent to one request at a time and kept for the next ones.

    At most `keep` idle executors are kept; one more is made whenever all are lent (so the
    number of threads follows the peak number of requests in flight, as with a thread per
    request, but threads are not started and joined per request).
    """

    def __init__(self, keep: int = 64) -> None:
        self.keep = keep
        self._idle: list[ThreadPoolExecutor] = []
        self._lock = threading.Lock()

    def lend(self) -> ThreadPoolExecutor:
        """An idle executor, or a new one."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        """Keep ``executor`` for a later request, or shut it down beyond `keep` idle ones."""
        with self._lock:
            if len(self._idle) < self.keep:
                self._idle.append(executor)
                return
        executor.shutdown(wait=False)


class ApiASGIHandler(ASGIHandler):
    """Django's ASGI handler, loading `settings.API_MIDDLEWARE` instead of `MIDDLEWARE`.

    Each request's sync code (signal receivers, ORM calls through `sync_to_async`) runs on one
    thread borrowed from `RequestThreads` for the request's duration.
    """

    threads = RequestThreads()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one HTTP request with a borrowed request thread."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self.threads.lend()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self.threads.give_back(executor)

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE; swap the list in for the one-off load at start.
        """Load settings.API_MIDDLEWARE as this handler's stack."""
        full_stack = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async=is_async)
        finally:
            settings.MIDDLEWARE = full_stack


def is_api_path(path: str) -> bool:
    """Whether a path is served by the API handler (/api/, /health, /metrics)."""
    return path.startswith(API_PATH_PREFIXES)


class HttpRouter:
    """Send API paths to the API handler and everything else to Django's standard one.

    `mounts` maps a path to an ASGI app of its own that serves it and everything below it
    (the assistant's `/mcp`), ahead of both.
    """

    def __init__(
        self, api_app: Any, default_app: Any, mounts: Mapping[str, Any] | None = None
    ) -> None:
        self.api_app = api_app
        self.default_app = default_app
        self.mounts = {path.rstrip("/"): app for path, app in (mounts or {}).items()}

    def _mounted(self, path: str) -> Any | None:
        for prefix, app in self.mounts.items():
            if path == prefix or path.startswith(prefix + "/"):
                return app
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Dispatch one HTTP scope: a mount first, then the API or Django by path."""
        path = scope.get("path", "")
        app = self._mounted(path) or (self.api_app if is_api_path(path) else self.default_app)
        await app(scope, receive, send)
