"""Cost of compute: cost per token and per GFLOP of a GPU at a price, with confidence.

Specs come from the canonical catalogue (`apps.gpus`, the same data `gpu_specs_load` copies
into `gpu_benchmarks`); the formulas are `algorithms.kpi`'s and docs/kpi-formulas.md lists
them with their constants. Every rejected input is a 400 naming its field.
"""

from __future__ import annotations

from dataclasses import dataclass

from algorithms.kpi import (
    DECODE_EFFICIENCY,
    DEFAULT_BATCH_SIZE,
    DEFAULT_PRECISION,
    FLOPS_PER_PARAM_PER_TOKEN,
    MOE_TOTAL_PARAMS_BILLION,
    PRECISION_BYTES,
    cost_per_gflop,
    cost_per_token,
    decode_tokens_per_second,
    gpus_needed_for_memory,
    parse_model_size,
)
from apps.gpus.catalogue import GpuModel, Precision
from apps.gpus.selectors import gpu_resolve_or_bad_request
from gpubroker.core.errors import algorithm_input_errors, field_error

# Confidence of a cost-per-token figure: the throughput is an analytic model (efficiency 0.6 of
# peak, +/- ~20% against published single-stream measurements), so it starts below 1 and drops
# for every further assumption. Rules are listed in docs/kpi-formulas.md.
TOKEN_BASE_CONFIDENCE = 0.7
ASSUMED_FORM_FACTOR_PENALTY = 0.1
MULTI_GPU_PENALTY = 0.1
MOE_PENALTY = 0.2
MIN_CONFIDENCE = 0.1


@dataclass(frozen=True)
class CostPerTokenDetails:
    """The throughput model's inputs and intermediate figures behind a cost per token."""

    method: str
    formula: str
    gpu_model: str
    gpu_resolved_from: str
    used_default_form_factor: bool
    model_size: str
    params_billion: float
    precision: str
    precision_assumed: bool
    bytes_per_param: float
    weights_gb: float
    gpu_count: int
    gpus_needed: int
    memory_bandwidth_gbps: float
    dense_tflops: float
    compute_precision: str
    efficiency: float
    batch_size: int
    memory_bound_tokens_per_second: float
    compute_bound_tokens_per_second: float
    limited_by: str
    confidence_notes: list[str]


@dataclass(frozen=True)
class CostPerTokenResult:
    """USD per token and per million tokens, tokens/s, a 0..1 confidence and the details."""

    cost_per_token: float
    cost_per_million_tokens: float
    tokens_per_second: float
    confidence: float
    calculation_details: CostPerTokenDetails


def _decode_compute_rate(gpu: GpuModel, weight_precision: str) -> tuple[str, float]:
    """Precision and dense TFLOPS of the decode matmuls.

    fp32 weights compute in fp32 and bf16 in bf16; fp16, fp8, int8 and int4 weights are
    dequantised to fp16 for the matmul (weight-only quantisation), so they use the fp16 rate.
    """
    compute: Precision = (
        "fp32" if weight_precision == "fp32" else "bf16" if weight_precision == "bf16" else "fp16"
    )
    rate = gpu.peak_tflops(compute)
    if rate is None:
        raise field_error("precision", f"{gpu.gpu_model} does not support {compute} ({gpu.source})")
    return compute, rate


def cost_per_token_calculate(
    *,
    price_per_hour: float,
    gpu_type: str,
    model_size: str,
    precision: str | None,
    gpu_count: int,
) -> CostPerTokenResult:
    """Cost of one decoded token, USD, on ``gpu_count`` GPUs of ``gpu_type``.

    ``price_per_hour`` is the whole instance's price, USD/hour.

    400 naming the field for an unknown GPU (gpu_type), an unreadable size (model_size), a
    precision the GPU lacks (precision) or a model whose weights need more GPUs than
    ``gpu_count`` (model_size: never a made-up throughput).
    """
    resolved = gpu_resolve_or_bad_request(name=gpu_type)
    gpu = resolved.gpu
    with algorithm_input_errors():
        params_billion = parse_model_size(model_size)
    weight_precision = precision or DEFAULT_PRECISION
    weight_bytes = PRECISION_BYTES[weight_precision]
    compute_precision, dense_tflops = _decode_compute_rate(gpu, weight_precision)
    weights_gb = params_billion * weight_bytes
    gpus_needed = gpus_needed_for_memory(model_memory_gb=weights_gb, vram_gb=gpu.vram_gb)
    if gpus_needed > gpu_count:
        raise field_error(
            "model_size",
            f"{model_size} in {weight_precision} needs {weights_gb:g} GB of weights, which takes "
            f"{gpus_needed} x {gpu.gpu_model} ({gpu.vram_gb} GB each) but gpu_count is "
            f"{gpu_count}; raise gpu_count or use a smaller precision",
            gpus_needed=gpus_needed,
        )
    tokens_per_second = decode_tokens_per_second(
        params_billion=params_billion,
        bytes_per_param=weight_bytes,
        memory_bandwidth_gbps=gpu.memory_bandwidth_gbps,
        dense_tflops=dense_tflops,
        vram_gb=gpu.vram_gb,
        gpu_count=gpu_count,
    )
    if tokens_per_second is None:  # unreachable: the fit was checked above with the same rule
        raise field_error("model_size", "does not fit in the GPUs' memory")
    with algorithm_input_errors():
        cost = cost_per_token(price_per_hour=price_per_hour, tokens_per_second=tokens_per_second)

    memory_bound = (
        DECODE_EFFICIENCY * gpu_count * gpu.memory_bandwidth_gbps / weights_gb * DEFAULT_BATCH_SIZE
    )
    compute_bound = (
        DECODE_EFFICIENCY
        * gpu_count
        * dense_tflops
        * 1e12
        / (FLOPS_PER_PARAM_PER_TOKEN * params_billion * 1e9)
    )
    confidence = TOKEN_BASE_CONFIDENCE
    notes = [
        f"Analytic decode model at {DECODE_EFFICIENCY:g} of peak, batch {DEFAULT_BATCH_SIZE}, "
        f"not a measurement: base {TOKEN_BASE_CONFIDENCE:g}."
    ]
    if resolved.used_default_form_factor:
        confidence -= ASSUMED_FORM_FACTOR_PENALTY
        notes.append(
            f"{gpu_type!r} does not name the form factor; {gpu.gpu_model} was assumed "
            f"(-{ASSUMED_FORM_FACTOR_PENALTY:g})."
        )
    if gpu_count > 1:
        confidence -= MULTI_GPU_PENALTY
        notes.append(
            f"Tensor-parallel scaling over {gpu_count} GPUs is assumed linear "
            f"(-{MULTI_GPU_PENALTY:g})."
        )
    if "".join(model_size.split()).lower() in MOE_TOTAL_PARAMS_BILLION:
        confidence -= MOE_PENALTY
        notes.append(
            "Mixture-of-experts size: every expert is counted as read per token, so the "
            f"throughput is a lower bound (-{MOE_PENALTY:g})."
        )
    details = CostPerTokenDetails(
        method="throughput_model",
        formula=(
            "tokens_per_second = min(efficiency x gpu_count x bandwidth_GB/s / weights_GB x "
            "batch, efficiency x gpu_count x TFLOPS x 1e12 / (2 x params)); cost_per_token = "
            "price_per_hour / (tokens_per_second x 3600)"
        ),
        gpu_model=gpu.gpu_model,
        gpu_resolved_from=resolved.resolved_from,
        used_default_form_factor=resolved.used_default_form_factor,
        model_size=model_size,
        params_billion=params_billion,
        precision=weight_precision,
        precision_assumed=precision is None,
        bytes_per_param=weight_bytes,
        weights_gb=weights_gb,
        gpu_count=gpu_count,
        gpus_needed=gpus_needed,
        memory_bandwidth_gbps=gpu.memory_bandwidth_gbps,
        dense_tflops=dense_tflops,
        compute_precision=compute_precision,
        efficiency=DECODE_EFFICIENCY,
        batch_size=DEFAULT_BATCH_SIZE,
        memory_bound_tokens_per_second=memory_bound,
        compute_bound_tokens_per_second=compute_bound,
        limited_by="memory_bandwidth" if memory_bound <= compute_bound else "compute",
        confidence_notes=notes,
    )
    return CostPerTokenResult(
        cost_per_token=cost.cost_per_token,
        cost_per_million_tokens=cost.cost_per_million_tokens,
        tokens_per_second=tokens_per_second,
        confidence=round(max(confidence, MIN_CONFIDENCE), 2),
        calculation_details=details,
    )


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
