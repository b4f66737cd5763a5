"""The builtin backend: offline and deterministic, no language model.

parse (already done) -> `estimate_workload` -> `search_offers` for the cheapest GPU options that
hold the workload -> `recommend_offers` -> `cost_per_token` per recommended offer -> a short
templated answer (`builtin_answer.py`). Every step is a real tool call through `toolbox`, so
the response's `tool_calls` show the working and its recommendations are the tools' offers.

When something essential is missing (which model, what workload) the answer is a question. An
answer to such a question is read together with the message that led to it: fields the new
message does not give are carried over from the earlier ones.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async

from algorithms.model_registry import registry_entry_for
from apps.ai_assistant import tool_results, tools
from apps.ai_assistant.backends import builtin_answer as answer
from apps.ai_assistant.backends.base import BackendReply, ChatBackend, ChatRequest, Probe
from apps.ai_assistant.parser import parse_workload
from apps.ai_assistant.parser_types import (
    FIELD_NAMES,
    Budget,
    GpuMention,
    ModelMention,
    ParsedWorkload,
)
from apps.ai_assistant.toolbox import ToolOutcome, run_tool

MAX_TIERS_SEARCHED = 6  # GPU options (cheapest first) whose offers are fetched
OFFERS_PER_TIER = 10
OFFERS_BY_MEMORY = 20  # the cheapest offers of any kept GPU model that hold the workload
MAX_CANDIDATES = 60
TOP_OFFERS = 3
# Precisions a GPU may lack in hardware (fp8 tensor cores, bf16), served by falling back to fp16.
FALLBACK_PRECISIONS = ("fp8", "bf16")
STREAM_CHUNK_CHARS = 48
LLM_KINDS = ("inference", "batch")
# The parser's region groups that name a continent the listing knows as a macro-region
# (`GET /providers?region=Europe`): searched as that region, so the answer finds the offers the
# listing shows, in one query per GPU option (Europe's 32 countries exceed `countries`' limit).
# The political groups (EU, EEA, Nordics) and LATAM (the listing's South America leaves out
# Mexico) are searched by their countries.
LISTING_MACRO_REGIONS = {"Europe": "Europe", "North America": "North America", "APAC": "APAC"}
# A message that asks for a low price: its recommendations are ordered by price.
PRICE_FIRST = re.compile(
    r"\b(?:cheap(?:er|est)?|inexpensive|low[- ]cost|lowest[- ]price[sd]?|budget[- ]friendly)\b",
    re.IGNORECASE,
)


@dataclass
class _Run:
    """One answer in the making: the tool calls so far and what they found."""

    request: ChatRequest
    outcomes: list[ToolOutcome] = field(default_factory=list)

    def call(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        outcome = run_tool(name, arguments, caller=self.request.caller)
        self.outcomes.append(outcome)
        return outcome


def with_earlier_answers(request: ChatRequest) -> tuple[ParsedWorkload, list[str]]:
    """The message's fields, completed from the messages whose question it answers.

    When the previous reply asked a question, the user's earlier messages (back to the first one
    that was not answered by a question) fill in every field the new message leaves empty.
    Returns the merged parse and the names of the fields carried over.
    """
    parsed = request.parsed
    carried: list[str] = []
    for turn in reversed(request.history):
        if not turn.assistant.rstrip().endswith("?"):
            break
        earlier = parse_workload(turn.user)
        changes: dict[str, Any] = {}
        for name in FIELD_NAMES:
            if not getattr(parsed, name) and getattr(earlier, name):
                changes[name] = getattr(earlier, name)
        # "Qwen2 72B", answering "which model?", only implies inference through the name; what
        # the earlier message said to do with a model wins.
        implied = parsed.workload_type is not None and (
            parsed.model is not None and parsed.workload_type.span == parsed.model.span
        )
        if implied and earlier.workload_type is not None:
            changes["workload_type"] = earlier.workload_type
        carried += [name for name in changes if name not in carried]
        parsed = dataclasses.replace(parsed, **changes)
    return parsed, carried


def hourly_budget(
    budget: Budget | None, duration_hours: float | None
) -> tuple[float | None, bool, str | None]:
    """(limit in USD per hour or None, whether it is per GPU, a note about the conversion)."""
    if budget is None:
        return None, False, None
    note = None
    if budget.currency != "USD":
        note = f"Offers are priced in USD; your {budget.currency} budget is compared as is."
    per_unit = {"hour": 1.0, "day": 24.0, "week": 168.0, "month": 730.0}
    if budget.period in per_unit:
        return budget.amount / per_unit[budget.period], budget.per_gpu, note
    if duration_hours:
        return budget.amount / duration_hours, budget.per_gpu, note
    total_note = (
        f"A total budget of {budget.amount:,.0f} {budget.currency} needs a duration to compare "
        "with hourly prices, so it is not applied."
    )
    return None, False, total_note


def _matches(tier: Mapping[str, Any], gpu: GpuMention) -> bool:
    if gpu.name == "consumer":
        return bool(tier["is_consumer"])
    if gpu.name in ("AMD", "NVIDIA"):
        return str(tier.get("vendor") or "").upper() == gpu.name
    model = str(tier["gpu_model"]).upper()
    family = gpu.family.upper()
    if not re.search(rf"(?<![A-Z0-9]){re.escape(family)}(?![0-9])", model):
        return False
    return gpu.memory_gb is None or tier.get("gpu_vram_gb") == gpu.memory_gb


def choose_tiers(
    tiers: list[dict[str, Any]], parsed: ParsedWorkload, budget_per_hour: float | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The GPU options that may be recommended, cheapest estimate first, and notes.

    The notes say what was left out (exclusions, a preference no option meets). The first
    MAX_TIERS_SEARCHED are searched by GPU model; all of them bound the search by memory
    (`_candidates`).
    """
    notes = []
    kept = [
        tier
        for tier in tiers
        if not any(_matches(tier, found.value) for found in parsed.gpu_exclusions)
    ]
    if len(kept) < len(tiers):
        names = ", ".join(found.value.name for found in parsed.gpu_exclusions)
        notes.append(f"Left out as you asked: {names}.")
    if parsed.gpu_preferences:
        preferred = [
            tier
            for tier in kept
            if any(_matches(tier, found.value) for found in parsed.gpu_preferences)
        ]
        names = ", ".join(found.value.name for found in parsed.gpu_preferences)
        if preferred:
            kept = preferred
        else:
            notes.append(f"No {names} option can hold this workload with current offers.")
    if budget_per_hour is not None:
        kept = [tier for tier in kept if tier["price_per_hour"]["min"] <= budget_per_hour]
    kept.sort(key=lambda tier: (tier["price_per_hour"]["min"], tier["gpus_needed"]))
    return kept, notes


def _search_arguments(
    request: ChatRequest, parsed: ParsedWorkload, budget_per_hour: float | None
) -> dict[str, Any]:
    filters = dict(request.context.get("filters") or {})
    arguments: dict[str, Any] = {"availability": filters.get("availability") or "available"}
    for name in ("provider", "gpu_memory_min"):
        if filters.get(name) is not None:
            arguments[name] = filters[name]
    limits = [value for value in (budget_per_hour, filters.get("max_price")) if value is not None]
    if limits:
        arguments["max_price"] = round(min(limits), 4)
    if filters.get("region"):
        arguments["region"] = filters["region"]
    elif parsed.region is not None:
        region = parsed.region.value
        if region.kind == "group" and region.name in LISTING_MACRO_REGIONS:
            arguments["region"] = LISTING_MACRO_REGIONS[region.name]
        else:
            arguments["countries"] = list(region.countries)
    # Every offer's `price_per_hour` is its on-demand price, and `spot: false` would mean "no
    # spot option" (leaving out every marketplace offer that can also run as spot), so the
    # message never filters on spot; only a filter the client set explicitly does.
    if filters.get("spot") is not None:
        arguments["spot"] = filters["spot"]
    return arguments


def _estimate_arguments(parsed: ParsedWorkload) -> dict[str, Any]:
    kind = parsed.workload_type.value if parsed.workload_type else "inference"
    model = parsed.model.value if parsed.model else None
    arguments: dict[str, Any] = {"workload_type": kind}
    if model is not None and model.name:
        arguments["model_name"] = model.name
    if model is not None and model.params_billion:
        arguments["params_billion"] = model.params_billion
    if parsed.precision is not None:
        arguments["precision"] = parsed.precision.value.format
    if parsed.context_length is not None:
        arguments["context_length"] = parsed.context_length.value
    if parsed.throughput is not None:
        rate = parsed.throughput.value
        key = "tokens_per_second" if rate.unit == "tokens_per_second" else "requests_per_second"
        arguments[key] = rate.value
    if parsed.concurrency is not None:
        arguments["concurrency"] = parsed.concurrency.value
    if parsed.quantity is not None:
        arguments["quantity"] = parsed.quantity.value.value
    if parsed.duration_hours is not None:
        arguments["duration_hours"] = parsed.duration_hours.value
    return arguments


def _candidates(
    run: _Run,
    tiers: list[dict[str, Any]],
    search: dict[str, Any],
    min_vram_gb: float,
    per_gpu_budget: float | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Offers of the chosen GPU options that hold the workload, cheapest first; search errors.

    An offer is kept when it holds `min_vram_gb` and has at least the GPUs its model's option
    needs (more than memory needs when a deadline or a demand asks for throughput).

    A tier's price is an estimate (its GPU count at the cheapest per-GPU price of any offer), so
    the cheapest tiers may have no offer with that many GPUs while a dearer tier has a cheap
    one (one MI300X holds what takes 16 RTX 3060). Hence one search by the instance's total
    memory (the cheapest offers that hold the workload, of any GPU model kept) besides the
    searches of the MAX_TIERS_SEARCHED cheapest tiers by GPU model.
    """
    # The GPUs each kept model needs: memory, and for a deadline or a demand, throughput.
    gpus_needed = {tier["gpu_model"]: tier["gpus_needed"] for tier in tiers}
    searches = [
        {**search, "gpu_memory_total_min": math.ceil(min_vram_gb), "limit": OFFERS_BY_MEMORY}
    ]
    searches += [
        {
            **search,
            "gpu": tier["gpu_model"],
            "gpu_count_min": tier["gpus_needed"],
            "limit": OFFERS_PER_TIER,
        }
        for tier in tiers[:MAX_TIERS_SEARCHED]
    ]
    found: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for arguments in searches:
        outcome = run.call("search_offers", arguments)
        if not outcome.ok:
            errors.append(str(outcome.error))
        for offer in outcome.offers:
            fits = (
                offer["gpu"] in gpus_needed
                and offer["gpu_count"] >= gpus_needed[offer["gpu"]]
                and offer["total_vram_gb"] >= min_vram_gb
            )
            if per_gpu_budget is not None and offer["price_per_gpu_hour"] > per_gpu_budget:
                fits = False
            if fits:
                found.setdefault(offer["id"], offer)
    offers = sorted(found.values(), key=lambda offer: (offer["price_per_hour"], offer["id"]))
    return offers, list(dict.fromkeys(errors))


def listed_options(offers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each GPU model among `offers` as its cheapest offer, cheapest first.

    The estimate's tiers price a GPU count at the cheapest per-GPU price of any offer, which
    no single offer may sell (16 x RTX 3060 when the largest listed has 8); the answer names
    what can be rented: the offer's GPU count, instance price (USD/hour) and memory (GB).
    """
    cheapest: dict[str, dict[str, Any]] = {}
    for offer in sorted(offers, key=lambda offer: (offer["price_per_hour"], offer["id"])):
        cheapest.setdefault(offer["gpu"], offer)
    return [
        {
            "gpu_model": offer["gpu"],
            "gpus_needed": offer["gpu_count"],
            "total_vram_gb": offer["total_vram_gb"],
            "price_per_hour": {"min": offer["price_per_hour"]},
        }
        for offer in cheapest.values()
    ]


@dataclass(frozen=True)
class _Answer:
    text: str
    outcomes: list[ToolOutcome]
    offers: list[dict[str, Any]] = field(default_factory=list)


def _compose(request: ChatRequest) -> _Answer:
    run = _Run(request)
    parsed, carried = with_earlier_answers(request)
    kind = parsed.workload_type.value if parsed.workload_type else None
    if kind is None and parsed.model is None:
        return _Answer(answer.ask_for_workload(parsed), run.outcomes)
    if kind == "embeddings":
        return _Answer(answer.embeddings_not_sized(parsed), run.outcomes)
    if parsed.model is None and kind in (*LLM_KINDS, "training", "fine_tuning"):
        return _Answer(answer.ask_for_model(parsed, kind), run.outcomes)
    if kind in ("training", "fine_tuning") and (
        parsed.quantity is None or parsed.duration_hours is None
    ):
        question = answer.ask_for_training_work(
            parsed,
            kind,
            needs_tokens=parsed.quantity is None,
            needs_hours=parsed.duration_hours is None,
        )
        return _Answer(question, run.outcomes)
    estimate = run.call("estimate_workload", _estimate_arguments(parsed))
    if not estimate.ok or estimate.result is None:
        return _Answer(answer.cannot_size(parsed, str(estimate.error)), run.outcomes)
    sizing = estimate.result
    duration = parsed.duration_hours.value if parsed.duration_hours else None
    budget = parsed.budget.value if parsed.budget else None
    budget_per_hour, per_gpu, budget_note = hourly_budget(budget, duration)
    instance_budget = None if per_gpu else budget_per_hour
    tiers, notes = choose_tiers(sizing["tiers"], parsed, None if per_gpu else budget_per_hour)
    notes = [*(([budget_note]) if budget_note else []), *notes]
    search = _search_arguments(request, parsed, instance_budget)
    offers, errors = _candidates(
        run, tiers, search, sizing["min_vram_gb"], budget_per_hour if per_gpu else None
    )
    notes += [f"The offer search failed: {error}" for error in errors]
    price_first = bool(PRICE_FIRST.search(parsed.text))
    top: list[dict[str, Any]] = []
    if offers:
        # Asked for cheap: the recommender ranks the cheapest offers, shown by price.
        ranked = run.call(
            "recommend_offers",
            {
                "offer_ids": [
                    offer["id"] for offer in offers[: TOP_OFFERS if price_first else MAX_CANDIDATES]
                ],
                "min_vram_gb": sizing["min_vram_gb"],
                **({"max_price_per_hour": instance_budget} if instance_budget else {}),
                "top_k": TOP_OFFERS,
            },
        )
        top = list(ranked.offers) if ranked.ok else offers[:TOP_OFFERS]
        if price_first:
            top.sort(key=lambda offer: (offer["price_per_hour"], offer["id"]))
    token_costs, fallback_notes = _token_costs(run, parsed, top) if kind in LLM_KINDS else ({}, [])
    notes += fallback_notes
    text = answer.sized(
        parsed=parsed,
        sizing=sizing,
        options=listed_options(offers) if offers else tiers,
        options_are_offers=bool(offers),
        offers=top,
        price_first=price_first,
        token_costs=token_costs,
        notes=notes,
        carried=carried,
        search=search,
        budget_per_hour=budget_per_hour,
        per_gpu_budget=per_gpu,
    )
    return _Answer(text, run.outcomes, top)


def token_cost_model(model: ModelMention | None) -> str | None:
    """What `cost_per_token` prices for `model`: its registry id, else its size ("13b").

    A registry model is priced from its own architecture, as the listing's `model=` prices it
    (a mixture of experts by its active parameters); only a model known just by its size is
    priced as a dense model of that size. None when neither is known.
    """
    if model is None:
        return None
    known = registry_entry_for(model.name) if model.name else None
    if known is not None:
        return known.id
    return tool_results.model_size_label(model.params_billion) if model.params_billion else None


def _token_costs(
    run: _Run, parsed: ParsedWorkload, offers: list[dict[str, Any]]
) -> tuple[dict[str, float], list[str]]:
    """$/M output tokens per offer id, and notes on GPUs that lack the precision asked for.

    fp8 on a GPU without fp8 tensor cores (or bf16 without bf16 support) is priced as the
    serving model runs it, computing in fp16; the note says so, per GPU model.
    """
    model_size = token_cost_model(parsed.model.value if parsed.model else None)
    if model_size is None:
        return {}, []
    costs = {}
    fallbacks: dict[str, str] = {}
    for offer in offers:
        arguments: dict[str, Any] = {"offer_id": offer["id"], "model_size": model_size}
        if parsed.precision is not None:
            arguments["precision"] = parsed.precision.value.format
        outcome = run.call("cost_per_token", arguments)
        if outcome.ok and outcome.result is not None:
            result = outcome.result
            costs[offer["id"]] = float(result["cost_per_million_tokens"])
            if result["precision"] in FALLBACK_PRECISIONS and (
                result["compute_format"] != result["precision"]
            ):
                fallbacks.setdefault(
                    offer["gpu"], f"{result['precision']} falls back ({result['compute_note']})"
                )
    notes = [f"On {gpu}, {note}; its $/M tokens are priced so." for gpu, note in fallbacks.items()]
    return costs, notes


def _chunks(text: str) -> list[str]:
    pieces: list[str] = []
    current = ""
    for word in re.findall(r"\S+\s*", text):
        current += word
        if len(current) >= STREAM_CHUNK_CHARS or current.endswith("\n"):
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


class BuiltinBackend(ChatBackend):
    """Offline and deterministic: parse, estimate, search, rank, price, templated answer."""

    name = "builtin"
    model = None

    async def events(self, request: ChatRequest) -> AsyncIterator[str | BackendReply]:
        """The answer in word-aligned chunks of about 48 characters, then the reply."""
        result = await sync_to_async(_compose)(request)
        for piece in _chunks(result.text):
            yield piece
        # The offers the answer names: those recommend_offers ranked (or, should ranking fail,
        # the cheapest that search_offers found and that hold the workload).
        yield BackendReply(
            text=result.text,
            outcomes=tuple(result.outcomes),
            recommendations=tuple(result.offers),
            model=None,
        )

    async def probe(self, *, timeout_seconds: float) -> Probe:
        """Ok when the market lists available offers; degraded when it lists none.

        With no offers the builtin backend can only ask questions.
        """
        started = time.perf_counter()
        count = await sync_to_async(tools.market_offer_count)()
        latency = (time.perf_counter() - started) * 1000
        if count == 0:
            return Probe("degraded", latency, "no available offers to recommend")
        return Probe("ok", latency)
