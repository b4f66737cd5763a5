"""Running the tools: argument validation, errors as results, metrics, the tool catalogue.

`run_tool(name, arguments, caller)` never raises for anything a model can send: an unknown
name, arguments that are not JSON or do not fit the input model, and a tool's own refusal all
come back as a `ToolOutcome` with `ok=False` and an `error` the model can act on. Only
infrastructure failures (database down) propagate.

Arguments are validated as JSON in every case (a dict from MCP or the builtin backend is
serialised first), so strict JSON rules apply the same way whichever client called.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from pydantic import ValidationError

from apps.ai_assistant import tool_inputs as inputs
from apps.ai_assistant import tools
from apps.ai_assistant.metrics import TOOL_CALLS
from apps.ai_assistant.tool_inputs import ToolCaller, ToolInput
from apps.ai_assistant.tools import ToolError
from gpubroker.core.errors import ApiError

MAX_ARGUMENT_CHARS = 20_000  # a model's argument string beyond this is refused unread
MAX_RESULT_CHARS = 16_000  # what a tool result may take of the model's context
MAX_STORED_ARGUMENT_CHARS = 2_000


@dataclass(frozen=True)
class Tool:
    """One tool: its name, what it does (for the model), its input model and its function."""

    name: str
    description: str
    input_model: type[ToolInput]
    run: Callable[[Any, ToolCaller], dict[str, Any]]


TOOLS: Mapping[str, Tool] = MappingProxyType(
    {
        tool.name: tool
        for tool in (
            Tool(
                "search_offers",
                "Search current GPU rental offers (instance price per hour in USD, GPUs, memory, "
                "region). Returns offers with their ids, cheapest first by default.",
                inputs.SearchOffersIn,
                tools.search_offers,
            ),
            Tool(
                "estimate_workload",
                "Size a workload: GPU memory needed, GPUs needed per GPU model, throughput and "
                "the current price range per hour of each option.",
                inputs.EstimateWorkloadIn,
                tools.estimate_workload,
            ),
            Tool(
                "recommend_offers",
                "Rank offers (ids from search_offers) for a workload by price, memory, compute "
                "and reliability; drops offers with too little GPU memory.",
                inputs.RecommendOffersIn,
                tools.recommend_offers,
            ),
            Tool(
                "get_gpu_specs",
                "Datasheet specs of a GPU: memory, bandwidth, TFLOPS per precision, power.",
                inputs.GetGpuSpecsIn,
                tools.get_gpu_specs,
            ),
            Tool(
                "get_price_history",
                "Price history and statistics of one offer over 24h, 7d or 30d.",
                inputs.GetPriceHistoryIn,
                tools.get_price_history,
            ),
            Tool(
                "cost_per_token",
                "Cost per million generated tokens of a model size on an offer or a GPU price.",
                inputs.CostPerTokenIn,
                tools.cost_per_token,
            ),
        )
    }
)


@dataclass(frozen=True)
class ToolOutcome:
    """One tool call: `result` when ok, else `error` (a message meant for the model)."""

    name: str
    arguments: Any
    ok: bool
    result: dict[str, Any] | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    offers: list[dict[str, Any]] = field(default_factory=list)

    def for_model(self) -> str:
        """The tool message content: JSON data, bounded in size."""
        body = (
            {"ok": True, "result": self.result} if self.ok else {"ok": False, "error": self.error}
        )
        text = json.dumps(body, default=str)
        if len(text) > MAX_RESULT_CHARS:
            text = json.dumps(
                {"ok": self.ok, "truncated": True, "result_prefix": text[:MAX_RESULT_CHARS]}
            )
        return text

    def summary(self) -> dict[str, Any]:
        """What a chat response and the stored message keep of the call."""
        return {
            "name": self.name,
            "arguments": self.arguments,
            "ok": self.ok,
            "error": self.error,
            "offer_ids": [offer["id"] for offer in self.offers],
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


def tool_catalogue() -> list[dict[str, Any]]:
    """Every tool with its JSON Schema (`input_schema`), in a stable order."""
    return [
        {
            "name": tool.name,
            "description": tool.description,
            "input_schema": tool.input_model.model_json_schema(),
        }
        for tool in TOOLS.values()
    ]


def _argument_text(arguments: str | Mapping[str, Any] | None) -> str:
    if arguments is None:
        return "{}"
    if isinstance(arguments, str):
        return arguments.strip() or "{}"
    return json.dumps(dict(arguments))


def _stored_arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text[:MAX_STORED_ARGUMENT_CHARS]


def _validation_message(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        problems.append(f"{where}: {error['msg']}")
    return "invalid arguments: " + "; ".join(problems)


def run_tool(
    name: str, arguments: str | Mapping[str, Any] | None, *, caller: ToolCaller
) -> ToolOutcome:
    """Validate and run one tool call (database access: call from sync code or `arun_tool`)."""
    started = time.perf_counter()
    tool = TOOLS.get(name)
    text = _argument_text(arguments)
    stored = _stored_arguments(text) if len(text) <= MAX_ARGUMENT_CHARS else "<too long>"

    def failed(message: str) -> ToolOutcome:
        TOOL_CALLS.labels(tool=name if tool else "unknown", outcome="error").inc()
        elapsed = (time.perf_counter() - started) * 1000
        return ToolOutcome(name, stored, ok=False, error=message, elapsed_ms=elapsed)

    if tool is None:
        return failed(f"unknown tool {name[:100]!r}; the tools are: {', '.join(TOOLS)}")
    if len(text) > MAX_ARGUMENT_CHARS:
        return failed(f"arguments longer than {MAX_ARGUMENT_CHARS} characters")
    try:
        parsed = tool.input_model.model_validate_json(text)
    except ValidationError as exc:
        return failed(_validation_message(exc))
    try:
        result = tool.run(parsed, caller)
    except ToolError as exc:
        return failed(exc.message)
    except ApiError as exc:
        if exc.http_status >= 500:
            raise
        return failed(exc.message)
    TOOL_CALLS.labels(tool=name, outcome="ok").inc()
    offers = [offer for offer in result.get("offers", []) if isinstance(offer, dict)]
    elapsed = (time.perf_counter() - started) * 1000
    return ToolOutcome(name, stored, ok=True, result=result, elapsed_ms=elapsed, offers=offers)


# Tools read the database. Inside a Django request (the chat endpoints) they run in the
# request's sync thread, whose connections Django's request signals look after; outside one
# (the MCP endpoint) `arun_tool_outside_request` also closes stale connections around the call,
# as Channels consumers do.
arun_tool = sync_to_async(run_tool)
arun_tool_outside_request = database_sync_to_async(run_tool)


def recommended_offers(outcomes: list[ToolOutcome], limit: int = 5) -> list[dict[str, Any]]:
    """The offers a chat recommends, at most `limit`, each id once.

    Those of the last successful `recommend_offers` call, else of the last successful
    `search_offers` call.
    """
    for preferred in ("recommend_offers", "search_offers"):
        for outcome in reversed(outcomes):
            if outcome.ok and outcome.name == preferred and outcome.offers:
                unique = {offer["id"]: offer for offer in outcome.offers}
                return list(unique.values())[:limit]
    return []
