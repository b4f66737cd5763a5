"""The workload estimator's shared types and its planners for training, images, video and data.

``workload.workload_estimate`` picks a planner per workload type; each returns a ``Sizing``:
one ``GpuTier`` per GPU kind that can run the work, the GPU kinds that cannot (with the
reason), the memory figures and its sentences. LLM inference lives in ``workload_llm``.
Units: GB = 1e9 bytes, USD, hours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from algorithms._validation import positive_float
from algorithms.batch_workloads import (
    BatchWorkload,
    data_processing_workload,
    video_processing_workload,
)
from algorithms.errors import AlgorithmInputError
from algorithms.hardware import GpuSpec, interconnect_for
from algorithms.image_generation import (
    STEPS_BY_QUALITY,
    diffusion_model_resolve,
    image_generation_estimate,
)
from algorithms.model_registry import LlmArchitecture, model_resolve
from algorithms.serving import usable_gb_per_gpu
from algorithms.sizing import ServingPlan
from algorithms.training import training_estimate, training_memory_gb
from algorithms.working import Step, Working

# Models assumed when none is named; the reasoning says so and confidence drops.
DEFAULT_MODELS = MappingProxyType(
    {
        "llm_inference": "llama-3.1-8b",
        "training": "llama-3.1-8b",
        "fine_tuning": "llama-3.1-8b",
        "image_generation": "sdxl",
    }
)
# fine_tuning's quality: QLoRA on a 4-bit base, LoRA on a bf16 base, or full fine-tuning.
FINE_TUNING_METHODS = MappingProxyType(
    {"low": "qlora", "medium": "lora", "standard": "lora", "high": "full"}
)
ASSUMED_MODEL_PENALTY = 0.2
ESTIMATED_ARCHITECTURE_PENALTY = 0.1
MAX_GPUS_PER_TIER = 1_024
RATE_FIELDS = ("requests_per_second", "output_tokens_per_second", "concurrency")

PriceRange = tuple[float, float]
"""(cheapest, dearest) in USD: per GPU-hour, per hour or over the window, as named."""


@dataclass(frozen=True, slots=True)
class WorkloadRequest:
    """What to size (plain values; v1's body plus the serving model's inputs).

    Attributes:
        workload_type: One of WORKLOAD_UNITS.
        quantity: Units of work (WORKLOAD_UNITS) to finish within ``duration_hours``.
        duration_hours: Deadline, and the window the cost range covers.
        quality: v1's level (low, medium, standard, high): the precision, method or steps.
        model_name: A registry or diffusion model; any name with a size ("my-13b") for LLMs.
        precision: LLM weight precision (fp32, fp16, bf16, fp8, int8, int4); wins over quality.
        kv_cache_precision: KV-cache precision (fp16, bf16, fp8, fp32).
        prompt_tokens: Average prompt of one request.
        output_tokens: Average output of one request.
        context_tokens: Longest sequence to hold (default prompt + output).
        requests_per_second: LLM demand as a request rate (instead of quantity).
        output_tokens_per_second: LLM demand as a token rate.
        concurrency: LLM demand as requests in flight.
        max_inter_token_latency_ms: Caps the serving batch.
    """

    workload_type: str
    quantity: float | None = None
    duration_hours: float | None = None
    quality: str = "standard"
    model_name: str | None = None
    precision: str | None = None
    kv_cache_precision: str = "fp16"
    prompt_tokens: int = 500
    output_tokens: int = 200
    context_tokens: int | None = None
    requests_per_second: float | None = None
    output_tokens_per_second: float | None = None
    concurrency: int | None = None
    max_inter_token_latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class GpuTier:
    """One GPU kind's way to run the workload.

    Attributes:
        gpu_model: GPU kind.
        gpus_needed: GPUs in all (replicas x GPUs per replica).
        gpus_per_replica: GPUs holding one copy of the model (one training job's shards).
        tensor_parallel: Tensor-parallel degree (1 outside LLM serving).
        replicas: Copies running side by side.
        est_throughput: Units per second of all replicas (``WorkloadEstimate.throughput_unit``).
        price_per_gpu_hour: Current offers' range, USD per GPU-hour (``None``: no offer).
        deployment_usd_per_hour: ``gpus_needed`` x that range.
        est_cost_range: Cost of the work, USD (over the window; a training job's own hours).
        interconnect: The link between a replica's GPUs (``None`` for one GPU).
        interconnect_advice: One sentence on whether the link matters.
        warnings: Plain sentences to show.
        serving: LLM only: the serving plan (batch, latency, USD per million tokens).
        working: The steps of this tier.
    """

    gpu_model: str
    gpus_needed: int
    gpus_per_replica: int
    tensor_parallel: int
    replicas: int
    est_throughput: float
    price_per_gpu_hour: PriceRange | None
    deployment_usd_per_hour: PriceRange | None
    est_cost_range: PriceRange | None
    interconnect: str | None
    interconnect_advice: str
    warnings: tuple[str, ...]
    serving: ServingPlan | None
    working: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Sizing:
    """What a workload type's planner hands back to ``workload_estimate``.

    Attributes:
        tiers: One per GPU kind that can run the work (any order).
        skipped: Reason -> GPU kinds that cannot.
        min_memory_gb: Memory the work needs at all (over one replica), GB.
        recommended_memory_gb: Memory for an efficient batch on the best tier, GB (``None``:
            the minimum plus headroom).
        window_hours: Hours the cost range covers.
        confidence_penalty: Taken off the type's base confidence (assumed or estimated model).
        reasoning: Sentences, in order.
    """

    tiers: list[GpuTier]
    skipped: dict[str, list[str]]
    min_memory_gb: float
    recommended_memory_gb: float | None
    window_hours: float
    confidence_penalty: float
    reasoning: list[str]


def tier_order(tier: GpuTier) -> tuple[float, ...]:
    """Sort key: priced tiers first, cheapest first; then fewer GPUs, then more throughput."""
    cost = tier.est_cost_range
    return (
        0.0 if cost is not None else 1.0,
        cost[0] if cost is not None else 0.0,
        float(tier.gpus_needed),
        -tier.est_throughput,
    )


def quantity_and_hours(request: WorkloadRequest, work: Working) -> tuple[float, float]:
    """v1's ``quantity`` and ``duration_hours``, both required and positive (400 naming each)."""
    if request.quantity is None:
        raise AlgorithmInputError("quantity", "is required for this workload type")
    if request.duration_hours is None:
        raise AlgorithmInputError("duration_hours", "is required with quantity")
    quantity = positive_float(request.quantity, "quantity")
    hours = positive_float(request.duration_hours, "duration_hours")
    work.number("quantity", quantity, "units", "input")
    work.number("duration_hours", hours, "h", "input")
    return quantity, hours


def llm_model_for(
    model_name: str | None, kind: str, work: Working
) -> tuple[LlmArchitecture, float, str]:
    """The named LLM (any name with a size) or the stated default; confidence penalty; sentence."""
    if model_name is None:
        model = model_resolve(DEFAULT_MODELS[kind])
        work.add("model", model.id, "", "assumed", "no model_name given")
        return model, ASSUMED_MODEL_PENALTY, f"No model_name given, so {model.name} is assumed."
    model = model_resolve(model_name, "model_name")
    if model.is_estimated:
        work.add("model", model.id, "", "estimate", model.estimation_note)
        return model, ESTIMATED_ARCHITECTURE_PENALTY, f"{model_name!r}: {model.estimation_note}."
    work.add("model", model.id, "", "spec", ", ".join(model.sources))
    active = f", {model.active_params_billion:g}B active per token" if model.is_moe else ""
    return (
        model,
        0.0,
        f"{model_name!r} resolves to {model.name}: {model.params_billion:g}B parameters{active}, "
        f"{model.layers} layers, {model.kv_heads} KV heads of {model.head_dim} "
        f"(source: {model.sources[0]}).",
    )


def priced(
    price: PriceRange | None, gpus: int, hours: float
) -> tuple[PriceRange | None, PriceRange | None]:
    """(deployment USD/h, cost over ``hours``) of ``gpus`` GPUs at a per-GPU-hour range."""
    if price is None:
        return None, None
    per_hour = (gpus * price[0], gpus * price[1])
    return per_hour, (per_hour[0] * hours, per_hour[1] * hours)


def plan_training(
    request: WorkloadRequest,
    kind: str,
    quality: str,
    gpus: Sequence[GpuSpec],
    prices: Mapping[str, PriceRange],
    work: Working,
) -> Sizing:
    """Training or fine-tuning ``quantity`` tokens within ``duration_hours`` on each GPU kind.

    Full training for ``training``; ``fine_tuning`` takes its method from quality (QLoRA, LoRA,
    full). GPUs are the memory minimum, raised (data parallel) to meet the deadline.

    Raises:
        AlgorithmInputError: Naming the field for a missing quantity or duration, or an
            unknown model.
    """
    tokens, hours = quantity_and_hours(request, work)
    model, penalty, model_sentence = llm_model_for(request.model_name, kind, work)
    method = "full" if kind == "training" else FINE_TUNING_METHODS[quality]
    memory = training_memory_gb(model, method, Working())
    tiers: list[GpuTier] = []
    skipped: dict[str, list[str]] = {}
    for gpu in gpus:
        price = prices.get(gpu.gpu_model)
        try:
            job = training_estimate(
                model=model,
                gpu=gpu,
                training_tokens=tokens,
                method=method,
                deadline_hours=hours,
                price_per_gpu_hour=price[0] if price else None,
            )
        except AlgorithmInputError as error:
            if error.field != "deadline_hours":
                raise
            skipped.setdefault(f"more than {MAX_GPUS_PER_TIER:,} GPUs", []).append(gpu.gpu_model)
            continue
        if job.gpus > MAX_GPUS_PER_TIER:
            skipped.setdefault(f"more than {MAX_GPUS_PER_TIER:,} GPUs", []).append(gpu.gpu_model)
            continue
        link = interconnect_for(gpu, min(job.gpus, 8)) if job.gpus > 1 else None
        cost = None if price is None else (job.gpu_hours * price[0], job.gpu_hours * price[1])
        tiers.append(
            GpuTier(
                gpu_model=gpu.gpu_model,
                gpus_needed=job.gpus,
                gpus_per_replica=job.gpus_for_memory,
                tensor_parallel=1,
                replicas=1,
                est_throughput=job.tokens_per_second,
                price_per_gpu_hour=price,
                deployment_usd_per_hour=priced(price, job.gpus, 1.0)[0],
                est_cost_range=cost,
                interconnect=None if link is None else link.description,
                interconnect_advice=(
                    "One GPU: the interconnect does not matter."
                    if link is None
                    else f"FSDP/ZeRO-3 gathers the sharded states every step: keep the "
                    f"{job.gpus} GPUs on NVLink-class links ({link.description} here)."
                ),
                warnings=(),
                serving=None,
                working=job.working,
            )
        )
    method_sentence = {
        "full": "Full-parameter training with Adam in mixed precision: 16 bytes per parameter",
        "lora": "LoRA on a frozen bf16 base: 2 bytes per parameter + 1 % trainable at 16 bytes",
        "qlora": "QLoRA on a frozen 4-bit base: 0.5 bytes per parameter + 1 % trainable",
    }[method]
    reasoning = [
        model_sentence,
        f"{method_sentence}, +20 % activations = {memory:,.1f} GB, sharded over the GPUs; "
        f"{6 if method == 'full' else 4} FLOPs per parameter per token at 40 % MFU; GPUs are "
        f"added (data parallel) until {tokens:,.4g} tokens finish within {hours:g} h.",
    ]
    return Sizing(tiers, skipped, memory, None, hours, penalty, reasoning)


def scale_out(
    *,
    gpu: GpuSpec,
    rate: float,
    required_rate: float,
    hours: float,
    price: PriceRange | None,
    working: tuple[Step, ...],
) -> GpuTier | None:
    """A tier of whole GPUs each doing ``rate`` units/s; ``None`` above MAX_GPUS_PER_TIER."""
    replicas = max(1, math.ceil(required_rate / rate - 1e-9))
    if replicas > MAX_GPUS_PER_TIER:
        return None
    per_hour, cost = priced(price, replicas, hours)
    return GpuTier(
        gpu_model=gpu.gpu_model,
        gpus_needed=replicas,
        gpus_per_replica=1,
        tensor_parallel=1,
        replicas=replicas,
        est_throughput=replicas * rate,
        price_per_gpu_hour=price,
        deployment_usd_per_hour=per_hour,
        est_cost_range=cost,
        interconnect=None,
        interconnect_advice="Each GPU works alone: the interconnect does not matter.",
        warnings=(),
        serving=None,
        working=working,
    )


def plan_images(
    request: WorkloadRequest,
    kind: str,
    quality: str,
    gpus: Sequence[GpuSpec],
    prices: Mapping[str, PriceRange],
    work: Working,
) -> Sizing:
    """``quantity`` images within ``duration_hours``: whole GPUs, each running the pipeline.

    Raises:
        AlgorithmInputError: Naming the field for a missing quantity or duration, or an
            unknown diffusion model.
    """
    images, hours = quantity_and_hours(request, work)
    if request.model_name is None:
        pipeline = diffusion_model_resolve(DEFAULT_MODELS["image_generation"])
        penalty = ASSUMED_MODEL_PENALTY
        first = f"No model_name given, so {pipeline.name} is assumed."
    else:
        pipeline = diffusion_model_resolve(request.model_name, "model_name")
        penalty = 0.0
        first = f"{request.model_name!r} resolves to {pipeline.name} ({pipeline.source})."
    steps = STEPS_BY_QUALITY[quality]
    required = images / (hours * 3600)
    tiers: list[GpuTier] = []
    skipped: dict[str, list[str]] = {}
    for gpu in gpus:
        price = prices.get(gpu.gpu_model)
        estimate = image_generation_estimate(
            model=pipeline, gpu=gpu, steps=steps, price_per_gpu_hour=price[0] if price else None
        )
        tier = (
            scale_out(
                gpu=gpu,
                rate=estimate.images_per_hour / 3600,
                required_rate=required,
                hours=hours,
                price=price,
                working=estimate.working,
            )
            if estimate.fits
            else None
        )
        if tier is None:
            reason = "not enough VRAM on one GPU" if not estimate.fits else "too many GPUs"
            skipped.setdefault(reason, []).append(gpu.gpu_model)
        else:
            tiers.append(tier)
    reasoning = [
        first,
        f"fp16 weights and activations take {pipeline.memory_gb:.1f} GB on one GPU per image; "
        f"quality {quality!r} uses {steps} steps x {pipeline.tflops_per_step:g} TFLOPs at 20 % "
        "of dense fp16 peak.",
    ]
    return Sizing(tiers, skipped, pipeline.memory_gb, None, hours, penalty, reasoning)


def plan_batch(
    request: WorkloadRequest,
    kind: str,
    quality: str,
    gpus: Sequence[GpuSpec],
    prices: Mapping[str, PriceRange],
    work: Working,
) -> Sizing:
    """Video (minutes) or data (GB) processing: whole GPUs, each working through its share.

    Raises:
        AlgorithmInputError: Naming the field for a missing quantity or duration.
    """
    amount, hours = quantity_and_hours(request, work)
    workload: BatchWorkload = (
        video_processing_workload(minutes=amount, quality=quality)
        if kind == "video_processing"
        else data_processing_workload(data_gb=amount, quality=quality)
    )
    work.extend(workload.working)
    required = amount / (hours * 3600)
    tiers: list[GpuTier] = []
    skipped: dict[str, list[str]] = {}
    for gpu in gpus:
        if workload.memory_gb > usable_gb_per_gpu(gpu.vram_gb):
            skipped.setdefault("not enough VRAM on one GPU", []).append(gpu.gpu_model)
            continue
        tier = scale_out(
            gpu=gpu,
            rate=workload.units_per_second(gpu),
            required_rate=required,
            hours=hours,
            price=prices.get(gpu.gpu_model),
            working=(),
        )
        if tier is None:
            skipped.setdefault("too many GPUs", []).append(gpu.gpu_model)
        else:
            tiers.append(tier)
    reasoning = [
        f"{workload.kind.replace('_', ' ').capitalize()} at quality {quality!r} needs "
        f"{workload.memory_gb:g} GB on each GPU, which works through its own share."
    ]
    if request.model_name is not None:
        reasoning.append(f"model_name {request.model_name!r} is not used for {workload.kind}.")
    return Sizing(tiers, skipped, workload.memory_gb, None, hours, 0.0, reasoning)
