"""Cost of compute: cost per token and per GFLOP of a GPU at a price, with confidence.

Specs come from the canonical catalogue (`apps.gpus`, the same data `gpu_specs_load` copies
into `gpu_benchmarks`). Cost per token is the calibrated serving model's
(`algorithms.offer_cost.offer_serving_cost`: batched decode at the serving batch, the best
tensor-parallel layout of the GPUs given); cost per GFLOP is `algorithms.kpi`'s.
docs/kpi-formulas.md lists every formula and constant. Every rejected input is a 400 naming
its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from algorithms.kpi import cost_per_gflop
from algorithms.model_registry import model_resolve
from algorithms.offer_cost import offer_serving_cost, usd_per_million_output_tokens
from algorithms.precision import DEFAULT_KV_PRECISION, compute_rate
from apps.gpus.catalogue import Precision
from apps.gpus.selectors import gpu_resolve_or_bad_request
from gpubroker.core.errors import algorithm_input_errors, field_error

# Confidence of a cost-per-token figure: the serving model is calibrated within +/-35 % of 20
# published measurements (docs/kpi-formulas.md), so it starts below 1 and drops for every
# further assumption. Rules are listed in docs/kpi-formulas.md.
TOKEN_BASE_CONFIDENCE = 0.8
ASSUMED_FORM_FACTOR_PENALTY = 0.1
ESTIMATED_MODEL_PENALTY = 0.2
PCIE_TENSOR_PARALLEL_PENALTY = 0.1
MIN_CONFIDENCE = 0.1
FORMULA = (
    "cost_per_token = price_per_hour / (tokens_per_second * 3600), tokens_per_second = "
    "replicas x serving_batch / decode_step_seconds (roofline of weights + KV reads and "
    "FLOPs, calibrated; docs/kpi-formulas.md)"
)


@dataclass(frozen=True)
class CostPerTokenDetails:
    """v1's calculation_details keys, then the serving model's inputs and figures.

    Attributes:
        price_per_hour: The instance's price, USD/h (v1).
        gpu_type: The GPU as given (v1).
        model_size: The size label as given (v1).
        tokens_per_hour: Output tokens per hour of all replicas (v1).
        formula: The formula in words (v1).
        method: ``"serving_model"``.
        gpu_model: The catalogue GPU; ``gpu_resolved_from`` and ``used_default_form_factor``
            say how the name was read.
        model: Registry id (``estimated:<name>`` for a size-based estimate).
        model_estimated: Whether the architecture was estimated from a size.
        params_billion, active_params_billion: Parameters in all and per token, billions.
        precision, precision_assumed, kv_cache_precision: Formats used.
        compute_format, compute_note: The tensor format the matmuls run in, and why.
        gpu_count, gpus_per_replica, tensor_parallel, replicas: The layout on the offer.
        serving_batch, batch_limit: Sequences per replica and what capped them.
        prompt_tokens, output_tokens: The request shape.
        tokens_per_second_batch_1: All replicas, one request at a time each.
        inter_token_latency_ms, time_to_first_token_ms: Latency at the serving batch / idle.
        interconnect: The replica's GPU-to-GPU link.
        confidence_notes: One sentence per confidence rule applied.
    """

    price_per_hour: float
    gpu_type: str
    model_size: str
    tokens_per_hour: float
    formula: str
    method: str
    gpu_model: str
    gpu_resolved_from: str
    used_default_form_factor: bool
    model: str
    model_estimated: bool
    params_billion: float
    active_params_billion: float
    precision: str
    precision_assumed: bool
    kv_cache_precision: str
    compute_format: str
    compute_note: str
    gpu_count: int
    gpus_per_replica: int
    tensor_parallel: int
    replicas: int
    serving_batch: int
    batch_limit: str
    prompt_tokens: int
    output_tokens: int
    tokens_per_second_batch_1: float
    inter_token_latency_ms: float
    time_to_first_token_ms: float
    interconnect: str
    confidence_notes: list[str]


@dataclass(frozen=True)
class CostPerTokenResult:
    """USD per output token and per million at the serving batch and at batch 1, with working.

    Attributes:
        cost_per_token: USD per output token at the serving batch, full load (v1 key).
        cost_per_million_tokens: The same per million (v1 key).
        cost_per_million_tokens_batch_1: One request at a time per replica (what v1 computed).
        tokens_per_second: Output tokens/s of all replicas at the serving batch (v1 key).
        confidence: 0..1 (v1 key).
        cost_basis: ``{model, precision, batch, prompt_tokens, output_tokens}``.
        calculation_details: v1's keys plus the model's (``CostPerTokenDetails``).
        warnings: Plain sentences (context longer than published, PCIe tensor parallelism).
        working: Every step of the serving plan: name, value, unit, kind, note.
    """

    cost_per_token: float
    cost_per_million_tokens: float
    cost_per_million_tokens_batch_1: float
    tokens_per_second: float
    confidence: float
    cost_basis: dict[str, Any]
    calculation_details: CostPerTokenDetails
    warnings: list[str]
    working: list[dict[str, Any]]


def cost_per_token_calculate(
    *,
    price_per_hour: float,
    gpu_type: str,
    model_size: str,
    precision: str | None,
    gpu_count: int,
    model: str | None = None,
    prompt_tokens: int = 500,
    output_tokens: int = 200,
    context_tokens: int | None = None,
    kv_cache_precision: str = DEFAULT_KV_PRECISION,
) -> CostPerTokenResult:
    """Cost of one output token, USD, of ``model`` (or ``model_size``) on ``gpu_count`` GPUs.

    ``price_per_hour`` is the whole instance's price, USD/hour. The GPUs run as many replicas
    of the best tensor-parallel layout as fit, each at its serving batch.

    Raises:
        BadRequest: (400) naming gpu_type for an unknown GPU; model (or model_size) for an
            unknown name without a size, or a model that does not fit in ``gpu_count`` GPUs
            (details ``reason`` and ``gpus_needed``, never a made-up throughput); precision,
            prompt_tokens, output_tokens, context_tokens or kv_cache_precision when invalid.
    """
    resolved = gpu_resolve_or_bad_request(name=gpu_type)
    gpu = resolved.gpu
    field = "model_size" if model is None else "model"
    with algorithm_input_errors():
        architecture = model_resolve(model_size if model is None else model, field)
        cost = offer_serving_cost(
            model=architecture,
            gpu=gpu,
            gpu_count=gpu_count,
            price_per_hour=price_per_hour,
            prompt_tokens=prompt_tokens,
            output_tokens=output_tokens,
            context_tokens=context_tokens,
            precision=precision,
            kv_cache_precision=kv_cache_precision,
        )
    if cost.plan is None or cost.output_tokens_per_second is None:
        raise field_error(
            field,
            f"{architecture.name} ({precision or 'fp16'}) does not fit: {cost.reason}; raise "
            "gpu_count or use a smaller precision",
            reason=cost.reason,
            gpus_needed=cost.gpus_needed,
        )
    plan = cost.plan
    tokens = cost.output_tokens_per_second
    per_million = cost.usd_per_million_output_tokens or 0.0
    batch_1_tokens = cost.replicas * plan.batch_1_output_tokens_per_second
    per_million_1 = usd_per_million_output_tokens(
        price_per_hour=price_per_hour, output_tokens_per_second=batch_1_tokens
    )
    confidence, notes = _token_confidence(
        used_default_form_factor=resolved.used_default_form_factor,
        gpu_type=gpu_type,
        gpu_model=gpu.gpu_model,
        model_estimated=architecture.is_estimated,
        pcie_tensor_parallel=plan.memory.tensor_parallel > 1
        and not plan.memory.interconnect.is_nvlink_class,
    )
    rate = compute_rate(gpu, plan.precision)
    details = CostPerTokenDetails(
        price_per_hour=price_per_hour,
        gpu_type=gpu_type,
        model_size=model_size,
        tokens_per_hour=tokens * 3600,
        formula=FORMULA,
        method="serving_model",
        gpu_model=gpu.gpu_model,
        gpu_resolved_from=resolved.resolved_from,
        used_default_form_factor=resolved.used_default_form_factor,
        model=architecture.id,
        model_estimated=architecture.is_estimated,
        params_billion=architecture.params_billion,
        active_params_billion=architecture.active_params_billion,
        precision=plan.precision,
        precision_assumed=precision is None,
        kv_cache_precision=plan.kv_precision,
        compute_format=rate.format,
        compute_note=rate.note,
        gpu_count=gpu_count,
        gpus_per_replica=plan.memory.gpus_per_replica,
        tensor_parallel=plan.memory.tensor_parallel,
        replicas=cost.replicas,
        serving_batch=plan.serving_batch,
        batch_limit=plan.batch_limit,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        tokens_per_second_batch_1=batch_1_tokens,
        inter_token_latency_ms=plan.inter_token_latency_ms,
        time_to_first_token_ms=plan.time_to_first_token_ms,
        interconnect=plan.memory.interconnect.description,
        confidence_notes=notes,
    )
    return CostPerTokenResult(
        cost_per_token=per_million / 1e6,
        cost_per_million_tokens=per_million,
        cost_per_million_tokens_batch_1=per_million_1,
        tokens_per_second=tokens,
        confidence=confidence,
        cost_basis={
            "model": architecture.id,
            "precision": plan.precision,
            "batch": plan.serving_batch,
            "prompt_tokens": prompt_tokens,
            "output_tokens": output_tokens,
        },
        calculation_details=details,
        warnings=list(plan.warnings),
        working=[step.as_dict() for step in plan.working],
    )


def _token_confidence(
    *,
    used_default_form_factor: bool,
    gpu_type: str,
    gpu_model: str,
    model_estimated: bool,
    pcie_tensor_parallel: bool,
) -> tuple[float, list[str]]:
    confidence = TOKEN_BASE_CONFIDENCE
    notes = [
        "Calibrated serving model (within +/-35 % of 20 published measurements), not a "
        f"measurement of this offer: base {TOKEN_BASE_CONFIDENCE:g}."
    ]
    if used_default_form_factor:
        confidence -= ASSUMED_FORM_FACTOR_PENALTY
        notes.append(
            f"{gpu_type!r} does not name the form factor; {gpu_model} was assumed "
            f"(-{ASSUMED_FORM_FACTOR_PENALTY:g})."
        )
    if model_estimated:
        confidence -= ESTIMATED_MODEL_PENALTY
        notes.append(
            "The architecture is estimated from the parameter count, not read from a "
            f"published config (-{ESTIMATED_MODEL_PENALTY:g})."
        )
    if pcie_tensor_parallel:
        confidence -= PCIE_TENSOR_PARALLEL_PENALTY
        notes.append(
            "Tensor parallelism over PCIe: the all-reduce cost is modelled, but the fewest "
            f"references cover it (-{PCIE_TENSOR_PARALLEL_PENALTY:g})."
        )
    return round(max(confidence, MIN_CONFIDENCE), 2), notes


# A datasheet dense peak is a sourced figure, but achieved FLOPS are below peak; 0.9 says
# "the price of peak capacity is exact, the capacity is the vendor's".
GFLOP_BASE_CONFIDENCE = 0.9


@dataclass(frozen=True)
class CostPerGflopResult:
    """USD per GFLOP and per TFLOP-hour at the dense peak of `gpu_count` GPUs, with a confidence."""

    cost_per_gflop: float
    cost_per_tflop_hour: float
    gpu_tflops: float
    total_tflops: float
    gpu_model: str
    precision: str
    gpu_count: int
    confidence: float


def cost_per_gflop_calculate(
    *, price_per_hour: float, gpu_type: str, precision: Precision, gpu_count: int
) -> CostPerGflopResult:
    """Price of peak dense compute at ``precision`` on ``gpu_count`` GPUs of ``gpu_type``.

    400 naming gpu_type for an unknown GPU, naming precision when the GPU has no figure for it.
    """
    resolved = gpu_resolve_or_bad_request(name=gpu_type)
    gpu = resolved.gpu
    tflops = gpu.peak_tflops(precision)
    if tflops is None:
        raise field_error(
            "precision",
            f"{gpu.gpu_model} has no {precision} rate (not supported or not published)",
        )
    total = tflops * gpu_count
    with algorithm_input_errors():
        cost = cost_per_gflop(price_per_hour=price_per_hour, tflops=total)
    confidence = GFLOP_BASE_CONFIDENCE
    if resolved.used_default_form_factor:
        confidence -= ASSUMED_FORM_FACTOR_PENALTY
    return CostPerGflopResult(
        cost_per_gflop=cost.cost_per_gflop,
        cost_per_tflop_hour=cost.cost_per_tflop_hour,
        gpu_tflops=tflops,
        total_tflops=total,
        gpu_model=gpu.gpu_model,
        precision=precision,
        gpu_count=gpu_count,
        confidence=round(confidence, 2),
    )
