"""The builtin backend's answers: short templated text from the parse and the tools' results.

Every figure in an answer comes from a tool result (`estimate_workload`, `search_offers`,
`recommend_offers`, `cost_per_token`); a question ends the text when something essential is
missing, so the next message can be read as its answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apps.ai_assistant.parser_types import Budget, ParsedWorkload

EXAMPLES = (
    '"serve Llama 3 70B in FP8 with 32k context for under $10 an hour", '
    '"fine-tune Mistral 7B on 50M tokens in 6 hours" or '
    '"generate 10,000 images with SDXL within a day"'
)
VERBS = {
    "inference": "serve",
    "batch": "run in batch",
    "training": "train",
    "fine_tuning": "fine-tune",
    "image_generation": "generate images with",
}
FIELD_LABELS = {
    "workload_type": "the workload",
    "model": "the model",
    "precision": "the precision",
    "context_length": "the context length",
    "throughput": "the throughput",
    "concurrency": "the concurrency",
    "quantity": "the amount of work",
    "duration_hours": "the duration",
    "region": "the region",
    "budget": "the budget",
    "vram_gb": "the memory",
    "gpu_preferences": "the GPU preference",
    "gpu_exclusions": "the GPU exclusions",
    "spot": "spot",
}
OPTIONS_SHOWN = 4
TIMES = "\u00d7"  # the multiplication sign, escaped for ruff's confusable-letter check


CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£"}
BUDGET_PERIODS = {
    "hour": " an hour",
    "day": " a day",
    "week": " a week",
    "month": " a month",
    "total": " in total",
}


def budget_text(budget: Budget) -> str:
    """A budget as the answer restates it: "$500 in total", "€1.50 per GPU-hour"."""
    sign = CURRENCY_SIGNS.get(budget.currency)
    amount = f"{budget.amount:,.2f}".removesuffix(".00")
    money = f"{sign}{amount}" if sign else f"{amount} {budget.currency}"
    if budget.per_gpu:
        return f"{money} per GPU-{budget.period}"
    return money + BUDGET_PERIODS.get(budget.period, f" per {budget.period}")


def _understood(parsed: ParsedWorkload) -> str:
    parts = []
    if parsed.budget is not None:
        parts.append(f"a budget of {budget_text(parsed.budget.value)}")
    if parsed.region is not None:
        parts.append(f"region {parsed.region.value.name}")
    if parsed.gpu_preferences:
        parts.append("GPUs " + ", ".join(found.value.name for found in parsed.gpu_preferences))
    if parsed.precision is not None:
        parts.append(parsed.precision.value.format)
    if parsed.context_length is not None:
        parts.append(f"{parsed.context_length.value:,}-token context")
    return f"So far I have: {', '.join(parts)}. " if parts else ""


def ask_for_workload(parsed: ParsedWorkload) -> str:
    """The question when neither a workload nor a model was named."""
    return (
        "I size GPU rentals from live offers. "
        + _understood(parsed)
        + f"Tell me what you want to run, for example {EXAMPLES}. "
        "Which model do you want to run, and how: serving, batch, training or fine-tuning?"
    )


def embeddings_not_sized(parsed: ParsedWorkload) -> str:
    """The answer to an embeddings workload, which the estimate does not size."""
    return (
        "Embedding workloads are not sized yet: the workload estimate covers LLM serving, "
        "training and fine-tuning, image generation, video and data processing. "
        + _understood(parsed)
        + "Which LLM or image model should I size instead, or should I list the cheapest "
        "offers with the GPU memory you need?"
    )


def ask_for_model(parsed: ParsedWorkload, kind: str) -> str:
    """The question when the workload needs a model and none was named."""
    verb = VERBS.get(kind, "run")
    return (
        _understood(parsed)
        + f"Which model do you want to {verb}? Name it (for example Llama 3 70B, Mixtral 8x7B, "
        "Qwen2 72B) and, if you know it, the precision (fp16, fp8, int4)?"
    )


def cannot_size(parsed: ParsedWorkload, error: str) -> str:
    """The answer when `estimate_workload` refused, with its reason and a question.

    "Which of these" only when the reason lists something to choose from (the known models).
    """
    model = parsed.model.value if parsed.model else None
    name = model.name if model and model.name else "this workload"
    reason = error.split(": ", 1)[-1] if error.startswith(("model_name:", "precision:")) else error
    question = (
        "Which of these should I use instead, or which details can you change?"
        if "include" in reason
        else "Which details can you change?"
    )
    return f"I cannot size {name} yet: {reason}. " + _understood(parsed) + question


def ask_for_training_work(
    parsed: ParsedWorkload, kind: str, *, needs_tokens: bool, needs_hours: bool
) -> str:
    """The question when training or fine-tuning lacks its amount of work or its deadline.

    Args:
        parsed: The message's fields (the model, what else it already says).
        kind: "training" or "fine_tuning".
        needs_tokens: No amount of training tokens was given.
        needs_hours: No duration was given.
    """
    model = parsed.model.value if parsed.model else None
    name = model.name if model and model.name else "the model"
    tokens = f"How many training tokens (dataset tokens {TIMES} epochs)"
    if needs_tokens and needs_hours:
        question = f"{tokens}, and in how many hours should it finish?"
    elif needs_tokens:
        question = f"{tokens} should it train on?"
    else:
        question = "In how many hours should it finish?"
    return (
        f"To size how to {VERBS.get(kind, 'train')} {name} I need the amount of work and the "
        "time it may take. " + _understood(parsed) + question
    )


def _subject(parsed: ParsedWorkload, sizing: Mapping[str, Any]) -> str:
    model = parsed.model.value if parsed.model else None
    name = (model.name if model and model.name else None) or sizing.get("model_name")
    if not name and model is not None and model.params_billion:
        name = f"A {model.params_billion:g}B model"
    parts = [name or "This workload"]
    if sizing.get("precision"):
        parts.append(f"in {sizing['precision']}")
    if parsed.context_length is not None:
        parts.append(f"with a {parsed.context_length.value:,}-token context")
    return " ".join(parts)


def _options(tiers: Sequence[Mapping[str, Any]]) -> str:
    shown = []
    for tier in tiers[:OPTIONS_SHOWN]:
        memory = f", {tier['total_vram_gb']:g} GB" if tier.get("total_vram_gb") else ""
        price = tier["price_per_hour"]["min"]
        shown.append(f"{tier['gpus_needed']}x {tier['gpu_model']} (from ${price:,.2f}/h{memory})")
    return ", ".join(shown)


def _constraints(search: Mapping[str, Any], budget_per_hour: float | None, per_gpu: bool) -> str:
    parts = []
    if budget_per_hour is not None:
        unit = "per GPU-hour" if per_gpu else "an hour"
        parts.append(f"under ${budget_per_hour:,.2f} {unit}")
    if search.get("countries"):
        codes = search["countries"]
        parts.append("in " + (", ".join(codes) if len(codes) <= 4 else f"{len(codes)} countries"))
    if search.get("region"):
        parts.append(f"in {search['region']}")
    if search.get("spot") is True:
        parts.append("spot-capable")
    elif search.get("spot") is False:
        parts.append("without a spot option")
    return f" ({', '.join(parts)})" if parts else ""


def _offer_line(number: int, offer: Mapping[str, Any], cost: float | None) -> str:
    line = (
        f"{number}. {offer['gpu_count']}x {offer['gpu']} at {offer['provider']} "
        f"({offer.get('location') or offer['region']}): ${offer['price_per_hour']:,.2f}/h "
        f"for {offer['total_vram_gb']} GB"
    )
    if cost is not None:
        line += f", about ${cost:,.2f} per million output tokens served at full load"
    return line + "."


def sized(
    *,
    parsed: ParsedWorkload,
    sizing: Mapping[str, Any],
    options: Sequence[Mapping[str, Any]],
    options_are_offers: bool,
    offers: Sequence[Mapping[str, Any]],
    price_first: bool,
    token_costs: Mapping[str, float],
    notes: Sequence[str],
    carried: Sequence[str],
    search: Mapping[str, Any],
    budget_per_hour: float | None,
    per_gpu_budget: bool,
) -> str:
    """What the workload needs and why, and the best offers with $/h and $/M tokens.

    `options` are offers (each GPU model's cheapest, by price) when `options_are_offers`, else
    the estimate's tiers, labelled as estimates. `price_first`: the offers are ordered by price
    and the answer says so; otherwise it says they are in the recommender's order. Ends with a
    question when no offer fits.
    """
    headroom = (
        f" ({sizing['recommended_vram_gb']:g} GB with headroom)"
        if sizing["recommended_vram_gb"] > sizing["min_vram_gb"]
        else ""
    )
    lines = [
        f"{_subject(parsed, sizing)} needs about {sizing['min_vram_gb']:g} GB of GPU "
        f"memory{headroom}."
    ]
    if options and options_are_offers:
        lines.append(f"Cheapest GPU options that hold it: {_options(options)}.")
    elif options:
        lines.append(
            "GPU options that could hold it, estimated at the cheapest price per GPU times the "
            f"GPUs needed (no offer found here sells them): {_options(options)}."
        )
    why = [line for line in sizing.get("reasoning", []) if " GB" in line][:3]
    if why:
        lines.append("Working: " + " ".join(why))
    lines += [f"Note: {note}" for note in [*sizing.get("notes", []), *notes]]
    if carried:
        labels = ", ".join(FIELD_LABELS.get(name, name) for name in carried)
        lines.append(f"Carried over from your earlier message: {labels}.")
    constraints = _constraints(search, budget_per_hour, per_gpu_budget)
    if not offers:
        lines.append(
            f"No available offer{constraints} holds it right now. Should I look with a higher "
            "budget, another region or a smaller precision?"
        )
        return "\n".join(lines)
    lines.append("")
    lines.append(f"Best offers{constraints}:")
    for number, offer in enumerate(offers, start=1):
        lines.append(_offer_line(number, offer, token_costs.get(offer["id"])))
    if price_first:
        lines.append("You asked for cheap: these are the cheapest offers, by price.")
    else:
        lines.append(
            "Ranked by the recommender on price, memory, compute and reliability together, so "
            "a dearer offer can come first."
        )
    lines.append("Prices are current on-demand hourly prices of the whole instance.")
    return "\n".join(lines)
