"""The assistant's tools, and the one module of the assistant that calls into other apps.

Every read of offers, prices, GPU specs, workload sizing and ranking goes through here, so a
change of another app's API touches the imports below and nothing else in the assistant. Each
tool takes its input model (`tool_inputs.py`) and a `ToolCaller` and returns a JSON-ready dict.
Offers always appear as `offer_view()` dicts with their `id`, so chat recommendations come from
what the tools returned, never from model text. A tool refuses what it cannot answer with
`ToolError` (a message written for the model); the services' own 4xx errors (`ApiError`) become
tool errors in `toolbox.run_tool`.

The tools take plain values and dataclasses from the apps below (never their Ninja schemas).
The workload estimate is reached through `estimate_workload` alone (see its docstring).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from uuid import UUID

from algorithms.content_based import WorkloadProfile
from algorithms.workload import WorkloadRequest
from apps.ai_assistant.tool_inputs import (
    CostPerTokenIn,
    EstimateWorkloadIn,
    GetGpuSpecsIn,
    GetPriceHistoryIn,
    RecommendOffersIn,
    SearchOffersIn,
    ToolCaller,
)
from apps.ai_assistant.tool_results import SORT_KEYS, gpu_is_consumer, offer_view
from apps.gpus.selectors import gpu_resolve
from apps.math_core.services.costs import cost_per_token_calculate
from apps.math_core.services.workload import WorkloadEstimateResult, workload_estimate
from apps.providers.errors import OfferNotFound
from apps.providers.selectors.history import offer_price_history
from apps.providers.selectors.offers import OfferQuery, offer_get, offer_list, offers_by_ids
from apps.recommendations.services import offers_recommend
from gpubroker.core.errors import BadRequest


class ToolError(Exception):
    """A tool cannot answer these arguments; `message` goes back to the model as the result."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# The listing's page sizes (GET /providers `per_page`).
_PAGE_SIZES = (10, 20, 50, 100)
HISTORY_POINTS_SHOWN = 48


def _detail_view(offer_id: UUID) -> dict[str, Any]:
    """`offer_view` of one listed offer; raises OfferNotFound (a 404, a tool error)."""
    return offer_view(offer_get(offer_id=offer_id).item)


def offer_views_by_ids(offer_ids: list[UUID]) -> list[dict[str, Any]]:
    """Listed offers for these ids, in that order; unknown or unlisted ids are left out.

    Args:
        offer_ids: Offer ids, e.g. those an external agent named.

    Returns:
        `offer_view` dicts with the catalogue's current figures.
    """
    views = []
    for offer_id in offer_ids:
        try:
            views.append(_detail_view(offer_id))
        except OfferNotFound:
            continue
    return views


def market_offer_count() -> int:
    """How many available offers the market lists (the builtin backend's health)."""
    return offer_list(query=OfferQuery(availability="available", per_page=10)).total


# --- search_offers ------------------------------------------------------------------------------


def search_offers(args: SearchOffersIn, caller: ToolCaller) -> dict[str, Any]:
    """Offers matching the listing filters (GET /providers), cheapest first by default.

    Args:
        args: The filters; `countries` is any-of (one listing query per country).
        caller: Unused (the listing is public).

    Returns:
        `{total, offers: [offer_view...] (at most args.limit), warnings}`.
    """
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
                gpu_memory_total_min=args.gpu_memory_total_min,
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
        offers.sort(key=SORT_KEYS[args.sort])
    return {"total": total, "offers": offers[: args.limit], "warnings": sorted(warnings)}


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
DEFAULT_PRECISION = "fp16"
# fine_tuning's `quality` for the estimate: QLoRA on a 4-bit base, else LoRA
# (`algorithms.workload_plans.FINE_TUNING_METHODS`).
_FINE_TUNING_QUALITY = MappingProxyType({"int4": "low"})


def _llm_request_fields(args: EstimateWorkloadIn, notes: list[str]) -> dict[str, Any]:
    """The serving model's inputs for an LLM: precision, context and one demand form.

    With no demand at all, one request in flight (`concurrency=1`) sizes the smallest
    deployment; the note says so.
    """
    fields: dict[str, Any] = {
        "precision": args.precision or DEFAULT_PRECISION,
        "context_tokens": args.context_length,
        "output_tokens": args.output_tokens_per_request,
    }
    if args.precision is None:
        notes.append(f"No precision given: {DEFAULT_PRECISION} weights assumed.")
    given = [
        name
        for name in ("tokens_per_second", "requests_per_second", "concurrency", "quantity")
        if getattr(args, name) is not None
    ]
    if len(given) > 1:
        notes.append(
            f"{given[0]} sets the demand; {', '.join(given[1:])} left out (the estimate takes "
            "one demand form)."
        )
    if args.tokens_per_second is not None:
        fields["output_tokens_per_second"] = args.tokens_per_second
    elif args.requests_per_second is not None:
        fields["requests_per_second"] = args.requests_per_second
    elif args.concurrency is not None:
        fields["concurrency"] = args.concurrency
    elif args.quantity is not None:
        fields["quantity"] = args.quantity
        fields["duration_hours"] = args.duration_hours or 1.0
        if args.duration_hours is None:
            notes.append("No deadline given: the tokens are sized to be served within one hour.")
        return fields
    else:
        fields["concurrency"] = 1
        notes.append("No throughput target: sized for one request in flight on one replica.")
    fields["duration_hours"] = args.duration_hours
    return fields


def _model_name(args: EstimateWorkloadIn) -> str | None:
    """The model to size: its name, else its parameter count as a name ("13b") to estimate from."""
    if args.model_name is None and args.params_billion is not None:
        return f"{args.params_billion:g}b"
    return args.model_name


def _workload_call(
    args: EstimateWorkloadIn, kind: str, notes: list[str]
) -> tuple[WorkloadEstimateResult, float]:
    """math_core's `workload_estimate` for the tool's arguments, and the hours its cost spans.

    The only call into the workload estimate: the tool's fields map onto
    `algorithms.workload.WorkloadRequest`; every assumption goes into `notes`. A model name the
    registry does not know, given with `params_billion`, is sized from that count instead.
    """
    fields: dict[str, Any] = {"quantity": args.quantity, "duration_hours": args.duration_hours}
    quality = "medium"
    if kind == "llm_inference":
        fields = _llm_request_fields(args, notes)
    elif kind in ("training", "fine_tuning"):
        missing = [
            text
            for text, value in (
                ("quantity (training tokens, dataset tokens x epochs)", args.quantity),
                ("duration_hours", args.duration_hours),
            )
            if value is None
        ]
        if missing:
            verb = "are" if len(missing) > 1 else "is"
            raise ToolError(f"{' and '.join(missing)} {verb} required to size training")
        quality = _FINE_TUNING_QUALITY.get(args.precision or "", "medium")
    elif args.quantity is None:
        notes.append("No quantity given: sized for one unit of work per hour.")
        fields = {"quantity": 1.0, "duration_hours": args.duration_hours or 1.0}
    elif args.duration_hours is None:
        fields["duration_hours"] = 1.0
    request = WorkloadRequest(
        workload_type=kind, quality=quality, model_name=_model_name(args), **fields
    )
    try:
        estimate = workload_estimate(request=request)
    except BadRequest as exc:
        if exc.details.get("field") != "model_name" or args.params_billion is None:
            raise
        notes.append(
            f"{args.model_name!r} is not in the model registry: sized as a "
            f"{args.params_billion:g}B dense model."
        )
        request = replace(request, model_name=f"{args.params_billion:g}b")
        estimate = workload_estimate(request=request)
    return estimate, estimate.window_hours


def estimate_workload(args: EstimateWorkloadIn, caller: ToolCaller) -> dict[str, Any]:
    """Memory, GPUs per GPU model and current prices for a workload (math_core's estimate).

    Only GPU models with current offers are listed as tiers. The sizing is math_core's
    `workload_estimate` alone (`_workload_call`): for LLM inference the batched serving model
    (weights, KV cache at the context asked for, tensor parallelism, replicas for the demand);
    this tool adds the GPUs' memory and says in `notes` what it assumed.

    Args:
        args: The workload; a model by registry name, any name with a size ("my-13b"), or
            `params_billion` alone.
        caller: Unused.

    Returns:
        `{workload_type, model_name, precision, min_vram_gb, recommended_vram_gb (GB), tiers:
        [{gpu_model, gpus_needed, gpus_per_replica, replicas, gpu_vram_gb, total_vram_gb,
        vendor, is_consumer, est_throughput, throughput_unit, price_per_hour: {min, max},
        usd_per_million_output_tokens}], serving, cheapest_offers: [{offer_id, provider, gpu,
        gpu_count, price_per_hour, offers_needed, deployment_usd_per_hour}], confidence
        (0..1), reasoning, notes}`; a tier's `price_per_hour` is for all its `gpus_needed`
        GPUs, USD per hour; `usd_per_million_output_tokens` at the serving batch (LLMs only).

    Raises:
        ToolError: training without quantity and duration_hours.
        BadRequest: the estimate's own 400s (an unknown model without a size, a demand it
            cannot meet), which `toolbox.run_tool` turns into tool errors.
    """
    kind = _ESTIMATE_KINDS[args.workload_type]
    notes: list[str] = []
    estimate, hours = _workload_call(args, kind, notes)
    tiers = []
    unpriced = 0
    for tier in estimate.recommended_gpu_tiers:
        if tier.deployment_usd_per_hour is None:
            unpriced += 1
            continue
        resolved = gpu_resolve(name=tier.gpu_model)
        vram = float(resolved.gpu.vram_gb) if resolved else None
        tiers.append(
            {
                "gpu_model": tier.gpu_model,
                "gpus_needed": tier.gpus_needed,
                "gpus_per_replica": tier.gpus_per_replica,
                "replicas": tier.replicas,
                "gpu_vram_gb": vram,
                "total_vram_gb": vram * tier.gpus_needed if vram else None,
                "vendor": resolved.gpu.vendor if resolved else None,
                "is_consumer": gpu_is_consumer(tier.gpu_model),
                "est_throughput": round(tier.est_throughput, 3),
                "throughput_unit": tier.throughput_unit,
                "price_per_hour": {
                    "min": round(tier.deployment_usd_per_hour.min, 4),
                    "max": round(tier.deployment_usd_per_hour.max, 4),
                },
                "usd_per_million_output_tokens": (
                    tier.serving.usd_per_million_output_tokens if tier.serving else None
                ),
            }
        )
    if unpriced:
        notes.append(f"{unpriced} GPU models that could run it have no current offers.")
    return {
        "workload_type": args.workload_type,
        "model_name": args.model_name,
        "precision": args.precision or (DEFAULT_PRECISION if kind == "llm_inference" else None),
        "min_vram_gb": estimate.min_vram_gb,
        "recommended_vram_gb": estimate.recommended_vram_gb,
        "tiers": tiers,
        "serving": asdict(estimate.serving) if estimate.serving else None,
        "cheapest_offers": [asdict(offer) for offer in estimate.cheapest_offers],
        "window_hours": hours,
        "confidence": estimate.confidence,
        "reasoning": list(estimate.reasoning),
        "notes": notes,
    }


# --- recommend_offers ---------------------------------------------------------------------------


def recommend_offers(args: RecommendOffersIn, caller: ToolCaller) -> dict[str, Any]:
    """Rank candidate offers with the recommender (TOPSIS + collaborative + content-based).

    Offers with less total GPU memory than `min_vram_gb` are dropped first, so every
    recommendation holds the workload.

    Args:
        args: Offer ids, the memory the workload needs (GB, whole instance), the budget
            (USD/hour) and how many to return.
        caller: Whose interactions personalise the ranking.

    Returns:
        `{offers: [offer_view + rank + score], dropped_for_memory, confidence, notes}`.

    Raises:
        ToolError: an unknown offer id, or no offer with enough memory.
    """
    stored = offers_by_ids(offer_ids=args.offer_ids)
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
        workload_profile=WorkloadProfile(
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
    """Datasheet figures of one GPU from the catalogue (per GPU, dense TFLOPS, GB, GB/s).

    Raises:
        ToolError: the name is unknown or ambiguous.
    """
    resolved = gpu_resolve(name=args.gpu)
    if resolved is None:
        raise ToolError(f"gpu: unknown or ambiguous GPU {args.gpu!r}; try e.g. 'H100 SXM'")
    specs = asdict(resolved.gpu)
    specs.pop("aliases")
    specs["verified_at"] = resolved.gpu.verified_at.isoformat()
    specs["is_consumer"] = gpu_is_consumer(resolved.gpu.gpu_model)
    specs["assumed_form_factor"] = resolved.used_default_form_factor
    return specs


def get_price_history(args: GetPriceHistoryIn, caller: ToolCaller) -> dict[str, Any]:
    """Price statistics of one offer over the window and its latest points (USD per hour).

    Returns:
        `{offer_id, window, <statistics>, points: [{timestamp, price_per_hour}] (the last
        HISTORY_POINTS_SHOWN), points_omitted}`; an unknown offer is a 404 (a tool error).
    """
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
    """USD per million output tokens of `model_size` on an offer or a priced GPU.

    Returns:
        `{offer_id, gpu_model, gpu_count, price_per_hour (USD/hour), model_size, precision,
        compute_format (what the matmuls run in: fp16 for fp8 weights on a GPU without fp8
        tensor cores), compute_note, tokens_per_second, cost_per_million_tokens (USD, at the
        serving batch), cost_per_million_tokens_batch_1, serving_batch, confidence, basis,
        warnings}`; math_core's 400s (a model too big for the GPUs, an unknown GPU) become tool
        errors.
    """
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
        "compute_format": details.compute_format,
        "compute_note": details.compute_note,
        "tokens_per_second": round(result.tokens_per_second, 3),
        "cost_per_million_tokens": round(result.cost_per_million_tokens, 4),
        "cost_per_million_tokens_batch_1": round(result.cost_per_million_tokens_batch_1, 4),
        "serving_batch": details.serving_batch,
        "confidence": result.confidence,
        "basis": f"batched serving model: {details.serving_batch} requests per replica at full "
        f"load ({details.batch_limit}), {details.replicas} replica(s) of "
        f"{details.gpus_per_replica} GPU(s); cost_per_million_tokens_batch_1 is one request at "
        "a time",
        "warnings": list(result.warnings),
    }
