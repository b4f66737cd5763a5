"""v1's agent protocol (SomaAgent), so v1 deployments keep their agent.

`POST {SOMA_AGENT_URL}/v1/llm/invoke {messages, session_id, tenant}` answers `{content}` or
`{reply}` (v1 read either); `GET /v1/health`, `GET /v1/tools` and
`GET /v1/sessions/{id}/history` are passed through for `/ai/health`, `/ai/tools` and the
session history. Every call carries the tenant (in the body and as `X-Tenant-Id`) and a
timeout; one `httpx.AsyncClient` is reused per event loop.

The agent has its own tools, so this backend runs none of ours. Offers it names in a
`recommendations` list are looked up by id in our catalogue (`tools.offer_views_by_ids`): the
chat response carries our current offer data for them, never the agent's prices; unknown ids
are dropped.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
from asgiref.sync import sync_to_async

from apps.ai_assistant import tools
from apps.ai_assistant.backends.base import (
    BackendFailure,
    BackendReply,
    ChatBackend,
    ChatRequest,
    PerLoop,
    Probe,
)

CONNECT_TIMEOUT_SECONDS = 5.0
MAX_RECOMMENDATIONS = 10
DEFAULT_TENANT = "default"


def _new_client(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url.rstrip("/"))


_clients: PerLoop[httpx.AsyncClient] = PerLoop(_new_client)


def _failure(exc: Exception) -> BackendFailure:
    if isinstance(exc, httpx.TimeoutException):
        return BackendFailure("the agent did not answer in time", reason="timeout")
    if isinstance(exc, httpx.HTTPStatusError):
        return BackendFailure(
            f"the agent answered HTTP {exc.response.status_code}", reason="unavailable"
        )
    if isinstance(exc, httpx.HTTPError):
        return BackendFailure("the agent is unreachable", reason="unavailable")
    return BackendFailure("the agent sent an unreadable answer", reason="bad_response")


def _offer_ids(items: Any) -> list[UUID]:
    ids: list[UUID] = []
    for item in items if isinstance(items, list) else []:
        raw = item.get("offer_id") or item.get("id") if isinstance(item, dict) else item
        try:
            ids.append(UUID(str(raw)))
        except ValueError:
            continue
    return ids[:MAX_RECOMMENDATIONS]


class SomaAgentBackend(ChatBackend):
    """`AI_BACKEND=somaagent` (or `SOMA_AGENT_URL` alone): v1's agent over HTTP."""

    name = "somaagent"
    model = None

    def __init__(self, *, url: str, timeout_seconds: float) -> None:
        self.url = url
        self.timeout = httpx.Timeout(
            timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)
        )

    def _headers(self, tenant: str) -> dict[str, str]:
        return {"X-Tenant-Id": tenant}

    async def _get(self, path: str, *, tenant: str, deadline: float | None = None) -> Any:
        client = _clients.get(self.url)
        try:
            response = await client.get(
                path,
                headers=self._headers(tenant),
                timeout=self.timeout if deadline is None else deadline,
            )
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _failure(exc) from exc

    async def invoke(self, request: ChatRequest) -> dict[str, Any]:
        """One `/v1/llm/invoke` call; the decoded JSON object it answered."""
        messages = [{"role": "system", "content": "Client context: " + json.dumps(request.context)}]
        messages = messages if request.context else []
        for turn in request.history:
            messages += [
                {"role": "user", "content": turn.user},
                {"role": "assistant", "content": turn.assistant},
            ]
        messages.append({"role": "user", "content": request.message})
        tenant = request.tenant_id or DEFAULT_TENANT
        body = {"messages": messages, "session_id": str(request.session_id), "tenant": tenant}
        try:
            response = await _clients.get(self.url).post(
                "/v1/llm/invoke", json=body, headers=self._headers(tenant), timeout=self.timeout
            )
            response.raise_for_status()
            payload = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _failure(exc) from exc
        if not isinstance(payload, dict):
            raise BackendFailure("the agent's answer is not a JSON object", reason="bad_response")
        return payload

    async def events(self, request: ChatRequest) -> AsyncIterator[str | BackendReply]:
        """The agent's whole answer as one delta (it does not stream), then the reply."""
        payload = await self.invoke(request)
        text = payload.get("content") or payload.get("reply")
        if not isinstance(text, str) or not text.strip():
            raise BackendFailure("the agent's answer has no content", reason="bad_response")
        ids = _offer_ids(payload.get("recommendations"))
        offers = await sync_to_async(tools.offer_views_by_ids)(ids) if ids else []
        yield text
        yield BackendReply(text=text, recommendations=tuple(offers), model=None)

    async def probe(self, *, timeout_seconds: float) -> Probe:
        """`GET /v1/health`: ok on a 2xx whose `status` is absent or healthy.

        Degraded on any other reported status, down when it does not answer.
        """
        started = time.perf_counter()
        try:
            body = await self._get("/v1/health", tenant=DEFAULT_TENANT, deadline=timeout_seconds)
        except BackendFailure as exc:
            return Probe("down", (time.perf_counter() - started) * 1000, exc.message)
        latency = (time.perf_counter() - started) * 1000
        status = str(body.get("status", "ok")).lower() if isinstance(body, dict) else "ok"
        if status in ("ok", "healthy", "up"):
            return Probe("ok", latency)
        return Probe("degraded", latency, f"the agent reports {status!r}")

    async def agent_tools(self, *, tenant: str | None, timeout_seconds: float) -> Any:
        """The agent's own `/v1/tools` listing, as it sent it."""
        return await self._get(
            "/v1/tools", tenant=tenant or DEFAULT_TENANT, deadline=timeout_seconds
        )

    async def agent_history(
        self, session_id: UUID, *, limit: int, tenant: str | None, timeout_seconds: float
    ) -> Any:
        """The agent's record of a session (`/v1/sessions/{id}/history?limit=`), as it sent it."""
        return await self._get(
            f"/v1/sessions/{session_id}/history?limit={limit}",
            tenant=tenant or DEFAULT_TENANT,
            deadline=timeout_seconds,
        )
