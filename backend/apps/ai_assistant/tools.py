"""The assistant's tools, and the one module of the assistant that calls into other apps.

Every read of offers, prices, GPU specs, workload sizing and ranking goes through here, so the
layout change of issue 11 and the serving model of issue 13 touch the imports below and
nothing else in the assistant. Each tool takes its input model (`tool_inputs.py`) and a
`ToolCaller` and returns a JSON-ready dict. Offers always appear as `offer_view()` dicts with
their `id`, so chat recommendations come from what the tools returned, never from model text.
A tool refuses what it cannot answer with `ToolError` (a message written for the model); the
services' own 4xx errors (`ApiError`) become tool errors in `toolbox.run_tool`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from uuid import UUID

from apps.ai_assistant.tool_inputs import (
    CostPerTokenIn,
    EstimateWorkloadIn,
    GetGpuSpecsIn,
    GetPriceHistoryIn,
    RecommendOffersIn,
    SearchOffersIn,
    ToolCaller,
)
from apps.math_core.algorithms.kpi import gpus_needed_for_memory
from apps.math_core.algorithms.model_profiles import MODEL_PROFILES, resolve_model
from apps.math_core.algorithms.workload import estimate_llm_vram
from apps.math_core.schemas import WorkloadProfileIn
from apps.math_core.selectors import gpu_spec_resolve, offer_map_by_ids
from apps.math_core.services import cost_per_token_calculate, offers_recommend, workload_estimate
from apps.providers.selectors import OfferQuery, offer_get, offer_list, offer_price_history
from gpubroker.core.errors import BadRequest, NotFound


class ToolError(Exception):
    """A tool cannot answer these arguments; `message` goes back to the model as the result."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# The listing's page sizes (GET /providers `per_page`).
_PAGE_SIZES = (10, 20, 50, 100)
HISTORY_POINTS_SHOWN = 48
# GeForce cards are the catalogue models named "RTX" + four digits (RTX 3090, RTX 4090 Ti);
# workstation (RTX A6000, RTX 6000 Ada) and data-centre parts are named otherwise. The
# catalogue has no market-segment field yet, so "no consumer cards" is decided by this name.
_CONSUMER_NAME = re.compile(r"^RTX \d{4}(?: Ti)?$")


def gpu_is_consumer(gpu_model: str | None) -> bool:
    """Whether a canonical GPU model is a consumer (GeForce) card."""
    return bool(gpu_model and _CONSUMER_NAME.match(gpu_model))


def offer_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """An offer as the tools return it, from a listing item (GET /providers keys).

    `total_vram_gb` = per-GPU memory x GPU count; `price_per_hour` is the whole instance's, USD.
    """
    count = item["gpu_count"] or 1
    price = float(item["price_per_hour"])
    updated = item.get("last_updated")
    return {
        "id": str(item["id"]),
        "provider": item["provider"],
        "name": item["name"],
        "gpu": item["gpu"],
        "gpu_count": count,
        "gpu_memory_gb": item["gpu_memory_gb"],
        "total_vram_gb": item["gpu_memory_gb"] * count,
        "price_per_hour": price,
        "price_per_gpu_hour": round(price / count, 4),
        "currency": item["currency"],
        "availability": item["availability"],
        "region": item["region"],
        "spot": bool(item["spot"]),
        "stale": bool(item["stale"]),
        "last_updated": updated.isoformat() if updated is not None else None,
    }


def _detail_view(offer_id: UUID) -> dict[str, Any]:
    detail = offer_get(offer_id=offer_id)
    offer = detail.offer
    count = offer.gpu_count or 1
    return offer_view(
        {
            "id": offer.id,
            "provider": offer.provider.name,
            "name": f"{count}x {offer.gpu_type}" if count > 1 else offer.gpu_type,
            "gpu": offer.gpu_model,
            "gpu_count": offer.gpu_count,
            "gpu_memory_gb": offer.gpu_memory_gb,
            "price_per_hour": offer.price_per_hour,
            "currency": offer.currency,
            "availability": offer.availability_status,
            "region": offer.region,
            "spot": offer.spot_pricing,
            "stale": detail.is_stale,
            "last_updated": offer.updated_at,
        }
    )


def offers_by_ids(offer_ids: list[UUID]) -> list[dict[str, Any]]:
    """Listed offers for these ids, in that order; unknown or unlisted ids are left out."""
    views = []
    for offer_id in offer_ids:
        try:
            views.append(_detail_view(offer_id))
        except NotFound:
            continue
    return views


@dataclass(frozen=True)
class KnownModel:
    name: str
    params_billion: float
    kind: str  # llm | diffusion


def known_models() -> list[KnownModel]:
    """The models the workload estimate knows by name, smallest first."""
    models = [KnownModel(p.name, p.params_billion, p.kind) for p in MODEL_PROFILES.values()]
    return sorted(models, key=lambda model: (model.params_billion, model.name))


def market_offer_count() -> int:
    """How many available offers the market lists (the builtin backend's health)."""
    return offer_list(query=OfferQuery(availability="available", per_page=10)).total


# --- search_offers ------------------------------------------------------------------------------


def search_offers(args: SearchOffersIn, caller: ToolCaller) -> dict[str, Any]:
    """Offers matching the listing filters, cheapest first by default; `countries` is any-of."""
    per_page = next(size for size in _PAGE_SIZES if size >= args.limit)
    regions: list[str | None] = (
        [code.upper() for code in args.countries] if args.countries else [args.region]
    )
    items: list[dict[str, Any]] = []
    total = 0
    warnings: set[str] = set()
    for region in regions:
        page = offer_list(
            query=OfferQuery(
                gpu=args.gpu.lower() if args.gpu else None,
                region=region.lower() if region else None,
                provider=args.provider.lower() if args.provider else None,
                availability=args.availability,
                gpu_memory_min=args.gpu_memory_min,
                gpu_count_min=args.gpu_count_min,
                max_price=Decimal(str(args.max_price)) if args.max_price is not None else None,
                spot=args.spot,
                sort=args.sort,
                per_page=per_page,
            )
        )
        total += page.total
        warnings.update(page.warnings)
        items.extend(page.items)
    offers = [offer_view(item) for item in items]
    if len(regions) > 1:
        offers.sort(key=_SORT_KEYS[args.sort])
    return {"total": total, "offers": offers[: args.limit], "warnings": sorted(warnings)}


_SORT_KEYS: Mapping[str, Callable[[dict[str, Any]], Any]] = MappingProxyType(
    {
        "price": lambda offer: (offer["price_per_hour"], offer["id"]),
        "-price": lambda offer: (-offer["price_per_hour"], offer["id"]),
        "gpu_memory": lambda offer: (-offer["gpu_memory_gb"], offer["id"]),
        "cost_per_token": lambda offer: (offer["price_per_gpu_hour"], offer["id"]),
        "updated": lambda offer: (offer["last_updated"] or "", offer["id"]),
    }
)


# --- estimate_workload --------------------------------------------------------------------------

_ESTIMATE_KINDS = MappingProxyType(
    {
        "inference": "llm_inference",
        "batch": "llm_inference",
        "training": "training",
        "fine_tuning": "fine_tuning",
        "image_generation": "image_generation",
        "video_processing": "video_processing",
        "data_processing": "data_processing",
    }
)
# math_core's `quality` stands for the weight format of LLM serving (low int4, medium int8,
# high fp16); fp8 has int8's size. Fine-tuning: low = QLoRA on an int4 base, medium = LoRA.
_QUALITY_BY_PRECISION = MappingProxyType(
    {"fp16": "high", "bf16": "high", "fp8": "medium", "int8": "medium", "int4": "low"}
)
DEFAULT_PRECISION = "fp16"
MODELLED_CONTEXT_TOKENS = 4096  # math_core's workload estimate sizes the KV cache for this


def _llm_sizing(args: EstimateWorkloadIn, notes: list[str]) -> tuple[str, float, float]:
    """(quality, quantity in output tokens, duration in hours) for an LLM serving estimate."""
    precision = args.precision or DEFAULT_PRECISION
    if precision == "fp32":
        raise ToolError(
            "precision: fp32 serving is not modelled by the current estimate; fp16 or bf16 "
            "holds the same model in half the memory"
        )
    if args.precision is None:
        notes.append(f"No precision given: {DEFAULT_PRECISION} weights assumed.")
    elif precision == "fp8":
        notes.append("fp8 weights take one byte per parameter, as int8: sized as int8.")
    rate = args.tokens_per_second
    if rate is None and args.requests_per_second is not None:
        rate = args.requests_per_second * args.output_tokens_per_request
        notes.append(
            f"{args.requests_per_second:g} requests/s x {args.output_tokens_per_request} output "
            f"tokens = {rate:g} output tokens/s."
        )
    hours = args.duration_hours or 1.0
    if rate is not None:
        quantity = rate * 3600 * hours
    elif args.quantity is not None:
        quantity = args.quantity
        if args.duration_hours is None:
            notes.append("No deadline given: the work is sized to finish within one hour.")
    else:
        quantity = 1.0
        notes.append("No throughput target: sized for memory only (one replica).")
    if args.concurrency is not None:
        notes.append(
            f"{args.concurrency} concurrent sequences are not modelled: the current estimate "
            "decodes one sequence at a time per replica (batch 1), which overstates the GPUs a "
            "throughput target needs."
        )
    return _QUALITY_BY_PRECISION[precision], quantity, hours


@dataclass(frozen=True)
class _ContextMemory:
    """Memory of one sequence at the asked context (math_core's estimate_llm_vram)."""

    model_memory_gb: float  # weights + KV cache, before overhead: what shards across GPUs
    kv_cache_gb: float
    min_vram_gb: float  # with overhead and runtime, on one GPU


def _context_memory(args: EstimateWorkloadIn, precision: str) -> _ContextMemory | None:
    """Memory at the context asked for, when it is longer than the estimate's own."""
    if args.context_length is None or args.context_length <= MODELLED_CONTEXT_TOKENS:
        return None
    profile = resolve_model(str(args.model_name))  # known: the estimate accepted the name
    architecture = profile.llm
    if architecture is None:
        return None
    vram = estimate_llm_vram(
        params_billion=profile.params_billion,
        precision=precision,
        context_length=args.context_length,
        concurrency=1,
        layers=architecture.layers,
        kv_heads=architecture.kv_heads,
        head_dim=architecture.head_dim,
    )
    total = math.ceil(vram.total_gb * 10) / 10
    return _ContextMemory(vram.weights_gb + vram.kv_cache_gb, vram.kv_cache_gb, total)


def _unnamed_model_message(params_billion: float) -> str:
    similar = [
        model.name
        for model in known_models()
        if model.kind == "llm" and 0.75 <= model.params_billion / params_billion <= 1.35
    ]
    names = similar or [model.name for model in known_models()]
    label = "models of about that size" if similar else "known models"
    return (
        "model_name: the current estimate needs a model it knows by name (its architecture "
        f"sets the KV cache); {label}: {', '.join(names)}"
    )


def estimate_workload(args: EstimateWorkloadIn, caller: ToolCaller) -> dict[str, Any]:
    """Memory, GPUs per GPU model and current prices for a workload (math_core's estimate).

    Only GPU models with current offers are listed as tiers; each tier's `price_per_hour`
    range is for all its `gpus_needed` GPUs, USD per hour. A context longer than the estimate's
    own (4,096 tokens) is sized with math_core's `estimate_llm_vram` at that context, raising the
    memory and, where needed, the GPU counts.
    """
    kind = _ESTIMATE_KINDS[args.workload_type]
    notes: list[str] = []
    if args.model_name is None and args.params_billion is not None:
        raise ToolError(_unnamed_model_message(args.params_billion))
    quality, quantity, hours = "medium", args.quantity or 1.0, args.duration_hours or 1.0
    if kind == "llm_inference":
        quality, quantity, hours = _llm_sizing(args, notes)
    elif kind in ("training", "fine_tuning"):
        if args.quantity is None or args.duration_hours is None:
            raise ToolError(
                "quantity (training tokens, dataset tokens x epochs) and duration_hours are "
                "required to size training"
            )
        # Full training ignores quality; fine-tuning reads it as QLoRA (low) or LoRA (medium).
        quality = "low" if kind == "fine_tuning" and args.precision == "int4" else "medium"
    elif args.quantity is None:
        notes.append("No quantity given: sized for one unit of work per hour.")
    try:
        estimate = workload_estimate(
            workload_type=kind,
            quantity=quantity,
            duration_hours=hours,
            quality=quality,
            model_name=args.model_name,
        )
    except BadRequest as exc:
        if exc.details.get("field") == "model_name" and args.params_billion is not None:
            raise ToolError(
                f"model_name: {args.model_name!r} is not a model the current estimate knows; "
                + _unnamed_model_message(args.params_billion).split("; ", 1)[1]
            ) from exc
        raise
    min_vram, recommended_vram = estimate.min_vram_gb, estimate.recommended_vram_gb
    context = _context_memory(args, args.precision or DEFAULT_PRECISION)
    if context is not None and kind == "llm_inference":
        min_vram = max(min_vram, context.min_vram_gb)
        recommended_vram = max(recommended_vram, math.ceil(min_vram * 12.5) / 10)
        notes.append(
            f"Sized for the {args.context_length:,}-token context you asked for: a "
            f"{context.kv_cache_gb:.1f} GB KV cache, {context.min_vram_gb:g} GB on one GPU (the "
            f"working above assumes {MODELLED_CONTEXT_TOKENS:,} tokens); GPU counts are raised "
            "where that needs more memory."
        )
    tiers = []
    unpriced = 0
    for tier in estimate.recommended_gpu_tiers:
        if tier.est_cost_range is None:
            unpriced += 1
            continue
        resolved = gpu_spec_resolve(gpu_type=tier.gpu_model)
        vram = float(resolved.gpu.vram_gb) if resolved else None
        gpus = tier.gpus_needed
        if context is not None and vram and kind == "llm_inference":
            gpus = max(
                gpus,
                gpus_needed_for_memory(model_memory_gb=context.model_memory_gb, vram_gb=vram),
            )
        scale = gpus / tier.gpus_needed / hours
        tiers.append(
            {
                "gpu_model": tier.gpu_model,
                "gpus_needed": gpus,
                "gpu_vram_gb": vram,
                "total_vram_gb": vram * gpus if vram else None,
                "vendor": resolved.gpu.vendor if resolved else None,
                "is_consumer": gpu_is_consumer(tier.gpu_model),
                "est_throughput": round(tier.est_throughput, 3),
                "throughput_unit": tier.throughput_unit,
                "price_per_hour": {
                    "min": round(tier.est_cost_range.min * scale, 4),
                    "max": round(tier.est_cost_range.max * scale, 4),
                },
            }
        )
    if unpriced:
        notes.append(f"{unpriced} GPU models that could run it have no current offers.")
    return {
        "workload_type": args.workload_type,
        "model_name": args.model_name,
        "precision": args.precision or (DEFAULT_PRECISION if kind == "llm_inference" else None),
        "min_vram_gb": min_vram,
        "recommended_vram_gb": recommended_vram,
        "tiers": tiers,
        "confidence": estimate.confidence,
        "reasoning": list(estimate.reasoning),
        "notes": notes,
    }


# --- recommend_offers ---------------------------------------------------------------------------


def recommend_offers(args: RecommendOffersIn, caller: ToolCaller) -> dict[str, Any]:
    """Rank candidate offers; offers with less total GPU memory than `min_vram_gb` are dropped
    first, so every recommendation holds the workload."""
    stored = offer_map_by_ids(offer_ids=args.offer_ids)
    unknown = [str(offer_id) for offer_id in args.offer_ids if offer_id not in stored]
    if unknown:
        raise ToolError(f"offer_ids: unknown offers {', '.join(unknown[:5])}")
    candidates = list(dict.fromkeys(args.offer_ids))
    if args.min_vram_gb is not None:
        candidates = [
            offer_id
            for offer_id in candidates
            if stored[offer_id].gpu_memory_gb * (stored[offer_id].gpu_count or 1)
            >= args.min_vram_gb
        ]
        if not candidates:
            raise ToolError(f"none of the offers has {args.min_vram_gb:g} GB of GPU memory")
    ranking = offers_recommend(
        candidate_offers=candidates,
        workload_profile=WorkloadProfileIn(
            vram_gb=args.min_vram_gb, price_per_hour=args.max_price_per_hour
        ),
        top_k=min(args.top_k, len(candidates)),
        requester_id=caller.user_id,
        requester_is_staff=caller.is_staff,
    )
    offers = []
    for rank, item in enumerate(ranking.recommendations, start=1):
        view = _detail_view(UUID(str(item.offer_id)))
        offers.append({**view, "rank": rank, "score": round(item.ensemble_score, 4)})
    return {
        "offers": offers,
        "dropped_for_memory": len(set(args.offer_ids)) - len(candidates),
        "confidence": ranking.confidence,
        "notes": ranking.notes,
    }


# --- get_gpu_specs, get_price_history, cost_per_token -------------------------------------------


def get_gpu_specs(args: GetGpuSpecsIn, caller: ToolCaller) -> dict[str, Any]:
    """Datasheet figures of one GPU (per GPU, dense TFLOPS, GB/s) from the catalogue."""
    resolved = gpu_spec_resolve(gpu_type=args.gpu)
    if resolved is None:
        raise ToolError(f"gpu: unknown or ambiguous GPU {args.gpu!r}; try e.g. 'H100 SXM'")
    specs = asdict(resolved.gpu)
    specs.pop("aliases")
    specs["verified_at"] = resolved.gpu.verified_at.isoformat()
    specs["is_consumer"] = gpu_is_consumer(resolved.gpu.gpu_model)
    specs["assumed_form_factor"] = resolved.used_default_form_factor
    return specs


def get_price_history(args: GetPriceHistoryIn, caller: ToolCaller) -> dict[str, Any]:
    """Price statistics of one offer over the window and its latest points (USD per hour)."""
    history = offer_price_history(offer_id=args.offer_id, window=args.window)
    points = history.points[-HISTORY_POINTS_SHOWN:]
    return {
        "offer_id": str(history.offer_id),
        "window": history.window,
        **asdict(history.statistics),
        "points": [
            {
                "timestamp": point.timestamp.isoformat(),
                "price_per_hour": float(point.price_per_hour),
            }
            for point in points
        ],
        "points_omitted": len(history.points) - len(points),
    }


def cost_per_token(args: CostPerTokenIn, caller: ToolCaller) -> dict[str, Any]:
    """USD per million output tokens of `model_size` on an offer or a priced GPU (batch 1)."""
    if args.offer_id is not None:
        offer = _detail_view(args.offer_id)
        price, gpu_type, gpu_count = offer["price_per_hour"], offer["gpu"], offer["gpu_count"]
    else:
        price, gpu_type, gpu_count = args.price_per_hour, args.gpu_type, args.gpu_count
    result = cost_per_token_calculate(
        price_per_hour=float(price or 0),
        gpu_type=str(gpu_type),
        model_size=args.model_size,
        precision=args.precision,
        gpu_count=int(gpu_count),
    )
    details = result.calculation_details
    return {
        "offer_id": str(args.offer_id) if args.offer_id else None,
        "gpu_model": details.gpu_model,
        "gpu_count": details.gpu_count,
        "price_per_hour": float(price or 0),
        "model_size": args.model_size,
        "precision": details.precision,
        "tokens_per_second": round(result.tokens_per_second, 3),
        "cost_per_million_tokens": round(result.cost_per_million_tokens, 4),
        "confidence": result.confidence,
        "basis": f"one sequence at a time (batch {details.batch_size}), analytic decode model; "
        "batched serving costs less per token",
    }


def model_size_label(params_billion: float) -> str:
    """'70b', '46.7b' or '125m': the size label cost_per_token reads."""
    if params_billion < 1:
        return f"{math.floor(params_billion * 1000)}m"
    return f"{params_billion:g}b"
