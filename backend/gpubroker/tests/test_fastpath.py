"""The API's ASGI handler (async-native middleware) behaves like the full stack."""

from __future__ import annotations

import threading

import httpx
import pytest
from django.conf import settings

from gpubroker.asgi import application
from gpubroker.core.fastpath import ApiASGIHandler, HttpRouter, is_api_path


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://127.0.0.1"
    )


def test_api_paths_are_routed_to_the_api_handler() -> None:
    assert [is_api_path(p) for p in ("/api/v2/ping", "/health", "/metrics", "/admin/", "/")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    router = application.application_mapping["http"]
    assert isinstance(router, HttpRouter)
    assert isinstance(router.api_app, ApiASGIHandler)


def test_api_stack_keeps_every_behaviour_but_browser_sessions() -> None:
    api = [path.rsplit(".", 1)[1] for path in settings.API_MIDDLEWARE]
    full = [path.rsplit(".", 1)[1] for path in settings.MIDDLEWARE]
    dropped = set(full) - set(api)
    assert dropped == {
        "SessionMiddleware",
        "CsrfViewMiddleware",
        "AuthenticationMiddleware",
        "MessageMiddleware",
        # The pages' Content-Security-Policy (the board): JSON needs none, and Swagger UI,
        # served by the API stack, runs inline scripts.
        "CSPMiddleware",
    }


@pytest.mark.asyncio
async def test_ping_through_the_api_handler_has_trace_security_and_limit_headers() -> None:
    async with _client() as client:
        response = await client.get("/api/v2/ping")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response.headers["x-trace-id"]) == 32
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "x-ratelimit-limit" in response.headers


@pytest.mark.asyncio
async def test_unknown_api_route_is_enveloped_even_with_debug_pages(settings) -> None:
    settings.DEBUG = True
    async with _client() as client:
        response = await client.get("/api/v2/nope")
    assert response.status_code == 404
    body = response.json()
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["detail"] == "No route for GET /api/v2/nope"
    assert body["error"]["trace_id"] == response.headers["x-trace-id"]


@pytest.mark.asyncio
async def test_bad_token_is_401_envelope_on_the_api_handler() -> None:
    async with _client() as client:
        response = await client.get(
            "/api/v2/auth/me", headers={"Authorization": "Bearer not-a-token"}
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.asyncio
async def test_cors_preflight_is_answered_for_allowed_origins(settings) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    async with _client() as client:
        response = await client.options(
            "/api/v2/ping",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "GET",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_admin_still_uses_the_full_stack() -> None:
    async with _client() as client:
        response = await client.get("/admin/login/")
    assert response.status_code == 200
    assert "csrftoken" in response.headers.get("set-cookie", "")


def test_request_threads_are_reused_and_idle_ones_bounded() -> None:
    from gpubroker.core.fastpath import RequestThreads

    threads = RequestThreads(keep=1)
    first = threads.lend()
    second = threads.lend()
    assert first is not second  # both lent at once: one each
    first_thread = first.submit(threading.get_ident).result()

    threads.give_back(first)
    threads.give_back(second)  # beyond keep=1: shut down
    again = threads.lend()

    assert again is first
    assert again.submit(threading.get_ident).result() == first_thread
    assert second._shutdown
    again.shutdown()


@pytest.mark.asyncio
async def test_sync_code_of_one_request_runs_on_one_borrowed_thread() -> None:
    from asgiref.sync import sync_to_async
    from django.core.signals import request_started

    seen: list[int] = []

    def record(**kwargs: object) -> None:
        seen.append(threading.get_ident())

    request_started.connect(record)
    try:
        async with _client() as client:
            for _ in range(3):
                response = await client.get("/api/v2/ping")
                assert response.status_code == 200
    finally:
        request_started.disconnect(record)
    await sync_to_async(lambda: None)()
    assert len(seen) == 3
    assert threading.get_ident() not in seen  # never on the event loop's thread
    assert len(set(seen)) == 1  # one after the other: the same kept thread each time
