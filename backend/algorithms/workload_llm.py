"""LLM inference for the workload estimator: the demand, the memory floor and one plan per GPU.

``plan_llm`` turns a request (a rate, a concurrency, or v1's quantity of output tokens within
a duration) into a ``sizing.Demand`` and sizes it with ``sizing.serving_plan`` on every GPU
kind; ``llm_summary`` writes the sentences for the recommended plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from algorithms._validation import int_in_range, positive_float
from algorithms.errors import AlgorithmInputError
from algorithms.hardware import GpuSpec
from algorithms.precision import BYTES_PER_KV_ELEMENT, BYTES_PER_WEIGHT, kv_precision
from algorithms.sizing import Demand, ModelDoesNotFit, ServingPlan, resolve_precision, serving_plan
from algorithms.working import Working
from algorithms.workload_plans import (
    MAX_GPUS_PER_TIER,
    RATE_FIELDS,
    GpuTier,
    PriceRange,
    Sizing,
    WorkloadRequest,
    llm_model_for,
    priced,
    tier_order,
)


def plan_llm(
    request: WorkloadRequest,
    kind: str,
    quality: str,
    gpus: Sequence[GpuSpec],
    prices: Mapping[str, PriceRange],
    work: Working,
) -> Sizing:
    """Size ``request``'s demand with ``sizing.serving_plan`` on each GPU kind.

    Raises:
        AlgorithmInputError: Naming the field for an unknown model, a missing or doubled
            demand, a quantity given with a rate, bad token counts or precisions, or a bad
            latency target.
    """
    model, penalty, model_sentence = llm_model_for(request.model_name, kind, work)
    demand, window, demand_sentence = _demand(request, work)
    precision = resolve_precision(request.precision, quality, Working())
    kv = kv_precision(request.kv_cache_precision)
    prompt = int_in_range(request.prompt_tokens, "prompt_tokens", minimum=0, maximum=10_000_000)
    output = int_in_range(request.output_tokens, "output_tokens", minimum=1, maximum=10_000_000)
    context = prompt + output if request.context_tokens is None else request.context_tokens
    context = int_in_range(context, "context_tokens", minimum=1, maximum=10_000_000)
    weights = work.number(
        "weights_gb", model.params_billion * BYTES_PER_WEIGHT[precision], "GB", "derived"
    )
    kv_per_token = work.number(
        "kv_gb_per_token",
        model.kv_bytes_per_token(BYTES_PER_KV_ELEMENT[kv]) / 1e9,
        "GB",
        "derived",
        f"{model.layers} layers x {model.kv_elements_per_token_per_layer} elements x {kv}",
    )
    minimum = work.number(
        "min_memory_gb", weights + context * kv_per_token, "GB", "derived", "weights + 1 context"
    )
    tiers: list[GpuTier] = []
    skipped: dict[str, list[str]] = {}
    for gpu in gpus:
        price = prices.get(gpu.gpu_model)
        try:
            plan = serving_plan(
                model=model,
                gpu=gpu,
                prompt_tokens=prompt,
                output_tokens=output,
                context_tokens=request.context_tokens,
                precision=request.precision,
                quality=quality,
                kv_cache_precision=kv,
                demand=demand,
                price_per_gpu_hour=price[0] if price else None,
                max_inter_token_latency_ms=request.max_inter_token_latency_ms,
            )
        except ModelDoesNotFit:
            skipped.setdefault("cannot hold one context in 16 GPUs", []).append(gpu.gpu_model)
            continue
        except AlgorithmInputError as error:
            if error.field != "demand":  # "demand": too many replicas, this GPU is too slow
                raise
            plan = None
        if plan is None or plan.total_gpus is None or plan.total_gpus > MAX_GPUS_PER_TIER:
            skipped.setdefault(f"more than {MAX_GPUS_PER_TIER:,} GPUs", []).append(gpu.gpu_model)
            continue
        tiers.append(_tier(plan, price, window))
    weight_note = (
        f"Precision {precision}"
        if request.precision is not None
        else f"Quality {quality!r} serves the weights in {precision}"
    )
    reasoning = [
        model_sentence,
        f"{weight_note}: {model.params_billion:g}B parameters = {weights:,.1f} GB; the KV cache "
        f"({kv}) takes {kv_per_token * 1e3:,.3g} MB per token, so one {context:,}-token context "
        f"needs {context * kv_per_token:,.2f} GB.",
        demand_sentence,
        "Each GPU kind is sized for batched serving (continuous batching as in vLLM, "
        "TensorRT-LLM, SGLang): the serving batch fills the KV cache up to vLLM's max_num_seqs, "
        "and replicas cover the demand.",
    ]
    recommended = None
    if tiers:
        best = min(tiers, key=tier_order).serving
        assert best is not None  # every LLM tier carries its plan
        reasoning.extend(llm_summary(best))
        recommended = weights + best.knee_batch * (prompt + output) * kv_per_token
    return Sizing(tiers, skipped, minimum, recommended, window, penalty, reasoning)


def _tier(plan: ServingPlan, price: PriceRange | None, window: float) -> GpuTier:
    total = plan.total_gpus or 0
    link, advice = _interconnect_advice(plan)
    return GpuTier(
        gpu_model=plan.gpu_model,
        gpus_needed=total,
        gpus_per_replica=plan.memory.gpus_per_replica,
        tensor_parallel=plan.memory.tensor_parallel,
        replicas=plan.replicas or 0,
        est_throughput=(plan.replicas or 0) * plan.replica_output_tokens_per_second,
        price_per_gpu_hour=price,
        deployment_usd_per_hour=priced(price, total, 1.0)[0],
        est_cost_range=priced(price, total, window)[1],
        interconnect=link,
        interconnect_advice=advice,
        warnings=plan.warnings,
        serving=plan,
        working=plan.working,
    )


def llm_summary(plan: ServingPlan) -> list[str]:
    """Sentences on a recommended plan: layout, batch, speed, both costs (labelled), warnings."""
    memory = plan.memory
    layout = f"tensor parallel {memory.tensor_parallel}"
    if memory.pipeline_parallel > 1:
        layout += f" x {memory.pipeline_parallel} pipeline stages"
    sentences = [
        f"Recommended: {plan.replicas} replica(s) of {memory.gpus_per_replica} x {plan.gpu_model} "
        f"({layout}) = {plan.total_gpus} GPUs, {plan.utilisation or 0:.0%} utilised; serving "
        f"batch {plan.serving_batch} (limited by {plan.batch_limit}), "
        f"{plan.replica_output_tokens_per_second:,.0f} output tokens/s per replica, "
        f"{plan.inter_token_latency_ms:,.0f} ms between tokens per user, "
        f"{plan.time_to_first_token_ms:,.0f} ms to the first token on an idle replica.",
    ]
    if plan.usd_per_million_output_tokens is not None:
        sentences.append(
            f"{plan.usd_per_million_output_tokens:,.3g} USD per million output tokens at the "
            f"serving batch (full load); {plan.usd_per_million_output_tokens_batch_1 or 0:,.3g} "
            "USD at batch 1 (one request at a time, the figure v1 reported); the deployment "
            f"costs {plan.deployment_usd_per_hour or 0:,.2f} USD/h at the cheapest offer price."
        )
    else:
        sentences.append(
            f"{plan.gpu_hours_per_million_output_tokens:,.3g} GPU-hours per million output "
            "tokens at the serving batch (no current offer price for this GPU)."
        )
    sentences.extend(plan.warnings)
    return sentences


def _interconnect_advice(plan: ServingPlan) -> tuple[str | None, str]:
    memory = plan.memory
    link = memory.interconnect
    if memory.gpus_per_replica == 1:
        return None, "One GPU per replica: the interconnect does not matter."
    tp = memory.tensor_parallel
    if link.is_nvlink_class:
        advice = (
            f"Tensor parallel over {tp} GPUs all-reduces every layer: rent the {tp} GPUs of a "
            f"replica as one node on {link.description} ({link.gbps_per_direction:g} GB/s)."
        )
    else:
        advice = (
            f"Tensor parallel over {tp} GPUs on {link.description} "
            f"({link.gbps_per_direction:g} GB/s): the all-reduces cross PCIe and slow decode "
            "(counted above); an NVLink/SXM part avoids it."
        )
    if memory.pipeline_parallel > 1:
        advice += " Pipeline stages span nodes: they need a fast cluster network (InfiniBand)."
    return link.description, advice


def _demand(request: WorkloadRequest, work: Working) -> tuple[Demand, float, str]:
    """The demand, the cost window in hours and a sentence."""
    rates = [name for name in RATE_FIELDS if getattr(request, name) is not None]
    if len(rates) > 1:
        raise AlgorithmInputError(rates[1], f"give only one of {', '.join(RATE_FIELDS)}")
    if rates and request.quantity is not None:
        raise AlgorithmInputError(
            "quantity", f"give either quantity with duration_hours or {rates[0]}, not both"
        )
    output = request.output_tokens
    if not rates:
        if request.quantity is None:
            raise AlgorithmInputError(
                "quantity", f"is required unless one of {', '.join(RATE_FIELDS)} is given"
            )
        if request.duration_hours is None:
            raise AlgorithmInputError("duration_hours", "is required with quantity")
        tokens = positive_float(request.quantity, "quantity")
        hours = positive_float(request.duration_hours, "duration_hours")
        sentence = (
            f"{tokens:,.4g} output tokens in {hours:g} h = "
            f"{tokens / (hours * 3600):,.4g} output tokens/s."
        )
        return Demand(total_output_tokens=tokens, deadline_hours=hours), hours, sentence
    window = 1.0
    if request.duration_hours is not None:
        window = positive_float(request.duration_hours, "duration_hours")
    work.number("window_hours", window, "h", "input" if request.duration_hours else "assumed")
    if request.requests_per_second is not None:
        rate = request.requests_per_second
        sentence = (
            f"{rate:,.4g} requests/s x {output} output tokens = {rate * output:,.4g} output "
            f"tokens/s (prompts of {request.prompt_tokens} tokens)."
        )
        return Demand(requests_per_second=rate), window, sentence
    if request.output_tokens_per_second is not None:
        sentence = f"{request.output_tokens_per_second:,.4g} output tokens/s."
        return Demand(output_tokens_per_second=request.output_tokens_per_second), window, sentence
    sentence = f"{request.concurrency} requests in flight at once."
    return Demand(concurrency=request.concurrency), window, sentence
