"""Request and response schemas of `/api/v2/ai/...` (SPEC.md, V1-CONTRACT.md §1.5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import BaseModel, StringConstraints

MAX_MESSAGE_CHARS = 4000
MAX_CONTEXT_KEYS = 50

Message = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_CHARS)
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ChatFiltersIn(BaseModel):
    """Listing filters the builtin backend applies to its offer search.

    LLM backends get them as data. Unknown keys are ignored, as in the listing.
    """

    region: Text | None = Field(None, description="A region or ISO country code, exact.")
    provider: Text | None = None
    availability: Literal["available", "limited", "unavailable"] | None = None
    gpu_memory_min: Annotated[int, Field(ge=0, le=10_000)] | None = None
    max_price: Annotated[float, Field(gt=0, le=100_000, allow_inf_nan=False)] | None = Field(
        None, description="Instance price, USD per hour."
    )
    spot: bool | None = Field(
        None,
        description="As the listing's: true: offers that can be rented as spot; false: offers "
        "with no spot option. Leave out for on-demand.",
    )


class ChatContextIn(BaseModel):
    """The chat's `context`: listing filters and free-form workload hints.

    Plain pydantic models, not Ninja Schemas: Ninja reads attributes off any value, so
    `"context": "x"` would pass as an empty object.
    """

    filters: ChatFiltersIn | None = None
    workload_profile: dict[str, Any] | None = Field(
        None, description="Free-form hints (v1's field), passed to LLM backends as data."
    )


class ChatIn(Schema):
    """A chat message: 1 to 4,000 characters, optionally in one of your sessions."""

    message: Message = Field(..., description="1 to 4,000 characters.")
    session_id: UUID | None = Field(None, description="Continue this session (yours).")
    context: ChatContextIn | None = None


class SpanOut(Schema):
    """A parsed field: its value and the text span it came from."""

    value: Any
    start: int
    end: int
    text: str


class ParsedWorkloadOut(Schema):
    """v1's keys with plain values, then every field with the text it came from."""

    workload_type: str | None
    quantity: float | None
    duration: float | None = Field(None, description="Hours.")
    region: str | None
    quality: str | None = Field(None, description="v1's low/medium/high, from the precision.")
    fields: dict[str, Any] = Field(
        ..., description="Each field as {value, start, end, text}, null when absent."
    )
    missing: list[str] = Field(..., description="Fields an estimate still needs.")


class ParseWorkloadIn(Schema):
    """Text to parse: 1 to 4,000 characters."""

    text: Message


class ToolCallOut(Schema):
    """One tool call of an answer: arguments, outcome, offers returned, milliseconds."""

    name: str
    arguments: Any
    ok: bool
    error: str | None
    offer_ids: list[str]
    elapsed_ms: float


class RecommendedOfferOut(Schema):
    """An offer as a tool returned it: the listing's figures, USD per hour for the instance."""

    id: UUID
    provider: str | None
    name: str
    gpu: str | None
    gpu_count: int
    gpu_memory_gb: int
    total_vram_gb: int
    price_per_hour: float
    price_per_gpu_hour: float
    currency: str
    availability: str
    region: str
    location: str | None = Field(
        None, description="Where it is, as the board names it: city, state, country; else region."
    )
    spot: bool
    stale: bool
    last_updated: str | None
    rank: int | None = None
    score: float | None = None


class ChatOut(Schema):
    """The assistant's answer: reply, session, parse, recommended offers, tool calls."""

    reply: str
    session_id: UUID
    parsed_workload: ParsedWorkloadOut
    recommendations: list[RecommendedOfferOut]
    tool_calls: list[ToolCallOut]
    backend: str
    model: str | None
    elapsed_ms: int
    sources: None = Field(None, description="Always null; kept for v1 clients.")


class HistoryQueryIn(Schema):
    """How many of the latest messages to return (1 to 200)."""

    limit: Annotated[int, Field(ge=1, le=200)] = 50


class HistoryMessageOut(Schema):
    """One stored message, with the recommendations and tool calls of a reply."""

    role: str
    content: str
    created_at: datetime
    recommendations: list[dict[str, Any]]
    tool_calls: list[dict[str, Any]]
    backend: str


class HistoryOut(Schema):
    """A session's messages, oldest first."""

    session_id: UUID
    title: str
    messages: list[HistoryMessageOut] = Field(..., description="Oldest first, the last `limit`.")
    agent_history: Any = Field(
        None, description="somaagent only: the agent's own record, as it sent it."
    )


class ToolOut(Schema):
    """One tool: name, description and the JSON Schema of its arguments."""

    name: str
    description: str
    input_schema: dict[str, Any]


class ToolListOut(Schema):
    """The assistant's tools (served over MCP and to LLM backends alike)."""

    backend: str
    tools: list[ToolOut]
    agent_tools: Any = Field(None, description="somaagent only: the agent's own `/v1/tools`.")


class AiHealthOut(Schema):
    """Whether the configured backend answers: status, model, probe latency (ms)."""

    backend: str
    status: Literal["ok", "degraded", "down"]
    model: str | None
    latency_ms: float
    detail: str | None = None
    agent_configured: bool = Field(..., description="Whether SOMA_AGENT_URL is set (wave 1 key).")
