"""The builtin backend's answers: short templated text from the parse and the tools' results.

Every figure in an answer comes from a tool result (`estimate_workload`, `search_offers`,
`recommend_offers`, `cost_per_token`); a question ends the text when something essential is
missing, so the next message can be read as its answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apps.ai_assistant.parser_types import ParsedWorkload

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


def _understood(parsed: ParsedWorkload) -> str:
    parts = []
    if parsed.budget is not None:
        parts.append(f"a budget of {parsed.budget.span.text}")
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
    """The answer when `estimate_workload` refused, with its reason and a question."""
    model = parsed.model.value if parsed.model else None
    name = model.name if model and model.name else "this workload"
    reason = error.split(": ", 1)[-1] if error.startswith(("model_name:", "precision:")) else error
    return (
        f"I cannot size {name} yet: {reason}. "
        + _understood(parsed)
        + "Which of these should I use instead, or which details can you change?"
    )


def _subject(parsed: ParsedWorkload, sizing: Mapping[str, Any]) -> str:
    model = parsed.model.value if parsed.model else None
    name = (model.name if model and model.name else None) or sizing.get("model_name") or "This"
    parts = [name]
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
        f"({offer['region']}): ${offer['price_per_hour']:,.2f}/h for {offer['total_vram_gb']} GB"
    )
    if cost is not None:
        line += f", about ${cost:,.2f} per million output tokens served at full load"
    return line + "."


def sized(
    *,
    parsed: ParsedWorkload,
    sizing: Mapping[str, Any],
    options: Sequence[Mapping[str, Any]],
    offers: Sequence[Mapping[str, Any]],
    token_costs: Mapping[str, float],
    notes: Sequence[str],
    carried: Sequence[str],
    search: Mapping[str, Any],
    budget_per_hour: float | None,
    per_gpu_budget: bool,
) -> str:
    """What the workload needs and why, and the best offers with $/h and $/M tokens.

    Ends with a question when no offer fits.
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
    if options:
        lines.append(f"Cheapest GPU options that hold it: {_options(options)}.")
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
    lines.append(
        "Prices are current on-demand hourly prices of the whole instance; the offers, with "
        "their ids, are in `recommendations`."
    )
    return "\n".join(lines)
