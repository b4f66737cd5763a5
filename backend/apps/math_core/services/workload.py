"""Workload sizing over the catalogue, priced with the market's current offers.

`workload_estimate(*, request)` is the one entry point (the `/math/estimate-workload` handler
and the AI assistant's `estimate_workload` tool call it): it takes an
`algorithms.workload.WorkloadRequest` (a plain dataclass) and returns a
`WorkloadEstimateResult` with v1's figures, the serving details, the working and the cheapest
current offers that can run the recommended deployment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from algorithms.sizing import ServingPlan
from algorithms.workload import GpuTier, PriceRange, WorkloadRequest
from algorithms.workload import workload_estimate as size_workload
from apps.gpus.catalogue import all_gpus
from apps.providers.selectors.capacity import offer_price_ranges_per_gpu, offers_with_gpus
from apps.providers.selectors.offers import MARKET_CURRENCY
from gpubroker.core.errors import algorithm_input_errors

__all__ = ["WorkloadEstimateResult", "WorkloadRequest", "workload_estimate"]

CHEAPEST_OFFERS_SHOWN = 5
# Per GPU model, the offers cheapest per GPU-hour: among them are its cheapest deployments.
OFFERS_CONSIDERED_PER_GPU = 20


@dataclass(frozen=True)
class CostRange:
    """A (low, high) amount in `currency`; `min`/`max` repeat them under v2's first names."""

    low: float
    high: float
    currency: str

    @property
    def min(self) -> float:
        """`low` (v2's earlier key)."""
        return self.low

    @property
    def max(self) -> float:
        """`high` (v2's earlier key)."""
        return self.high


@dataclass(frozen=True)
class ServingSummary:
    """An LLM tier's serving figures (see `algorithms.sizing.ServingPlan`).

    Costs are USD per million output tokens at the cheapest offer price per GPU-hour: at the
    serving batch (full load) and at batch 1 (one request at a time, what v1 computed).
    """

    model: str
    precision: str
    kv_cache_precision: str
    tensor_parallel: int
    pipeline_parallel: int
    gpus_per_replica: int
    replicas: int | None
    serving_batch: int
    batch_limit: str
    knee_batch: int
    replica_output_tokens_per_second: float
    replica_requests_per_second: float
    inter_token_latency_ms: float
    single_stream_ms_per_token: float
    time_to_first_token_ms: float
    utilisation: float | None
    gpu_hours_per_million_output_tokens: float
    usd_per_million_output_tokens: float | None
    usd_per_million_output_tokens_batch_1: float | None
    deployment_usd_per_hour: float | None


@dataclass(frozen=True)
class WorkloadTier:
    """One GPU model's way to run the workload (v1's tier keys first)."""

    gpu_model: str
    gpus_needed: int
    est_throughput: float
    throughput_unit: str
    est_cost_range: CostRange | None
    gpus_per_replica: int
    tensor_parallel: int
    replicas: int
    price_per_gpu_hour: CostRange | None
    deployment_usd_per_hour: CostRange | None
    interconnect: str | None
    interconnect_advice: str
    warnings: list[str]
    serving: ServingSummary | None


@dataclass(frozen=True)
class OfferChoice:
    """A current offer that runs its GPU model's tier, with how many offers the deployment takes."""

    offer_id: str
    provider: str
    gpu: str
    gpu_count: int
    region: str
    price_per_hour: float
    price_per_gpu_hour: float
    replicas_per_offer: int
    offers_needed: int
    deployment_usd_per_hour: float


@dataclass(frozen=True)
class WorkloadEstimateResult:
    """v1's keys, then the serving details, the working and the cheapest offers.

    Attributes:
        min_vram_gb: GPU memory (as sold) that holds the workload at all, over one replica.
        recommended_vram_gb: Memory for an efficient batch (LLMs) or +25 % headroom.
        recommended_gpu_tiers: Every GPU model that can run it, cheapest priced first.
        estimated_cost_range: USD over `window_hours` (a training job: its own hours).
        estimated_time_per_unit: Seconds per unit on the first tier.
        confidence: 0..1.
        reasoning: Plain sentences.
        throughput_unit: Unit of the tiers' est_throughput.
        window_hours: Hours the cost range covers.
        serving: The first tier's serving figures (LLM inference only).
        working: Every step with value, unit, kind (input, assumed, spec, measured, estimate,
            derived) and note.
        cheapest_offers: Current offers that can run a tier (each holds at least one replica),
            cheapest deployment first.
    """

    min_vram_gb: float
    recommended_vram_gb: float
    recommended_gpu_tiers: list[WorkloadTier]
    estimated_cost_range: CostRange | None
    estimated_time_per_unit: float | None
    confidence: float
    reasoning: list[str]
    throughput_unit: str
    window_hours: float
    serving: ServingSummary | None
    working: list[dict[str, Any]]
    cheapest_offers: list[OfferChoice]


def workload_estimate(*, request: WorkloadRequest) -> WorkloadEstimateResult:
    """Size `request` over every catalogue GPU, priced with current per-GPU-hour offer ranges.

    Raises:
        BadRequest: (400) naming workload_type, quality, model_name, quantity, duration_hours,
            precision, a token count, a demand field (requests_per_second,
            output_tokens_per_second, concurrency) or max_inter_token_latency_ms when unknown,
            missing, doubled or out of range; an unknown model is never replaced by a default.
    """
    prices = offer_price_ranges_per_gpu()
    with algorithm_input_errors():
        estimate = size_workload(request=request, gpus=all_gpus(), prices=prices)
    tiers = [_tier(tier, estimate.throughput_unit) for tier in estimate.recommended_gpu_tiers]
    reasoning = list(estimate.reasoning)
    reasoning.append(
        f"Prices are per GPU-hour ranges of available, non-stale {MARKET_CURRENCY} offers for "
        f"{len(prices)} GPU models (instance price divided by its GPU count)."
    )
    offers = _cheapest_offers(estimate.recommended_gpu_tiers)
    if offers:
        best = offers[0]
        reasoning.append(
            f"Cheapest current offers that run it: {best.offers_needed} x {best.provider} "
            f"{best.gpu_count} x {best.gpu} at {best.price_per_hour:,.2f} USD/h = "
            f"{best.deployment_usd_per_hour:,.2f} USD/h."
        )
    return WorkloadEstimateResult(
        min_vram_gb=estimate.min_vram_gb,
        recommended_vram_gb=estimate.recommended_vram_gb,
        recommended_gpu_tiers=tiers,
        estimated_cost_range=_range(estimate.estimated_cost_range),
        estimated_time_per_unit=estimate.estimated_time_per_unit,
        confidence=estimate.confidence,
        reasoning=reasoning,
        throughput_unit=estimate.throughput_unit,
        window_hours=estimate.window_hours,
        serving=tiers[0].serving if tiers else None,
        working=[step.as_dict() for step in estimate.working],
        cheapest_offers=offers,
    )


def _range(pair: PriceRange | None) -> CostRange | None:
    return None if pair is None else CostRange(pair[0], pair[1], MARKET_CURRENCY)


def _tier(tier: GpuTier, unit: str) -> WorkloadTier:
    return WorkloadTier(
        gpu_model=tier.gpu_model,
        gpus_needed=tier.gpus_needed,
        est_throughput=tier.est_throughput,
        throughput_unit=unit,
        est_cost_range=_range(tier.est_cost_range),
        gpus_per_replica=tier.gpus_per_replica,
        tensor_parallel=tier.tensor_parallel,
        replicas=tier.replicas,
        price_per_gpu_hour=_range(tier.price_per_gpu_hour),
        deployment_usd_per_hour=_range(tier.deployment_usd_per_hour),
        interconnect=tier.interconnect,
        interconnect_advice=tier.interconnect_advice,
        warnings=list(tier.warnings),
        serving=None if tier.serving is None else _serving(tier.serving),
    )


def _serving(plan: ServingPlan) -> ServingSummary:
    return ServingSummary(
        model=plan.model.id,
        precision=plan.precision,
        kv_cache_precision=plan.kv_precision,
        tensor_parallel=plan.memory.tensor_parallel,
        pipeline_parallel=plan.memory.pipeline_parallel,
        gpus_per_replica=plan.memory.gpus_per_replica,
        replicas=plan.replicas,
        serving_batch=plan.serving_batch,
        batch_limit=plan.batch_limit,
        knee_batch=plan.knee_batch,
        replica_output_tokens_per_second=plan.replica_output_tokens_per_second,
        replica_requests_per_second=plan.replica_requests_per_second,
        inter_token_latency_ms=plan.inter_token_latency_ms,
        single_stream_ms_per_token=plan.single_stream_ms_per_token,
        time_to_first_token_ms=plan.time_to_first_token_ms,
        utilisation=plan.utilisation,
        gpu_hours_per_million_output_tokens=plan.gpu_hours_per_million_output_tokens,
        usd_per_million_output_tokens=plan.usd_per_million_output_tokens,
        usd_per_million_output_tokens_batch_1=plan.usd_per_million_output_tokens_batch_1,
        deployment_usd_per_hour=plan.deployment_usd_per_hour,
    )


def _cheapest_offers(tiers: tuple[GpuTier, ...]) -> list[OfferChoice]:
    """Offers holding at least one replica of their GPU model's tier, cheapest deployment first.

    An offer of n GPUs runs n // gpus_per_replica replicas; the deployment takes
    ceil(replicas needed / that) such offers. One query.
    """
    by_gpu = {tier.gpu_model: tier for tier in tiers if tier.price_per_gpu_hour is not None}
    rows = offers_with_gpus(
        minimum_gpus={name: tier.gpus_per_replica for name, tier in by_gpu.items()},
        per_gpu_model=OFFERS_CONSIDERED_PER_GPU,
    )
    choices = []
    for row in rows:
        tier = by_gpu[row["gpu_model"]]
        group = tier.gpus_per_replica
        replicas_needed = math.ceil(tier.gpus_needed / group)
        count = row["gpu_count"] or 1
        per_offer = count // group
        needed = math.ceil(replicas_needed / per_offer)
        price = float(row["price_per_hour"])
        choices.append(
            OfferChoice(
                offer_id=str(row["id"]),
                provider=row["provider__name"],
                gpu=row["gpu_model"],
                gpu_count=count,
                region=row["region"],
                price_per_hour=price,
                price_per_gpu_hour=price / count,
                replicas_per_offer=per_offer,
                offers_needed=needed,
                deployment_usd_per_hour=needed * price,
            )
        )
    choices.sort(key=lambda choice: (choice.deployment_usd_per_hour, choice.offer_id))
    return choices[:CHEAPEST_OFFERS_SHOWN]
