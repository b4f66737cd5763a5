"""Serving plans and costs: replicas for a demand, $/h for the deployment, $/M tokens.

``serving_plan`` answers "how many GPUs of this kind, and what does a million tokens cost" for
one model, precision and traffic shape, with its working; ``offer_cost.offer_serving_cost``
answers "what does a million tokens cost on this offer" for the listing from these plans.

Serving batch: the largest batch the KV cache holds, capped by vLLM's default ``max_num_seqs``
(1024 on GPUs with at least 70 GiB other than A100, else 256: ``EngineArgs.get_batch_defaults``
in vllm/engine/arg_utils.py) and, when given, by an inter-token latency target. The *knee
batch* is the smallest batch reaching 95 % of that throughput: beyond it a larger batch buys
little and costs latency.

Costs (price per GPU-hour ``p``, replica of ``g`` GPUs making ``T`` output tokens/s):
    USD per million output tokens = g x p / (T x 3600) x 1e6   (at the serving batch, full load)
    the same at batch 1 (one user at a time: the v1 figure, labelled as such)
    deployment USD/h              = replicas x g x p
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from algorithms._validation import int_in_range, positive_float
from algorithms.errors import AlgorithmInputError
from algorithms.hardware import GpuSpec
from algorithms.model_registry import LlmArchitecture, model_resolve
from algorithms.precision import (
    DEFAULT_KV_PRECISION,
    DEFAULT_WEIGHT_PRECISION,
    KvPrecision,
    WeightPrecision,
    kv_precision,
    precision_from_quality,
    weight_precision,
)
from algorithms.serving import (
    CALIBRATED_EFFICIENCY,
    Efficiency,
    MemoryPlan,
    memory_plan,
    prefill_seconds,
    step_time,
    tensor_parallel_degrees,
)
from algorithms.working import Step, Working

SECONDS_PER_HOUR = 3600.0
KNEE_SHARE = 0.95
LARGE_GPU_BATCH_CAP = 1024
SMALL_GPU_BATCH_CAP = 256
LARGE_GPU_GIB = 70
MAX_REPLICAS = 100_000


class ModelDoesNotFit(AlgorithmInputError):
    """The model (with one full context) does not fit any allowed layout of this GPU.

    Attributes:
        plan: The last layout tried, whose ``reason`` says why.
    """

    def __init__(self, plan: MemoryPlan) -> None:
        """Build from the failing memory plan; the field is ``model``."""
        super().__init__("model", plan.reason)
        self.plan = plan


@dataclass(frozen=True, slots=True)
class Demand:
    """The traffic to serve: exactly one of the four forms.

    Attributes:
        requests_per_second: Arrival rate of requests of the plan's average shape.
        output_tokens_per_second: Generated tokens per second.
        concurrency: Requests in flight at once.
        total_output_tokens: Work to finish by ``deadline_hours`` (both given together).
        deadline_hours: Hours to finish ``total_output_tokens`` in.
    """

    requests_per_second: float | None = None
    output_tokens_per_second: float | None = None
    concurrency: int | None = None
    total_output_tokens: float | None = None
    deadline_hours: float | None = None


@dataclass(frozen=True, slots=True)
class ServingPlan:
    """Sizing and cost of serving one model on one GPU kind (all figures also in ``working``).

    Attributes:
        model: The architecture used (``model.is_estimated`` for a size-based guess).
        gpu_model: GPU kind.
        precision: Weight precision; ``kv_precision`` the KV cache's.
        memory: The replica layout (TP, PP, KV capacity, interconnect).
        serving_batch: Batch each replica runs at; ``batch_limit`` says what capped it.
        knee_batch: Smallest batch reaching 95 % of the serving batch's throughput.
        replica_output_tokens_per_second: Output tokens/s of one replica at the serving batch.
        replica_requests_per_second: Requests/s of one replica at the serving batch.
        batch_1_output_tokens_per_second: One replica serving one request at a time.
        inter_token_latency_ms: Per-user ms per output token at the serving batch.
        single_stream_ms_per_token: ms per token for one user alone (batch 1).
        time_to_first_token_ms: Prefill of one prompt on an idle replica.
        replicas: Replicas the demand needs (``None`` without a demand).
        total_gpus: ``replicas x gpus_per_replica``.
        utilisation: Demand / capacity of those replicas.
        price_per_gpu_hour: USD per GPU-hour used for the costs (``None``: no costs).
        deployment_usd_per_hour: The replicas' price per hour.
        usd_per_million_output_tokens: At the serving batch, full load.
        usd_per_million_output_tokens_batch_1: One request at a time (what v1 reported).
        gpu_hours_per_million_output_tokens: Price-free form of the serving-batch cost.
        warnings: Plain sentences the caller should show.
        working: Every step, with units and kinds.
    """

    model: LlmArchitecture
    gpu_model: str
    precision: WeightPrecision
    kv_precision: KvPrecision
    memory: MemoryPlan
    serving_batch: int
    batch_limit: str
    knee_batch: int
    replica_output_tokens_per_second: float
    replica_requests_per_second: float
    batch_1_output_tokens_per_second: float
    inter_token_latency_ms: float
    single_stream_ms_per_token: float
    time_to_first_token_ms: float
    replicas: int | None
    total_gpus: int | None
    utilisation: float | None
    price_per_gpu_hour: float | None
    deployment_usd_per_hour: float | None
    usd_per_million_output_tokens: float | None
    usd_per_million_output_tokens_batch_1: float | None
    gpu_hours_per_million_output_tokens: float
    warnings: tuple[str, ...]
    working: tuple[Step, ...]


def resolve_precision(precision: str | None, quality: str | None, work: Working) -> WeightPrecision:
    """``precision`` if given, else v1's ``quality`` mapped (precision.py), else fp16 (stated).

    Raises:
        AlgorithmInputError: For an unknown precision or quality.
    """
    if precision is not None:
        chosen = weight_precision(precision)
        work.add("precision", chosen, "", "input")
    elif quality is not None:
        chosen = precision_from_quality(quality)
        work.add("precision", chosen, "", "assumed", f"v1 quality {quality!r} -> {chosen}")
    else:
        chosen = DEFAULT_WEIGHT_PRECISION
        work.add("precision", chosen, "", "assumed", "none given: weights as published (fp16)")
    return chosen


def batch_cap(gpu: GpuSpec) -> int:
    """The default ``max_num_seqs`` of vLLM for this GPU (module docstring)."""
    large = gpu.vram_gb >= LARGE_GPU_GIB and gpu.family.strip().upper() != "A100"
    return LARGE_GPU_BATCH_CAP if large else SMALL_GPU_BATCH_CAP


def serving_plan(
    *,
    model: str | LlmArchitecture,
    gpu: GpuSpec,
    prompt_tokens: int,
    output_tokens: int,
    context_tokens: int | None = None,
    precision: str | None = None,
    quality: str | None = None,
    kv_cache_precision: str = DEFAULT_KV_PRECISION,
    demand: Demand | None = None,
    price_per_gpu_hour: float | None = None,
    max_inter_token_latency_ms: float | None = None,
    efficiency: Efficiency = CALIBRATED_EFFICIENCY,
    tensor_parallel: int | None = None,
) -> ServingPlan:
    """Size a deployment of ``model`` on ``gpu``.

    Requests average ``prompt_tokens`` in and ``output_tokens`` out; each sequence may grow to
    ``context_tokens`` (default prompt + output). ``precision`` wins over v1's ``quality``.

    Layout: every tensor-parallel degree that fits on one node is sized and the best kept: the
    fewest GPUs in all for a demand (then the lowest cost per token), else the most output
    tokens per GPU; layouts meeting ``max_inter_token_latency_ms`` come first. Pipeline stages
    are added only when one node cannot hold the model. ``tensor_parallel`` forces a degree.

    Raises:
        AlgorithmInputError: For unknown models or precisions, token counts out of range, a context
            shorter than prompt + output, more than one demand form, or a bad price.
        ModelDoesNotFit: When no layout of ``gpu`` holds the weights and one full context.
    """
    work = Working()
    architecture = model if isinstance(model, LlmArchitecture) else model_resolve(model)
    work.add(
        "model",
        architecture.id,
        "",
        "estimate" if architecture.is_estimated else "spec",
        architecture.estimation_note or ", ".join(architecture.sources),
    )
    chosen = resolve_precision(precision, quality, work)
    kv = kv_precision(kv_cache_precision)
    work.add("kv_cache_precision", kv, "", "input")
    prompt = int_in_range(prompt_tokens, "prompt_tokens", minimum=0, maximum=10_000_000)
    output = int_in_range(output_tokens, "output_tokens", minimum=1, maximum=10_000_000)
    context = prompt + output if context_tokens is None else context_tokens
    context = int_in_range(context, "context_tokens", minimum=1, maximum=10_000_000)
    if context < prompt + output:
        raise AlgorithmInputError(
            "context_tokens", f"must be at least prompt + output tokens ({prompt + output})"
        )
    warnings: list[str] = []
    if architecture.max_context is not None and context > architecture.max_context:
        warnings.append(
            f"{architecture.name} is published with a {architecture.max_context:,}-token "
            f"context; {context:,} tokens needs a longer-context variant of the same shape "
            "(e.g. Llama 3.1/3.3 for Llama 3)."
        )
    work.add("prompt_tokens", prompt, "tokens", "input")
    work.add("output_tokens", output, "tokens", "input")
    work.add("context_tokens", context, "tokens", "input" if context_tokens else "assumed")

    plan = memory_plan(
        model=architecture,
        gpu=gpu,
        precision=chosen,
        kv_precision=kv,
        context_tokens=context,
        tokens_per_sequence=prompt + output,
        tensor_parallel=tensor_parallel,
    )
    if not plan.fits:
        raise ModelDoesNotFit(plan)
    if tensor_parallel is None and plan.pipeline_parallel == 1:
        options = [
            serving_plan(
                model=architecture,
                gpu=gpu,
                prompt_tokens=prompt,
                output_tokens=output,
                context_tokens=context_tokens,
                precision=chosen,
                kv_cache_precision=kv,
                demand=demand,
                price_per_gpu_hour=price_per_gpu_hour,
                max_inter_token_latency_ms=max_inter_token_latency_ms,
                efficiency=efficiency,
                tensor_parallel=degree,
            )
            for degree in tensor_parallel_degrees(architecture)
            if degree >= plan.tensor_parallel
        ]
        return min(options, key=lambda option: _preference(option, max_inter_token_latency_ms))
    work.extend(plan.working)
    work.add(
        "tensor_parallel", plan.tensor_parallel, "GPUs", "derived", plan.interconnect.description
    )
    work.add("gpus_per_replica", plan.gpus_per_replica, "GPUs", "derived")
    warnings.extend(plan.warnings)

    def step_seconds(batch: int, include_prefill: bool = True) -> float:
        return step_time(
            model=architecture,
            gpu=gpu,
            plan=plan,
            precision=chosen,
            kv_precision=kv,
            prompt_tokens=prompt,
            output_tokens=output,
            batch=batch,
            efficiency=efficiency,
            include_prefill=include_prefill,
        ).seconds

    def throughput(batch: int) -> float:
        return batch / step_seconds(batch)

    cap = batch_cap(gpu)
    batch, limit = (
        min(plan.max_sequences, cap),
        "memory" if plan.max_sequences <= cap else ("max_num_seqs"),
    )
    if max_inter_token_latency_ms is not None:
        target = positive_float(max_inter_token_latency_ms, "max_inter_token_latency_ms")
        while batch > 1 and 1000.0 * batch / throughput(batch) > target:
            batch = max(1, batch * 9 // 10)
            limit = "latency target"
    batch = max(1, batch)
    replica_tps = throughput(batch)
    knee = _knee(throughput, batch, replica_tps)
    itl_ms = 1000.0 * batch / replica_tps
    single_seconds = step_seconds(1, include_prefill=False)
    ttft = prefill_seconds(
        model=architecture,
        gpu=gpu,
        plan=plan,
        precision=chosen,
        prompt_tokens=max(prompt, 1),
        efficiency=efficiency,
    )
    batch_1_tps = throughput(1)
    work.number(
        "memory_bandwidth_efficiency",
        efficiency.memory_bandwidth,
        "",
        "estimate",
        "calibrated on published measurements (serving_references.json)",
    )
    work.number(
        "compute_efficiency",
        efficiency.compute,
        "",
        "estimate",
        "calibrated on published measurements (serving_references.json)",
    )
    work.add("serving_batch", batch, "sequences", "derived", f"limited by {limit}")
    work.add("knee_batch", knee, "sequences", "derived", "smallest batch at 95 % of throughput")
    work.number("replica_output_tokens_per_second", replica_tps, "tokens/s", "estimate")
    replica_rps = replica_tps / output
    work.number("replica_requests_per_second", replica_rps, "requests/s", "derived")
    work.number("inter_token_latency_ms", itl_ms, "ms/token", "estimate", "at the serving batch")
    work.number("single_stream_ms_per_token", 1000.0 * single_seconds, "ms/token", "estimate")
    work.number("time_to_first_token_ms", 1000.0 * ttft, "ms", "estimate", "idle replica")
    gpu_hours = plan.gpus_per_replica * 1e6 / (replica_tps * SECONDS_PER_HOUR)
    work.number("gpu_hours_per_million_output_tokens", gpu_hours, "GPU-h", "derived")

    replicas = total = None
    utilisation = None
    if demand is not None:
        replicas, utilisation = _replicas(demand, replica_tps, batch, output, work)
        total = replicas * plan.gpus_per_replica
        work.add("total_gpus", total, "GPUs", "derived", "replicas x GPUs per replica")
    price = deployment = per_million = per_million_1 = None
    if price_per_gpu_hour is not None:
        price = work.number(
            "price_per_gpu_hour",
            positive_float(price_per_gpu_hour, "price_per_gpu_hour", maximum=1e6),
            "USD/h",
            "input",
        )
        per_million = work.number(
            "usd_per_million_output_tokens",
            gpu_hours * price,
            "USD",
            "derived",
            "at the serving batch, replica fully loaded",
        )
        per_million_1 = work.number(
            "usd_per_million_output_tokens_batch_1",
            plan.gpus_per_replica * price * 1e6 / (batch_1_tps * SECONDS_PER_HOUR),
            "USD",
            "derived",
            "one request at a time (no batching)",
        )
        if total is not None:
            deployment = work.number("deployment_usd_per_hour", total * price, "USD/h", "derived")
    return ServingPlan(
        model=architecture,
        gpu_model=gpu.gpu_model,
        precision=chosen,
        kv_precision=kv,
        memory=plan,
        serving_batch=batch,
        batch_limit=limit,
        knee_batch=knee,
        replica_output_tokens_per_second=replica_tps,
        replica_requests_per_second=replica_rps,
        batch_1_output_tokens_per_second=batch_1_tps,
        inter_token_latency_ms=itl_ms,
        single_stream_ms_per_token=1000.0 * single_seconds,
        time_to_first_token_ms=1000.0 * ttft,
        replicas=replicas,
        total_gpus=total,
        utilisation=utilisation,
        price_per_gpu_hour=price,
        deployment_usd_per_hour=deployment,
        usd_per_million_output_tokens=per_million,
        usd_per_million_output_tokens_batch_1=per_million_1,
        gpu_hours_per_million_output_tokens=gpu_hours,
        warnings=tuple(warnings),
        working=work.freeze(),
    )


def _preference(plan: ServingPlan, latency_target: float | None) -> tuple[float, ...]:
    misses_target = latency_target is not None and plan.inter_token_latency_ms > latency_target
    total = plan.total_gpus if plan.total_gpus is not None else 0
    return (
        float(misses_target),
        float(total),
        plan.gpu_hours_per_million_output_tokens,
        float(plan.memory.gpus_per_replica),
    )


def _knee(throughput_at: object, batch: int, best: float) -> int:
    low, high = 1, batch
    while low < high:
        middle = (low + high) // 2
        if throughput_at(middle) >= KNEE_SHARE * best:  # type: ignore[operator]
            high = middle
        else:
            low = middle + 1
    return low


def _replicas(
    demand: Demand, replica_tps: float, batch: int, output: int, work: Working
) -> tuple[int, float]:
    forms = [
        demand.requests_per_second is not None,
        demand.output_tokens_per_second is not None,
        demand.concurrency is not None,
        demand.total_output_tokens is not None or demand.deadline_hours is not None,
    ]
    if sum(forms) != 1:
        raise AlgorithmInputError(
            "demand",
            "give exactly one of requests_per_second, output_tokens_per_second, concurrency, "
            "or total_output_tokens with deadline_hours",
        )
    if demand.concurrency is not None:
        wanted = int_in_range(demand.concurrency, "concurrency", minimum=1, maximum=10_000_000)
        work.add("concurrency", wanted, "requests", "input")
        replicas = math.ceil(wanted / batch)
        utilisation = wanted / (replicas * batch)
    else:
        if demand.requests_per_second is not None:
            rate = positive_float(demand.requests_per_second, "requests_per_second", maximum=1e7)
            work.number("requests_per_second", rate, "requests/s", "input")
            tokens = work.number(
                "required_output_tokens_per_second", rate * output, "tokens/s", "derived"
            )
        elif demand.output_tokens_per_second is not None:
            tokens = positive_float(
                demand.output_tokens_per_second, "output_tokens_per_second", maximum=1e10
            )
            work.number("required_output_tokens_per_second", tokens, "tokens/s", "input")
        else:
            if demand.total_output_tokens is None or demand.deadline_hours is None:
                raise AlgorithmInputError(
                    "deadline_hours", "total_output_tokens and deadline_hours go together"
                )
            total = positive_float(demand.total_output_tokens, "total_output_tokens", maximum=1e16)
            hours = positive_float(demand.deadline_hours, "deadline_hours", maximum=87_600)
            work.number("total_output_tokens", total, "tokens", "input")
            work.number("deadline_hours", hours, "h", "input")
            tokens = work.number(
                "required_output_tokens_per_second",
                total / (hours * SECONDS_PER_HOUR),
                "tokens/s",
                "derived",
            )
        replicas = max(1, math.ceil(tokens / replica_tps - 1e-9))
        utilisation = tokens / (replicas * replica_tps)
    if replicas > MAX_REPLICAS:
        raise AlgorithmInputError("demand", f"needs more than {MAX_REPLICAS:,} replicas")
    work.add(
        "replicas", replicas, "replicas", "derived", "demand / one replica's capacity, rounded up"
    )
    work.number("utilisation", utilisation, "", "derived", "demand / capacity of the replicas")
    return replicas, utilisation
