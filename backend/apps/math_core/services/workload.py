"""Workload sizing over the catalogue, priced with the market's current offers."""

from __future__ import annotations

from dataclasses import dataclass

from algorithms.workload import estimate_workload
from apps.gpus.catalogue import all_gpus
from apps.providers.selectors.offers import MARKET_CURRENCY, offer_price_ranges_per_gpu
from gpubroker.core.errors import algorithm_input_errors


@dataclass(frozen=True)
class PriceRange:
    """A (min, max) cost in `currency`."""

    min: float
    max: float
    currency: str


@dataclass(frozen=True)
class WorkloadTier:
    """One GPU model's way to run the workload: GPUs needed, throughput, cost range."""

    gpu_model: str
    gpus_needed: int
    est_throughput: float
    throughput_unit: str
    est_cost_range: PriceRange | None


@dataclass(frozen=True)
class WorkloadEstimateResult:
    """VRAM (GB) needed, GPU tiers, overall cost range, 0..1 confidence and reasoning lines."""

    min_vram_gb: float
    recommended_vram_gb: float
    recommended_gpu_tiers: list[WorkloadTier]
    estimated_cost_range: PriceRange | None
    confidence: float
    reasoning: list[str]


def workload_estimate(
    *,
    workload_type: str,
    quantity: float,
    duration_hours: float,
    quality: str,
    model_name: str | None,
) -> WorkloadEstimateResult:
    """Size a workload over every catalogue GPU, priced with current per-GPU-hour offer ranges.

    400 naming workload_type, quality or model_name for unknown values (an unknown model is
    never replaced by a default) or a model of the wrong kind.
    """
    prices = offer_price_ranges_per_gpu()
    with algorithm_input_errors():
        estimate = estimate_workload(
            workload_type=workload_type,
            quantity=quantity,
            duration_hours=duration_hours,
            quality=quality,
            model_name=model_name,
            gpus=all_gpus(),
            offers_price_range=prices,
        )
    reasoning = list(estimate.reasoning)
    reasoning.append(
        f"Prices are per GPU-hour ranges of available, non-stale {MARKET_CURRENCY} offers for "
        f"{len(prices)} GPU models (instance price divided by its GPU count)."
    )

    def price_range(pair: tuple[float, float] | None) -> PriceRange | None:
        return None if pair is None else PriceRange(pair[0], pair[1], MARKET_CURRENCY)

    return WorkloadEstimateResult(
        min_vram_gb=estimate.min_vram_gb,
        recommended_vram_gb=estimate.recommended_vram_gb,
        recommended_gpu_tiers=[
            WorkloadTier(
                gpu_model=tier.gpu_model,
                gpus_needed=tier.gpus_needed,
                est_throughput=tier.est_throughput,
                throughput_unit=estimate.throughput_unit,
                est_cost_range=price_range(tier.est_cost_range),
            )
            for tier in estimate.recommended_gpu_tiers
        ],
        estimated_cost_range=price_range(estimate.estimated_cost_range),
        confidence=estimate.confidence,
        reasoning=reasoning,
    )
