"""The assistant's API, mounted at /api/v2/ai (docs/ai.md).

- `POST /chat` (token): one answer as JSON; `POST /chat/stream` (token): the same as
  Server-Sent Events: `delta` events `{"text"}`, then one `done` event with the whole response
  (or one `error` event with the SPEC envelope if the backend fails mid-stream; a failure
  before the first event is the usual 502 JSON envelope). Both count against the per-plan
  chat limit (429 with Retry-After) and answer 502 BAD_GATEWAY when the backend fails.
- `POST /parse-workload` (token optional): the deterministic parse with source spans.
- `GET /sessions/{id}/history` (token, owner only: another user's session is 404).
- `GET /tools`, `GET /health` (public).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router

from apps.ai_assistant import limits, selectors, services
from apps.ai_assistant.backends import backend_from_settings, configuration_errors
from apps.ai_assistant.backends.base import BackendFailure
from apps.ai_assistant.backends.somaagent import SomaAgentBackend
from apps.ai_assistant.metrics import CHAT_REQUESTS
from apps.ai_assistant.parser import parse_workload
from apps.ai_assistant.schemas import (
    AiHealthOut,
    ChatIn,
    ChatOut,
    HistoryOut,
    HistoryQueryIn,
    ParsedWorkloadOut,
    ParseWorkloadIn,
    ToolListOut,
)
from apps.ai_assistant.toolbox import tool_catalogue
from apps.auth_app.auth import OptionalJWTAuth
from gpubroker.core.errors import ApiError, RateLimited, error_body
from gpubroker.core.schemas import ErrorOut, responses

router = Router(tags=["ai"])


def _caller(request: HttpRequest) -> services.ChatCaller:
    user: Any = request.auth  # type: ignore[attr-defined]
    tenant = getattr(request, "tenant", None)
    return services.ChatCaller(
        user_id=user.pk,
        is_staff=bool(user.is_staff),
        tenant_id=str(tenant.pk) if tenant is not None else None,
    )


async def _charge_chat(request: HttpRequest) -> None:
    user: Any = request.auth  # type: ignore[attr-defined]
    decision = await limits.chat_limit_hit(user_id=user.pk, tenant=getattr(request, "tenant", None))
    if not decision.allowed:
        CHAT_REQUESTS.labels(backend=settings.AI_BACKEND, outcome="rate_limited").inc()
        raise RateLimited(
            "Chat rate limit exceeded",
            retry_after=decision.retry_after,
            details={"limit_per_minute": decision.limit},
            headers=decision.headers(),
        )


def _context(payload: ChatIn) -> dict[str, Any]:
    if payload.context is None:
        return {}
    return payload.context.model_dump(exclude_none=True)


@router.post(
    "/chat",
    response=responses(ChatOut, 401, 404, 422, 429, 502, 503),
    summary="Ask the assistant; the answer recommends current offers",
)
async def chat(request: HttpRequest, payload: ChatIn) -> dict[str, Any]:
    """Answer one message (token required): reply, recommendations, tool calls.

    429 past the plan's chat limit, 404 for a session that is not yours, 502 when the backend
    fails, 503 when it is misconfigured; nothing is stored unless the answer is complete.
    """
    await _charge_chat(request)
    result = await services.chat_reply(
        caller=_caller(request),
        message=payload.message,
        session_id=payload.session_id,
        context=_context(payload),
    )
    return result.to_dict()


_SSE_EVENT_SCHEMA = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["delta", "done", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def _sse_stream(
    first: tuple[str, Any], events: AsyncIterator[tuple[str, Any]]
) -> AsyncIterator[bytes]:
    pending: tuple[str, Any] | None = first
    try:
        while pending is not None:
            kind, data = pending
            if kind == "delta":
                yield _sse("delta", {"text": data})
            else:
                body = ChatOut.model_validate(data.to_dict()).model_dump(mode="json")
                yield _sse("done", body)
            pending = await anext(events, None)
    except ApiError as exc:
        yield _sse("error", error_body(exc.code, exc.message, exc.details))


@router.post(
    "/chat/stream",
    response={401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut, 502: ErrorOut},
    summary="Ask the assistant, answered as Server-Sent Events (delta events, then done)",
    openapi_extra={
        "responses": {
            "200": {
                "description": "`event: delta` `{text}` events, then `event: done` with the "
                "chat response (or `event: error` with the error envelope).",
                # One schema per event, as schemathesis and OpenAPI 3.2's itemSchema read it.
                "content": {"text/event-stream": {"schema": _SSE_EVENT_SCHEMA}},
            }
        }
    },
)
async def chat_stream(request: HttpRequest, payload: ChatIn) -> StreamingHttpResponse:
    """`chat` as Server-Sent Events: `delta` events `{text}`, then one `done` event.

    Errors before the first event are the usual JSON envelopes; a failure mid-stream is one
    `error` event carrying the envelope. `X-Accel-Buffering: no` keeps nginx from holding
    the events back.
    """
    await _charge_chat(request)
    events = services.chat_events(
        caller=_caller(request),
        message=payload.message,
        session_id=payload.session_id,
        context=_context(payload),
    )
    # The first event is awaited here, so a session that is not yours (404) or a backend that
    # fails at once (502) is an ordinary JSON error, not a broken stream.
    first = await anext(events)
    response = StreamingHttpResponse(_sse_stream(first, events), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@router.post(
    "/parse-workload",
    auth=OptionalJWTAuth(),
    response=responses(ParsedWorkloadOut, 401, 422, 429),
    summary="Extract workload fields from text, each with the span it came from",
)
async def parse_workload_text(request: HttpRequest, payload: ParseWorkloadIn) -> dict[str, Any]:
    """The deterministic parse of `text`: v1's keys, every field with its span, what is missing."""
    return services.parsed_workload_out(parse_workload(payload.text))


def _history(session_id: UUID, user_id: UUID, limit: int) -> dict[str, Any]:
    session = selectors.chat_session_get(session_id=session_id, user_id=user_id)
    messages = selectors.chat_messages_recent(session_id=session.id, limit=limit)
    return {
        "session_id": session.id,
        "title": session.title,
        "messages": [
            {
                "role": message.role,
                "content": message.content,
                "created_at": message.created_at,
                "recommendations": message.recommendations,
                "tool_calls": message.tool_calls,
                "backend": message.backend,
            }
            for message in messages
        ],
    }


@router.get(
    "/sessions/{session_id}/history",
    response=responses(HistoryOut, 401, 404, 422, 429, 503),
    summary="Messages of one of your chat sessions, oldest first",
)
async def get_session_history(
    request: HttpRequest, session_id: UUID, params: Query[HistoryQueryIn]
) -> dict[str, Any]:
    """The last `limit` messages of one of your sessions, oldest first (another's is a 404).

    With the somaagent backend, `agent_history` adds the agent's own record (null when the
    agent does not answer within `AI_HEALTH_TIMEOUT_SECONDS`).
    """
    user: Any = request.auth  # type: ignore[attr-defined]
    body = await sync_to_async(_history)(session_id, user.pk, params.limit)
    backend = backend_from_settings() if not configuration_errors() else None
    if isinstance(backend, SomaAgentBackend):
        try:
            body["agent_history"] = await backend.agent_history(
                session_id,
                limit=params.limit,
                tenant=_caller(request).tenant_id,
                timeout_seconds=float(settings.AI_HEALTH_TIMEOUT_SECONDS),
            )
        except BackendFailure:
            body["agent_history"] = None
    return body


@router.get(
    "/tools", auth=None, response=ToolListOut, summary="The assistant's tools and JSON Schemas"
)
async def list_tools(request: HttpRequest) -> dict[str, Any]:
    """The assistant's tools with their JSON Schemas (and the agent's own, for somaagent)."""
    body: dict[str, Any] = {"backend": settings.AI_BACKEND, "tools": tool_catalogue()}
    backend = backend_from_settings() if not configuration_errors() else None
    if isinstance(backend, SomaAgentBackend):
        try:
            body["agent_tools"] = await backend.agent_tools(
                tenant=None, timeout_seconds=float(settings.AI_HEALTH_TIMEOUT_SECONDS)
            )
        except BackendFailure:
            body["agent_tools"] = None
    return body


@router.get(
    "/health",
    auth=None,
    response=AiHealthOut,
    summary="Whether the configured AI backend answers (probed with a short deadline)",
)
async def ai_health(request: HttpRequest) -> dict[str, Any]:
    """Probe the configured backend within `AI_HEALTH_TIMEOUT_SECONDS` seconds.

    `status` is ok, degraded or down (down also when the backend is misconfigured, with the
    reason in `detail`); `latency_ms` is the probe's time.
    """
    body: dict[str, Any] = {
        "backend": settings.AI_BACKEND,
        "model": (settings.AI_MODEL or None) if settings.AI_BACKEND == "openai" else None,
        "agent_configured": bool(settings.SOMA_AGENT_URL),
    }
    errors = configuration_errors()
    if errors:
        return {**body, "status": "down", "latency_ms": 0.0, "detail": "; ".join(errors)}
    deadline = float(settings.AI_HEALTH_TIMEOUT_SECONDS)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(deadline):
            probe = await backend_from_settings().probe(timeout_seconds=deadline)
    except TimeoutError:
        latency = (time.perf_counter() - started) * 1000
        return {**body, "status": "down", "latency_ms": latency, "detail": "probe timed out"}
    return {
        **body,
        "status": probe.status,
        "latency_ms": round(probe.latency_ms, 1),
        "detail": probe.detail,
    }
