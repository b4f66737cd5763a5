"""Per-GPU KPI inputs and the one place an offer's cost KPIs are computed.

Every cost figure the API shows (listing items, one offer, the `/kpi/gpu` means, the SQL sort
and averages over offers) comes from `offer_kpis` or `token_cost_factors`, which both call the
formulas of `algorithms.kpi` (docs/kpi-formulas.md). The inputs are the catalogue's figures,
overridden by loaded `gpu_benchmarks` rows, cached per process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from algorithms import kpi as kpi_math
from apps.gpus.catalogue import all_gpus
from apps.gpus.models import GPUBenchmark

# cost_per_token is quoted for a 7B model with fp16 weights, one request at a time, per GPU,
# and an instance of n GPUs is n independent replicas (a 7B model fits on every listed GPU
# that can run it at all, so splitting it would only add communication).
KPI_MODEL_PARAMS_BILLION = 7.0
KPI_WEIGHT_PRECISION = "fp16"
GPU_KPI_INPUTS_TTL_SECONDS = 300.0


@dataclass(frozen=True)
class GpuKpiInputs:
    """Per-GPU figures behind the offer KPIs (None where unknown or the model does not fit).

    Attributes:
        tokens_per_second: Decode tokens/s of one GPU (7B, fp16, batch 1).
        tflops_fp32: Dense fp32 peak of one GPU, TFLOPS.
    """

    tokens_per_second: float | None
    tflops_fp32: float | None


UNKNOWN_GPU = GpuKpiInputs(None, None)


@dataclass(frozen=True)
class OfferKpis:
    """Cost KPIs of one offer (None where the GPU's figures are unknown or the price is 0).

    Attributes:
        tokens_per_second: tokens/s of all the offer's GPUs, each one replica.
        cost_per_token: USD per token.
        cost_per_million_tokens: USD per million tokens.
        cost_per_gflop: USD per GFLOP at the fp32 peak of all the GPUs.
        cost_per_tflop_hour: USD per TFLOP-hour at that peak.
    """

    tokens_per_second: float | None
    cost_per_token: float | None
    cost_per_million_tokens: float | None
    cost_per_gflop: float | None
    cost_per_tflop_hour: float | None


_kpi_lock = threading.Lock()
_kpi_inputs: tuple[float, Mapping[str, GpuKpiInputs]] | None = None


def _catalogue_kpi_inputs() -> dict[str, GpuKpiInputs]:
    inputs = {}
    for gpu in all_gpus():
        tokens = kpi_math.decode_tokens_per_second(
            params_billion=KPI_MODEL_PARAMS_BILLION,
            bytes_per_param=kpi_math.PRECISION_BYTES[KPI_WEIGHT_PRECISION],
            memory_bandwidth_gbps=gpu.memory_bandwidth_gbps,
            dense_tflops=gpu.tflops_fp16,
            vram_gb=gpu.vram_gb,
        )
        inputs[gpu.gpu_model] = GpuKpiInputs(tokens, gpu.tflops_fp32 or None)
    return inputs


def gpu_kpi_inputs() -> Mapping[str, GpuKpiInputs]:
    """tokens/s (7B, fp16, batch 1, one GPU) and fp32 TFLOPS per canonical gpu_model.

    The catalogue's figures, overridden by the loaded `gpu_benchmarks` rows where those have a
    value. Cached per process for GPU_KPI_INPUTS_TTL_SECONDS (specs change on deploys only):
    one query per TTL, never one per offer.
    """
    global _kpi_inputs
    now = time.monotonic()
    cached = _kpi_inputs
    if cached is not None and now - cached[0] < GPU_KPI_INPUTS_TTL_SECONDS:
        return cached[1]
    with _kpi_lock:
        inputs = _catalogue_kpi_inputs()
        rows = GPUBenchmark.objects.values_list("gpu_model", "tokens_per_second_7b", "tflops_fp32")
        for gpu_model, tokens, tflops in rows:
            known = inputs.get(gpu_model, UNKNOWN_GPU)
            inputs[gpu_model] = GpuKpiInputs(
                tokens if tokens and tokens > 0 else known.tokens_per_second,
                tflops if tflops and tflops > 0 else known.tflops_fp32,
            )
        _kpi_inputs = (now, inputs)
    return inputs


def gpu_kpi_inputs_reset() -> None:
    """Forget the per-process map (tests, or after `load_gpu_specs` in the same process)."""
    global _kpi_inputs
    _kpi_inputs = None


def offer_kpis(
    *, price_per_hour: Decimal | float | None, gpu_model: str | None, gpu_count: int | None
) -> OfferKpis:
    """The cost KPIs of an instance of `gpu_count` GPUs (None or 0: one) at `price_per_hour`.

    `price_per_hour` is the whole instance's price in USD/hour; its n GPUs serve n replicas.
    Pass a price per GPU-hour and `gpu_count=1` for per-GPU figures. Every figure is None when
    the price is missing or not positive, or the GPU's figure is unknown.
    """
    inputs = gpu_kpi_inputs().get(gpu_model or "", UNKNOWN_GPU)
    count = gpu_count or 1
    price = 0.0 if price_per_hour is None else float(price_per_hour)
    tokens = inputs.tokens_per_second * count if inputs.tokens_per_second else None
    per_token = per_gflop = None
    if price > 0 and tokens:
        per_token = kpi_math.cost_per_token(price_per_hour=price, tokens_per_second=tokens)
    if price > 0 and inputs.tflops_fp32:
        per_gflop = kpi_math.cost_per_gflop(price_per_hour=price, tflops=inputs.tflops_fp32 * count)
    return OfferKpis(
        tokens_per_second=tokens,
        cost_per_token=per_token.cost_per_token if per_token else None,
        cost_per_million_tokens=per_token.cost_per_million_tokens if per_token else None,
        cost_per_gflop=per_gflop.cost_per_gflop if per_gflop else None,
        cost_per_tflop_hour=per_gflop.cost_per_tflop_hour if per_gflop else None,
    )


def token_cost_factors() -> dict[str, float]:
    """USD per token of one GPU renting at 1 USD/hour, per canonical gpu_model with a known rate.

    cost_per_token is linear in the price, so SQL multiplies a price per GPU-hour by this
    factor and gets exactly `offer_kpis`'s figure without writing the formula a second time.
    """
    return {
        gpu_model: kpi_math.cost_per_token(
            price_per_hour=1.0, tokens_per_second=inputs.tokens_per_second
        ).cost_per_token
        for gpu_model, inputs in sorted(gpu_kpi_inputs().items())
        if inputs.tokens_per_second
    }
