"""`/mcp` served by a real daphne process, exercised with the official `mcp` SDK client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from django.core.management import call_command
from django.test import Client
from mcp import Client as McpClient
from mcp.client.streamable_http import streamable_http_client

from apps.ai_assistant.tests.conftest import TOOL_NAMES
from apps.auth_app.models import Plan, Tenant, User
from apps.providers.models import GPUOffer
from gpubroker.testing.processes import daphne_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def _token(email: str, plan: str = Plan.FREE) -> str:
    tenant = Tenant.objects.create(name=email, plan=plan)
    User.objects.create_user(email, PASSWORD, tenant=tenant, full_name="MCP user")
    response = Client().post(
        "/api/v2/auth/login",
        {"email": email, "password": PASSWORD},
        content_type="application/json",
    )
    return str(response.json()["access_token"])


async def _session(url: str, token: str | None, work: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=20) as http,
        McpClient(streamable_http_client(url, http_client=http)) as client,
    ):
        return await work(client)


def test_list_tools_and_search_offers_over_mcp(tmp_path: Path) -> None:
    call_command("load_gpu_specs", verbosity=0)
    call_command("sync_providers", verbosity=0)
    token = _token("mcp@example.com")
    cheapest_h100 = (
        GPUOffer.objects.filter(gpu_model="H100 SXM", availability_status="available")
        .order_by("price_per_hour", "id")
        .first()
    )
    assert cheapest_h100 is not None

    async def work(client: Any) -> Any:
        tools = await client.list_tools()
        search = await client.call_tool("search_offers", {"gpu": "H100 SXM", "limit": 2})
        bad = await client.call_tool("search_offers", {"limit": "two"})
        unknown = await client.call_tool("rm_rf", {})
        return tools, search, bad, unknown

    with daphne_server(tmp_path) as server:
        url = f"{server.base_url}/mcp"
        tools, search, bad, unknown = asyncio.run(_session(url, None, work))
        by_token = asyncio.run(_session(url, token, work))
        metrics = httpx.get(f"{server.base_url}/metrics", timeout=5).text

    assert [tool.name for tool in tools.tools] == TOOL_NAMES
    schema = next(tool for tool in tools.tools if tool.name == "search_offers").input_schema
    assert schema["type"] == "object"
    assert schema["properties"]["limit"]["maximum"] == 20
    assert search.is_error is False
    offers = search.structured_content["offers"]
    assert len(offers) == 2
    assert offers[0]["id"] == str(cheapest_h100.id)
    assert offers[0]["price_per_hour"] == float(cheapest_h100.price_per_hour)
    assert json.loads(search.content[0].text) == search.structured_content
    assert bad.is_error is True
    assert bad.content[0].text.startswith("invalid arguments: limit:")
    assert unknown.is_error is True
    assert unknown.content[0].text.startswith("unknown tool 'rm_rf'")
    assert by_token[1].structured_content == search.structured_content
    assert 'gpubroker_ai_tool_calls_total{outcome="ok",tool="search_offers"} 2.0' in metrics


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_mcp_refuses_a_bad_token_and_applies_the_callers_limits(tmp_path: Path) -> None:
    token = _token("limited@example.com")
    # Anonymous callers get 2 requests a second per IP, a free tenant 6: a burst of 12 is
    # refused in part either way, and a token is not held to the anonymous counter.
    env = {"RATE_LIMIT_ANON_RPS": "2", "RATE_LIMIT_FREE_RPS": "6"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream"}
    bearer = {**headers, "Authorization": f"Bearer {token}"}
    with daphne_server(tmp_path, env=env) as server, httpx.Client(timeout=5) as http:
        url = f"{server.base_url}/mcp"
        refused = http.post(
            url,
            json=body,
            headers={**headers, "Authorization": "Bearer nope", "traceparent": TRACEPARENT},
        )
        anonymous = [http.post(url, json=body, headers=headers) for _ in range(12)]
        signed_in = [http.post(url, json=body, headers=bearer).status_code for _ in range(12)]
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "UNAUTHORIZED"
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert refused.headers["X-Trace-Id"] == TRACEPARENT.split("-")[1]  # the caller's trace
    statuses = [response.status_code for response in anonymous]
    assert set(statuses) == {200, 429}
    limited = next(response for response in anonymous if response.status_code == 429)
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["X-RateLimit-Limit"] == "2"
    ok = next(response for response in anonymous if response.status_code == 200)
    assert ok.json() == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert signed_in[:4] == [200, 200, 200, 200]
    assert 429 in signed_in
