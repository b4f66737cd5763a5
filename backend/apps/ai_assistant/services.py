"""Chat orchestration: session, history, backend call under a deadline, metrics, storage.

`chat_reply(...)` answers at once; `chat_events(...)` yields `("delta", text)` events and then
one `("done", ChatResult)`. Both read the session (the caller's own, else 404) and its last
`AI_HISTORY_TURNS` turns, parse the message, give the backend `AI_TIMEOUT_SECONDS` for the
whole answer and, only once it answered, store the user's message and the reply in one
transaction (a new session is created in that same transaction). A backend failure or timeout
raises `BadGateway` (502) and stores nothing; a misconfigured backend is `ServiceUnavailable`
(503).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.ai_assistant import selectors
from apps.ai_assistant.backends import backend_from_settings, configuration_errors
from apps.ai_assistant.backends.base import (
    BackendFailure,
    BackendReply,
    ChatBackend,
    ChatRequest,
)
from apps.ai_assistant.metrics import CHAT_DURATION, CHAT_REQUESTS
from apps.ai_assistant.models import ChatMessage, ChatSession
from apps.ai_assistant.parser import parse_workload
from apps.ai_assistant.parser_types import ParsedWorkload
from apps.ai_assistant.tool_inputs import ToolCaller
from gpubroker.core.errors import BadGateway, ServiceUnavailable

logger = logging.getLogger(__name__)
TITLE_CHARS = 200


@dataclass(frozen=True)
class ChatCaller:
    """Who chats: the user, whether staff (for the recommender), and their tenant's id."""

    user_id: UUID
    is_staff: bool = False
    tenant_id: str | None = None


@dataclass(frozen=True)
class ChatResult:
    """One answered message, as stored and as the API returns it (`to_dict`)."""

    reply: str
    session_id: UUID
    parsed_workload: dict[str, Any]
    recommendations: list[dict[str, Any]]
    tool_calls: list[dict[str, Any]]
    backend: str
    model: str | None
    elapsed_ms: int

    def to_dict(self) -> dict[str, Any]:
        """The response body of `POST /ai/chat` (schemas.ChatOut)."""
        return {
            "reply": self.reply,
            "session_id": self.session_id,
            "parsed_workload": self.parsed_workload,
            "recommendations": self.recommendations,
            "tool_calls": self.tool_calls,
            "backend": self.backend,
            "model": self.model,
            "elapsed_ms": self.elapsed_ms,
            "sources": None,
        }


def parsed_workload_out(parsed: ParsedWorkload) -> dict[str, Any]:
    """The parse as the API sends it: v1's keys, every field with its span, what is missing."""
    return {**parsed.v1_summary(), "fields": parsed.fields(), "missing": list(parsed.missing)}


def chat_turn_store(
    *,
    session_id: UUID,
    is_new_session: bool,
    user_id: UUID,
    message: str,
    asked_at: Any,
    result: ChatResult,
) -> None:
    """Store one exchange (and the session, when new) atomically."""
    now = timezone.now()
    with transaction.atomic():
        if is_new_session:
            ChatSession.objects.create(
                id=session_id,
                user_id=user_id,
                title=message[:TITLE_CHARS],
                created_at=asked_at,
                updated_at=now,
            )
        else:
            ChatSession.objects.filter(id=session_id).update(updated_at=now)
        ChatMessage.objects.bulk_create(
            [
                ChatMessage(
                    session_id=session_id,
                    role=ChatMessage.Role.USER,
                    content=message,
                    parsed_workload=result.parsed_workload,
                    created_at=asked_at,
                ),
                ChatMessage(
                    session_id=session_id,
                    role=ChatMessage.Role.ASSISTANT,
                    content=result.reply,
                    recommendations=result.recommendations,
                    tool_calls=result.tool_calls,
                    backend=result.backend,
                    model=result.model or "",
                    elapsed_ms=result.elapsed_ms,
                    created_at=now,
                ),
            ]
        )


def _prepare_sync(
    *, caller: ChatCaller, message: str, session_id: UUID | None, context: dict[str, Any]
) -> tuple[ChatRequest, bool]:
    if session_id is not None:
        selectors.chat_session_get(session_id=session_id, user_id=caller.user_id)
        history = selectors.chat_turns_recent(
            session_id=session_id, turns=int(settings.AI_HISTORY_TURNS)
        )
    else:
        history = ()
    request = ChatRequest(
        message=message,
        parsed=parse_workload(message),
        session_id=session_id or uuid4(),
        caller=ToolCaller(user_id=caller.user_id, is_staff=caller.is_staff),
        tenant_id=caller.tenant_id,
        history=history,
        context=context,
    )
    return request, session_id is None


@dataclass
class _Exchange:
    backend: ChatBackend
    request: ChatRequest
    is_new_session: bool
    started: float
    asked_at: Any

    def deadline(self) -> float:
        return self.started + float(settings.AI_TIMEOUT_SECONDS)

    def failed(self, exc: BaseException) -> BadGateway:
        if isinstance(exc, TimeoutError):
            outcome, reason, text = "timeout", "timeout", "did not answer in time"
        else:
            assert isinstance(exc, BackendFailure)
            outcome = "timeout" if exc.reason == "timeout" else "error"
            reason, text = exc.reason, exc.message
        self._observe(outcome)
        logger.warning("ai chat failed", extra={"backend": self.backend.name, "reason": reason})
        return BadGateway(
            f"The AI backend failed: {text}",
            details={"backend": self.backend.name, "reason": reason},
        )

    def _observe(self, outcome: str) -> None:
        CHAT_REQUESTS.labels(backend=self.backend.name, outcome=outcome).inc()
        CHAT_DURATION.labels(backend=self.backend.name).observe(time.perf_counter() - self.started)

    async def finish(self, reply: BackendReply, *, user_id: UUID) -> ChatResult:
        result = ChatResult(
            reply=reply.text,
            session_id=self.request.session_id,
            parsed_workload=parsed_workload_out(self.request.parsed),
            recommendations=[dict(offer) for offer in reply.recommendations],
            tool_calls=[outcome.summary() for outcome in reply.outcomes],
            backend=self.backend.name,
            model=reply.model,
            elapsed_ms=round((time.perf_counter() - self.started) * 1000),
        )
        await sync_to_async(chat_turn_store)(
            session_id=self.request.session_id,
            is_new_session=self.is_new_session,
            user_id=user_id,
            message=self.request.message,
            asked_at=self.asked_at,
            result=result,
        )
        self._observe("ok")
        return result


async def _exchange(
    *, caller: ChatCaller, message: str, session_id: UUID | None, context: dict[str, Any]
) -> _Exchange:
    started, asked_at = time.perf_counter(), timezone.now()
    errors = configuration_errors()
    if errors:
        raise ServiceUnavailable("The AI backend is not configured correctly: " + "; ".join(errors))
    backend = backend_from_settings()
    request, is_new = await sync_to_async(_prepare_sync)(
        caller=caller, message=message, session_id=session_id, context=context
    )
    return _Exchange(backend, request, is_new, started, asked_at)


async def chat_reply(
    *, caller: ChatCaller, message: str, session_id: UUID | None, context: dict[str, Any]
) -> ChatResult:
    """Answer one message (see the module docstring); NotFound, BadGateway."""
    exchange = await _exchange(
        caller=caller, message=message, session_id=session_id, context=context
    )
    try:
        async with asyncio.timeout_at(_loop_deadline(exchange)):
            reply = await exchange.backend.reply(exchange.request)
    except (TimeoutError, BackendFailure) as exc:
        raise exchange.failed(exc) from exc
    return await exchange.finish(reply, user_id=caller.user_id)


def _loop_deadline(exchange: _Exchange) -> float:
    remaining = exchange.deadline() - time.perf_counter()
    return asyncio.get_running_loop().time() + max(remaining, 0.0)


async def chat_events(
    *, caller: ChatCaller, message: str, session_id: UUID | None, context: dict[str, Any]
) -> AsyncIterator[tuple[str, str | ChatResult]]:
    """`("delta", text)` events, then `("done", ChatResult)`; raises NotFound or BadGateway."""
    exchange = await _exchange(
        caller=caller, message=message, session_id=session_id, context=context
    )
    events = exchange.backend.events(exchange.request)
    reply: BackendReply | None = None
    try:
        while reply is None:
            try:
                async with asyncio.timeout_at(_loop_deadline(exchange)):
                    event = await anext(events)
            except StopAsyncIteration:
                failure = BackendFailure("the backend ended without an answer", "bad_response")
                raise exchange.failed(failure) from None
            except (TimeoutError, BackendFailure) as exc:
                raise exchange.failed(exc) from exc
            if isinstance(event, BackendReply):
                reply = event
            else:
                yield ("delta", event)
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
    yield ("done", await exchange.finish(reply, user_id=caller.user_id))
