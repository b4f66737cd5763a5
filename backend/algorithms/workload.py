"""Workload sizing: VRAM, GPUs needed per GPU model, throughput and a cost range.

Every branch appends plain sentences to ``reasoning`` so a user can follow the estimate. Units:
GB = 1e9 bytes; ``quantity`` per workload type is given by WORKLOAD_UNITS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from algorithms._validation import choice, positive_float
from algorithms.errors import AlgorithmInputError
from algorithms.kpi import (
    MEMORY_OVERHEAD_FRACTION,
    RUNTIME_OVERHEAD_GB_PER_GPU,
    SECONDS_PER_HOUR,
    gpus_needed_for_memory,
)
from algorithms.model_profiles import MODEL_PROFILES, ModelProfile, resolve_model
from algorithms.workload_plans import (
    PLANNERS,
    WORKLOAD_UNITS,
    GpuSpecLike,
    Plan,
    VramEstimate,
    estimate_llm_vram,
    spec_figure,
)

__all__ = [
    "MODEL_PROFILES",
    "WORKLOAD_UNITS",
    "GpuSpecLike",
    "GpuTier",
    "ModelProfile",
    "VramEstimate",
    "WorkloadEstimate",
    "estimate_llm_vram",
    "estimate_workload",
    "resolve_model",
]

QUALITY_LEVELS = frozenset({"low", "medium", "high"})
RECOMMENDED_HEADROOM = 1.25  # 25% above the minimum for longer prompts, batching and spikes
MAX_GPUS_PER_TIER = 1_024


@dataclass(frozen=True)
class GpuTier:
    """One way to run the workload.

    ``gpus_needed`` of ``gpu_model`` finishing within the duration, at ``est_throughput``
    units per second (WorkloadEstimate.throughput_unit), costing ``est_cost_range`` (min, max)
    over the duration when offers are priced.
    """

    gpu_model: str
    gpus_needed: int
    est_throughput: float
    est_cost_range: tuple[float, float] | None


@dataclass(frozen=True)
class WorkloadEstimate:
    """Sizing result; ``estimated_cost_range`` spans the cheapest to the dearest priced tier."""

    min_vram_gb: float
    recommended_vram_gb: float
    recommended_gpu_tiers: tuple[GpuTier, ...]
    estimated_cost_range: tuple[float, float] | None
    throughput_unit: str
    confidence: float
    reasoning: tuple[str, ...]


def estimate_workload(
    *,
    workload_type: str,
    quantity: float,
    duration_hours: float,
    quality: str,
    model_name: str | None = None,
    gpus: Sequence[GpuSpecLike],
    offers_price_range: Mapping[str, tuple[float, float]] | None = None,
) -> WorkloadEstimate:
    """Size a workload of ``quantity`` WORKLOAD_UNITS to finish within ``duration_hours``.

    For each GPU in ``gpus``: GPUs per replica to hold the memory, replicas to reach the required
    rate, resulting throughput, and (when ``offers_price_range[gpu_model]`` gives a per-GPU
    (min, max) price per hour) the cost over the duration. GPUs that cannot run it are skipped
    and named in ``reasoning``. Raises AlgorithmInputError for unknown workload_type, quality or
    model_name, a model of the wrong kind, non-positive quantity/duration or bad prices.
    """
    kind = choice(workload_type, "workload_type", WORKLOAD_UNITS)
    level = choice(quality, "quality", QUALITY_LEVELS)
    amount = positive_float(quantity, "quantity")
    hours = positive_float(duration_hours, "duration_hours")
    prices = _validated_prices(offers_price_range)

    plan = PLANNERS[kind](kind, level, amount, model_name)
    reasoning = list(plan.reasoning)
    required_rate = plan.work_units / (hours * SECONDS_PER_HOUR)
    reasoning.append(
        f"Finishing {plan.work_units:,.4g} {plan.unit} in {hours:g} h needs "
        f"{required_rate:,.4g} {plan.unit} per second."
    )
    min_vram = _round_up(
        plan.model_memory_gb * (1 + MEMORY_OVERHEAD_FRACTION) + RUNTIME_OVERHEAD_GB_PER_GPU
    )
    recommended_vram = _round_up(min_vram * RECOMMENDED_HEADROOM)
    reasoning.append(
        f"One GPU would need at least {min_vram:g} GB of VRAM ({MEMORY_OVERHEAD_FRACTION:.0%} "
        f"overhead plus {RUNTIME_OVERHEAD_GB_PER_GPU:g} GB runtime); {recommended_vram:g} GB "
        f"leaves {RECOMMENDED_HEADROOM - 1:.0%} headroom."
    )

    tiers, skipped = _size_tiers(plan, gpus, required_rate, hours, prices)
    for reason, names in skipped.items():
        reasoning.append(f"Not recommended ({reason}): {', '.join(names)}.")
    confidence = plan.confidence
    if not tiers:
        confidence /= 2
        reasoning.append("No listed GPU model can run this workload as specified.")
    priced = [tier.est_cost_range for tier in tiers if tier.est_cost_range is not None]
    cost_range = (
        (min(low for low, _ in priced), max(high for _, high in priced)) if priced else None
    )
    if cost_range is None:
        reasoning.append("No current offer prices for the suitable GPUs, so no cost range.")
    else:
        reasoning.append(
            f"Cost over {hours:g} h ranges from {cost_range[0]:,.2f} (cheapest offer of the "
            f"cheapest tier) to {cost_range[1]:,.2f} (dearest offer of the dearest tier)."
        )
    return WorkloadEstimate(
        min_vram_gb=min_vram,
        recommended_vram_gb=recommended_vram,
        recommended_gpu_tiers=tuple(tiers),
        estimated_cost_range=cost_range,
        throughput_unit=f"{plan.unit} per second",
        confidence=round(max(confidence, 0.05), 2),
        reasoning=tuple(reasoning),
    )


def _size_tiers(
    plan: Plan,
    gpus: Sequence[GpuSpecLike],
    required_rate: float,
    hours: float,
    prices: Mapping[str, tuple[float, float]],
) -> tuple[list[GpuTier], dict[str, list[str]]]:
    tiers: list[GpuTier] = []
    skipped: dict[str, list[str]] = {}
    for gpu in gpus:
        vram = spec_figure(gpu, "vram_gb")
        if vram is None or vram <= RUNTIME_OVERHEAD_GB_PER_GPU:
            skipped.setdefault("VRAM unknown", []).append(gpu.gpu_model)
            continue
        per_replica = gpus_needed_for_memory(model_memory_gb=plan.model_memory_gb, vram_gb=vram)
        if per_replica > 1 and not plan.is_shardable:
            skipped.setdefault("not enough VRAM on one GPU", []).append(gpu.gpu_model)
            continue
        replica_rate = plan.rate(gpu, per_replica)
        if replica_rate is None:
            skipped.setdefault("missing bandwidth or TFLOPS figures", []).append(gpu.gpu_model)
            continue
        replicas = max(1, math.ceil(required_rate / replica_rate - 1e-9))
        gpus_needed = per_replica * replicas
        if gpus_needed > MAX_GPUS_PER_TIER:
            skipped.setdefault(f"more than {MAX_GPUS_PER_TIER} GPUs", []).append(gpu.gpu_model)
            continue
        price = prices.get(gpu.gpu_model)
        cost = (
            None
            if price is None
            else (
                gpus_needed * price[0] * hours,
                gpus_needed * price[1] * hours,
            )
        )
        tiers.append(GpuTier(gpu.gpu_model, gpus_needed, replicas * replica_rate, cost))
    tiers.sort(key=lambda tier: (tier.gpus_needed, -tier.est_throughput, tier.gpu_model))
    return tiers, skipped


def _validated_prices(
    prices: Mapping[str, tuple[float, float]] | None,
) -> Mapping[str, tuple[float, float]]:
    if prices is None:
        return {}
    validated: dict[str, tuple[float, float]] = {}
    for gpu_model, price_range in prices.items():
        if not isinstance(price_range, Sequence) or len(price_range) != 2:
            raise AlgorithmInputError(
                "offers_price_range", f"{gpu_model}: expected a (min, max) price pair"
            )
        low = positive_float(price_range[0], "offers_price_range")
        high = positive_float(price_range[1], "offers_price_range")
        if low > high:
            raise AlgorithmInputError(
                "offers_price_range", f"{gpu_model}: minimum {low:g} exceeds maximum {high:g}"
            )
        validated[gpu_model] = (low, high)
    return validated


def _round_up(value: float) -> float:
    """Round up to 0.1 GB so a displayed minimum is never below the computed need."""
    return math.ceil(value * 10 - 1e-9) / 10
