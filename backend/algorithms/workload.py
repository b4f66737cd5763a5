"""Workload sizing over GPU kinds: GPUs, replicas, throughput, cost and the working behind them.

One entry point, ``workload_estimate``, for v1's workload types. LLM inference is sized by the
serving model (``sizing.serving_plan``: batched decode, tensor parallelism, replicas for a
demand); training and fine-tuning by ``training.training_estimate``; image generation by
``image_generation``; video and data processing by ``batch_workloads``. Each GPU kind that can
run the workload becomes a tier; GPU kinds that cannot are named in ``reasoning`` with the
reason. Priced tiers (``prices``: USD per GPU-hour of current offers) come first, cheapest
deployment first. Units: GB = 1e9 bytes; VRAM figures are GPU memory as sold (binary GB, the
catalogue's ``vram_gb``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from algorithms._validation import choice, positive_float
from algorithms.errors import AlgorithmInputError
from algorithms.hardware import GpuSpec
from algorithms.serving import vram_needed_gb
from algorithms.working import Step, Working
from algorithms.workload_llm import plan_llm
from algorithms.workload_plans import (
    RATE_FIELDS,
    GpuTier,
    PriceRange,
    Sizing,
    WorkloadRequest,
    plan_batch,
    plan_images,
    plan_training,
    tier_order,
)

__all__ = ["GpuTier", "PriceRange", "WorkloadEstimate", "WorkloadRequest", "workload_estimate"]

WORKLOAD_UNITS = MappingProxyType(
    {
        "llm_inference": "output tokens",
        "training": "training tokens (dataset tokens x epochs)",
        "fine_tuning": "training tokens (dataset tokens x epochs)",
        "image_generation": "images",
        "video_processing": "minutes of video",
        "data_processing": "GB of data",
    }
)
QUALITY_LEVELS = ("low", "medium", "standard", "high")
BASE_CONFIDENCE = MappingProxyType(
    {
        "llm_inference": 0.8,
        "training": 0.6,
        "fine_tuning": 0.6,
        "image_generation": 0.5,
        "video_processing": 0.35,
        "data_processing": 0.35,
    }
)
RECOMMENDED_HEADROOM = 1.25


@dataclass(frozen=True, slots=True)
class WorkloadEstimate:
    """The sizing of a workload over GPU kinds, cheapest priced tier first.

    Attributes:
        workload_type: The type sized.
        throughput_unit: Unit of the tiers' ``est_throughput`` ("output tokens per second").
        min_vram_gb: GPU memory (as sold, over one replica) that holds the workload at all.
        recommended_vram_gb: GPU memory for the recommended tier's efficient batch (LLMs), else
            the minimum plus 25 % headroom.
        recommended_gpu_tiers: Tiers, cheapest priced first, then unpriced by GPU count.
        estimated_cost_range: Cheapest tier's low to dearest tier's high, USD (``None``: no
            prices).
        estimated_time_per_unit: Seconds per unit on the first tier (``None``: no tier).
        window_hours: Hours the cost range covers.
        confidence: 0..1.
        reasoning: Plain sentences.
        working: The request's steps, then the first tier's.
    """

    workload_type: str
    throughput_unit: str
    min_vram_gb: float
    recommended_vram_gb: float
    recommended_gpu_tiers: tuple[GpuTier, ...]
    estimated_cost_range: PriceRange | None
    estimated_time_per_unit: float | None
    window_hours: float
    confidence: float
    reasoning: tuple[str, ...]
    working: tuple[Step, ...]


def workload_estimate(
    *,
    request: WorkloadRequest,
    gpus: Sequence[GpuSpec],
    prices: Mapping[str, PriceRange],
) -> WorkloadEstimate:
    """Size ``request`` on every GPU kind of ``gpus``, priced with ``prices`` per gpu_model.

    Raises:
        AlgorithmInputError: Naming the field, for an unknown workload type, quality or model,
            a missing or non-positive quantity or duration, more than one demand form, a rate
            given for a type other than llm_inference, a bad serving input, or a price range
            that is not a positive (low, high) pair ("prices").
    """
    kind = choice(request.workload_type, "workload_type", WORKLOAD_UNITS)
    quality = choice(request.quality, "quality", QUALITY_LEVELS)
    prices = _validated_prices(prices)
    work = Working()
    work.add("workload_type", kind, "", "input")
    work.add("quality", quality, "", "input")
    if kind != "llm_inference":
        for name in RATE_FIELDS:
            if getattr(request, name) is not None:
                raise AlgorithmInputError(name, "applies to llm_inference only")
    sizing = _PLANNERS[kind](request, kind, quality, gpus, prices, work)
    tiers = sorted(sizing.tiers, key=tier_order)
    reasoning = list(sizing.reasoning)
    for reason, names in sizing.skipped.items():
        reasoning.append(f"Not suitable ({reason}): {', '.join(names)}.")
    min_vram = _round_up(vram_needed_gb(sizing.min_memory_gb))
    recommended_memory = sizing.recommended_memory_gb
    recommended_vram = (
        _round_up(vram_needed_gb(recommended_memory))
        if recommended_memory is not None and tiers
        else _round_up(min_vram * RECOMMENDED_HEADROOM)
    )
    work.number("min_vram_gb", min_vram, "GB", "derived", "(memory + 2 GB reserve) / 0.9, in GiB")
    work.number("recommended_vram_gb", recommended_vram, "GB", "derived")
    confidence = BASE_CONFIDENCE[kind] - sizing.confidence_penalty
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
            f"Cost ranges from {cost_range[0]:,.2f} (cheapest offer of the cheapest tier) to "
            f"{cost_range[1]:,.2f} USD (dearest offer of the dearest tier)."
        )
    first = tiers[0] if tiers else None
    if first is not None:
        work.extend(first.working)
    return WorkloadEstimate(
        workload_type=kind,
        throughput_unit=f"{WORKLOAD_UNITS[kind]} per second",
        min_vram_gb=min_vram,
        recommended_vram_gb=max(recommended_vram, min_vram),
        recommended_gpu_tiers=tuple(tiers),
        estimated_cost_range=cost_range,
        estimated_time_per_unit=1.0 / first.est_throughput if first else None,
        window_hours=sizing.window_hours,
        confidence=round(max(confidence, 0.05), 2),
        reasoning=tuple(reasoning),
        working=work.freeze(),
    )


def _validated_prices(prices: Mapping[str, PriceRange]) -> dict[str, PriceRange]:
    validated: dict[str, PriceRange] = {}
    for gpu_model, price_range in prices.items():
        if not isinstance(price_range, Sequence) or len(price_range) != 2:
            raise AlgorithmInputError("prices", f"{gpu_model}: expected a (low, high) pair")
        low = positive_float(price_range[0], "prices")
        high = positive_float(price_range[1], "prices", maximum=1e6)
        if low > high:
            raise AlgorithmInputError("prices", f"{gpu_model}: low {low:g} exceeds high {high:g}")
        validated[gpu_model] = (low, high)
    return validated


def _round_up(value: float) -> float:
    """Round up to 0.1 GB so a displayed minimum is never below the computed need."""
    return math.ceil(value * 10 - 1e-9) / 10


_Planner = Callable[
    [WorkloadRequest, str, str, Sequence[GpuSpec], Mapping[str, PriceRange], Working], Sizing
]
_PLANNERS: Mapping[str, _Planner] = MappingProxyType(
    {
        "llm_inference": plan_llm,
        "training": plan_training,
        "fine_tuning": plan_training,
        "image_generation": plan_images,
        "video_processing": plan_batch,
        "data_processing": plan_batch,
    }
)
