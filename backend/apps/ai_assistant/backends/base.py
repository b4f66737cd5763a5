"""The one interface every chat backend implements, and what crosses it.

A backend turns a `ChatRequest` (the message, its parse, up to `AI_HISTORY_TURNS` earlier
turns, who asks) into an event stream: text deltas (`str`) and then exactly one `BackendReply`
with the whole text, the tool calls made and the offers those tools returned. `reply()` is
the same stream consumed whole, so streaming and non-streaming answers cannot diverge.

A backend that cannot answer raises `BackendFailure`; the chat service turns it into a 502
BAD_GATEWAY envelope and stores nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, TypeVar
from uuid import UUID

from apps.ai_assistant.parser_types import ParsedWorkload
from apps.ai_assistant.tool_inputs import ToolCaller
from apps.ai_assistant.toolbox import ToolOutcome

ClientT = TypeVar("ClientT")
FailureReason = Literal["timeout", "unavailable", "bad_response", "tool_loop"]
ProbeStatus = Literal["ok", "degraded", "down"]


@dataclass(frozen=True)
class ChatTurn:
    """One earlier exchange: what the user wrote and what the assistant answered."""

    user: str
    assistant: str


@dataclass(frozen=True)
class ChatRequest:
    """What a backend answers: the message, its parse, who asks and the earlier turns."""

    message: str
    parsed: ParsedWorkload
    session_id: UUID
    caller: ToolCaller
    tenant_id: str | None = None
    history: tuple[ChatTurn, ...] = ()
    # The client's `context` as validated: {"filters": {...}, "workload_profile": {...}}.
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BackendReply:
    """A backend's whole answer: text, tool calls, the offers they returned, the LLM's name."""

    text: str
    outcomes: tuple[ToolOutcome, ...] = ()
    # Offer dicts as the tools returned them (tool_results.offer_view), never read from model text.
    recommendations: tuple[dict[str, Any], ...] = ()
    model: str | None = None


@dataclass(frozen=True)
class Probe:
    """A health probe's result: status, latency (milliseconds) and why, when not ok."""

    status: ProbeStatus
    latency_ms: float
    detail: str | None = None


class BackendFailure(Exception):
    """The backend gave no usable answer; `reason` says which way it failed."""

    def __init__(self, message: str, reason: FailureReason) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class ChatBackend(ABC):
    """A way to answer chat messages (`AI_BACKEND`): builtin, openai or somaagent."""

    name: ClassVar[str]
    model: str | None = None

    @abstractmethod
    def events(self, request: ChatRequest) -> AsyncIterator[str | BackendReply]:
        """Text deltas, then one `BackendReply`; raises `BackendFailure`."""

    @abstractmethod
    async def probe(self, *, timeout_seconds: float) -> Probe:
        """Whether the backend answers now (within `timeout_seconds`)."""

    async def reply(self, request: ChatRequest) -> BackendReply:
        """The whole answer at once (the event stream consumed)."""
        async for event in self.events(request):
            if isinstance(event, BackendReply):
                return event
        raise BackendFailure(f"{self.name} ended without an answer", reason="bad_response")


class PerLoop(Generic[ClientT]):
    """One HTTP client per event loop and key.

    A client's connection pool belongs to the loop that opened it, and daphne runs one loop
    per process, so in production this is one client per configuration.
    """

    def __init__(self, factory: Callable[..., ClientT]) -> None:
        self._factory = factory
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Hashable, ClientT]
        ] = weakref.WeakKeyDictionary()

    def get(self, *key: Hashable) -> ClientT:
        """The running loop's client for `key`, made by the factory on first use."""
        clients = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        client = clients.get(key)
        if client is None:
            client = clients[key] = self._factory(*key)
        return client
