"""Per-tenant, per-IP and per-minute limits (SPEC "Rate limits"), fail-open, two processes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from django.test import AsyncClient, Client, override_settings

from apps.auth_app.tests.conftest import bearer, login
from gpubroker.testing.processes import daphne_server

pytestmark = pytest.mark.django_db

PING = "/api/v2/ping"


def _start_of_second(client: Client | None = None) -> None:
    """Fixed one-second windows: start a burst early in a window so it stays inside it.

    With a client, one request from another IP first warms up URL loading (the first request of
    a process can take most of a second).
    """
    if client is not None:
        client.get(PING, REMOTE_ADDR="192.0.2.1")
    while time.time() % 1 > 0.2:
        time.sleep(0.01)


def _statuses(client: Client, count: int, path: str = PING, **extra: str) -> list[int]:
    return [client.get(path, **extra).status_code for _ in range(count)]


@override_settings(RATE_LIMIT_ANON_RPS=3)
def test_anonymous_callers_are_limited_per_ip(client: Client) -> None:
    _start_of_second(client)
    responses = [client.get(PING) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert {r["X-RateLimit-Limit"] for r in responses} == {"3"}
    refused = responses[-1]
    assert refused["Retry-After"] == "1"
    body = refused.json()
    assert body["error"]["code"] == "RATE_LIMITED"
    assert body["detail"] == "Rate limit exceeded"
    assert client.get(PING, REMOTE_ADDR="10.1.2.3").status_code == 200


@override_settings(RATE_LIMIT_ANON_RPS=1000)
def test_tenant_limit_follows_plan_and_override(client: Client, make_user) -> None:
    make_user("pro@example.com", plan="pro", rate_limit_rps=3)
    make_user("free@example.com")
    pro = login(client, email="pro@example.com").json()["access_token"]
    free = login(client, email="free@example.com").json()["access_token"]
    _start_of_second(client)
    pro_statuses = _statuses(client, 4, **bearer(pro))
    free_response = client.get(PING, **bearer(free))
    assert pro_statuses == [200, 200, 200, 429]
    assert free_response.status_code == 200
    assert free_response["X-RateLimit-Limit"] == "10"


@override_settings(RATE_LIMIT_IP_PER_MINUTE=5)
def test_any_ip_is_capped_per_minute(client: Client) -> None:
    statuses = _statuses(client, 6)
    assert statuses == [200, 200, 200, 200, 200, 429]
    refused = client.get(PING)
    assert refused["X-RateLimit-Limit"] == "5"
    assert 1 <= int(refused["Retry-After"]) <= 60


@override_settings(RATE_LIMIT_ANON_RPS=1)
def test_health_and_metrics_are_not_limited(client: Client) -> None:
    _start_of_second(client)
    responses = [client.get(path) for path in ("/health", "/metrics") * 2]
    # /health may say 503 on a loaded machine; what matters is that nothing is limited.
    assert [r.status_code == 429 for r in responses] == [False] * 4
    assert [("X-RateLimit-Limit" in r) for r in responses] == [False] * 4


@override_settings(RATE_LIMIT_ANON_RPS=1, RATE_LIMIT_ENABLED=False)
def test_limiter_can_be_disabled(client: Client) -> None:
    assert _statuses(client, 3) == [200, 200, 200]


@override_settings(RATE_LIMIT_ANON_RPS=2)
def test_redis_down_fails_open_with_local_limits(
    client: Client, closed_port: int, json_logs
) -> None:
    with override_settings(RATE_LIMIT_REDIS_URL=f"redis://127.0.0.1:{closed_port}/0"):
        _start_of_second(client)
        responses = [client.get(PING) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0]["X-RateLimit-Limit"] == "2"
    warnings = [r for r in json_logs.records if r["level"] == "WARNING"]
    assert [w["message"] for w in warnings] == [
        "rate limiter: Redis unreachable (ConnectionError); failing open with in-process limits"
    ]


@pytest.mark.asyncio
@override_settings(RATE_LIMIT_IP_PER_MINUTE=2)
async def test_async_path_limits_and_fails_open(closed_port: int) -> None:
    # The per-minute rule keeps this robust on a loaded machine (no one-second window to miss).
    if time.time() % 60 > 50:  # stay clear of a minute boundary
        await asyncio.sleep(61 - time.time() % 60)
    client = AsyncClient()
    statuses = [(await client.get(PING)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    with override_settings(RATE_LIMIT_REDIS_URL=f"redis://127.0.0.1:{closed_port}/0"):
        response = await client.get(PING)
    assert response.status_code == 200
    assert response["X-RateLimit-Limit"] == "100000"


@pytest.mark.slow
def test_two_server_processes_share_the_limit(tmp_path: Path) -> None:
    env = {"RATE_LIMIT_ANON_RPS": "5", "RATE_LIMIT_IP_PER_MINUTE": "1000000"}
    with (
        daphne_server(tmp_path, env=env) as first,
        daphne_server(tmp_path, env=env) as second,
        httpx.Client(base_url=first.base_url, timeout=5) as one,
        httpx.Client(base_url=second.base_url, timeout=5) as two,
    ):
        for warm in (one, two):  # first requests load the URL conf; keep them out of the burst
            assert warm.get(PING).status_code == 200
        time.sleep(1.05)
        _start_of_second()
        responses = [(one if n % 2 else two).get(PING) for n in range(10)]
    statuses = [response.status_code for response in responses]
    # Each process alone would have allowed 5; together they allow 5 in total.
    assert statuses.count(200) == 5
    assert statuses.count(429) == 5
    assert statuses[:5] == [200] * 5
    # The status line carries the standard phrase (Twisted alone says "Unknown Status").
    assert {response.reason_phrase for response in responses[5:]} == {"Too Many Requests"}
