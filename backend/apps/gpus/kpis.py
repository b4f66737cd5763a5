"""Per-GPU KPI inputs and the one place an offer's cost KPIs are computed.

Every cost figure the API shows (listing items, one offer, the `/kpi/gpu` means, the SQL sort
and averages over offers) comes from `offer_kpis` or from `serving_table`, the small table both
the items and the SQL read (docs/kpi-formulas.md):

* cost per token / per million tokens: the serving model (`algorithms.offer_cost`) for a
  `CostBasis` (model, precision, request shape), at the serving batch and full load. The
  default basis, `DEFAULT_COST_BASIS`, is Llama 3.1 8B in fp16 with 500 prompt + 200 output
  tokens; `GET /providers?model=&precision=` asks for another. Per GPU kind the table holds
  every single-node layout's output tokens/s; an offer of n GPUs runs n // g replicas of the
  layout of g GPUs that gives it the most tokens/s, so its cost follows from its price and GPU
  count without running the model again.
* cost per GFLOP: the fp32 peak (`algorithms.kpi.cost_per_gflop`), the catalogue's figure
  overridden by a loaded `gpu_benchmarks` row, cached per process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from algorithms import kpi as kpi_math
from algorithms.model_registry import model_resolve
from algorithms.offer_cost import ReplicaLayouts, replica_layouts, usd_per_million_output_tokens
from algorithms.precision import weight_precision
from apps.gpus.catalogue import all_gpus
from apps.gpus.models import GPUBenchmark

GPU_KPI_INPUTS_TTL_SECONDS = 300.0
SERVING_TABLES_CACHED = 64  # distinct (model, precision) bases kept per process


@dataclass(frozen=True)
class CostBasis:
    """What a cost per token assumes.

    Attributes:
        model: Registry id (`llama-3.1-8b`), or the name given for a size-estimated model.
        precision: Weight precision (fp32, fp16, bf16, fp8, int8, int4); the KV cache is fp16.
        prompt_tokens: Prompt of each request.
        output_tokens: Output of each request (the tokens the cost is per).
    """

    model: str
    precision: str
    prompt_tokens: int = 500
    output_tokens: int = 200


DEFAULT_COST_BASIS = CostBasis(model="llama-3.1-8b", precision="fp16")


def cost_basis_for(*, model: str | None, precision: str | None) -> CostBasis:
    """The basis for a listing's `model` / `precision` (each defaulting to DEFAULT_COST_BASIS's).

    Raises:
        AlgorithmInputError: naming `model` for a name neither known nor carrying a size, or
            `precision` for an unknown precision.
    """
    resolved = DEFAULT_COST_BASIS.model if model is None else model_resolve(model).id
    chosen = DEFAULT_COST_BASIS.precision if precision is None else weight_precision(precision)
    return CostBasis(model=resolved.removeprefix("estimated:"), precision=chosen)


@lru_cache(maxsize=SERVING_TABLES_CACHED)
def serving_table(basis: CostBasis = DEFAULT_COST_BASIS) -> Mapping[str, ReplicaLayouts]:
    """Every catalogue GPU's single-node layouts for `basis` (output tokens/s per replica).

    Computed once per basis and process (the catalogue is fixed for the process' life; about
    25 ms for 43 GPUs), never per offer.

    Raises:
        AlgorithmInputError: For a basis the serving model rejects.
    """
    return {
        gpu.gpu_model: replica_layouts(
            model=basis.model,
            gpu=gpu,
            prompt_tokens=basis.prompt_tokens,
            output_tokens=basis.output_tokens,
            precision=basis.precision,
        )
        for gpu in all_gpus()
    }


@dataclass(frozen=True)
class OfferKpis:
    """Cost KPIs of one offer (None where the GPU is unknown, the price is 0 or it cannot serve).

    Attributes:
        tokens_per_second: Output tokens/s of all the offer's replicas at the serving batch.
        cost_per_token: USD per output token, full load.
        cost_per_million_tokens: USD per million output tokens, full load.
        cost_per_gflop: USD per GFLOP at the fp32 peak of all the GPUs.
        cost_per_tflop_hour: USD per TFLOP-hour at that peak.
        cost_basis: What the token costs assume: model, precision, batch (the serving batch
            per replica, None when the offer cannot serve), prompt and output tokens.
        cost_reason: Why the token costs are None (None when they are not).
    """

    tokens_per_second: float | None
    cost_per_token: float | None
    cost_per_million_tokens: float | None
    cost_per_gflop: float | None
    cost_per_tflop_hour: float | None
    cost_basis: dict[str, Any]
    cost_reason: str | None


_kpi_lock = threading.Lock()
_tflops: tuple[float, Mapping[str, float]] | None = None


def gpu_fp32_tflops() -> Mapping[str, float]:
    """Dense fp32 TFLOPS per canonical gpu_model: the catalogue, overridden by gpu_benchmarks.

    Cached per process for GPU_KPI_INPUTS_TTL_SECONDS (specs change on deploys only): one query
    per TTL, never one per offer.
    """
    global _tflops
    now = time.monotonic()
    cached = _tflops
    if cached is not None and now - cached[0] < GPU_KPI_INPUTS_TTL_SECONDS:
        return cached[1]
    with _kpi_lock:
        figures = {gpu.gpu_model: gpu.tflops_fp32 for gpu in all_gpus() if gpu.tflops_fp32 > 0}
        rows = GPUBenchmark.objects.values_list("gpu_model", "tflops_fp32")
        figures.update({model: tflops for model, tflops in rows if tflops and tflops > 0})
        _tflops = (now, figures)
    return figures


def gpu_kpi_inputs_reset() -> None:
    """Forget the per-process fp32 map (tests, or after `load_gpu_specs` in the same process)."""
    global _tflops
    _tflops = None


def offer_kpis(
    *,
    price_per_hour: Decimal | float | None,
    gpu_model: str | None,
    gpu_count: int | None,
    basis: CostBasis = DEFAULT_COST_BASIS,
) -> OfferKpis:
    """The cost KPIs of an instance of `gpu_count` GPUs (None or 0: one) at `price_per_hour`.

    `price_per_hour` is the whole instance's price in USD/hour. Pass a price per GPU-hour and
    `gpu_count=1` for one GPU's figures. Token costs follow `basis` (module docstring).
    """
    count = gpu_count or 1
    price = 0.0 if price_per_hour is None else float(price_per_hour)
    layouts = serving_table(basis).get(gpu_model or "")
    best = None if layouts is None else layouts.best_for(count)
    tokens = None if best is None else best[1] * best[0].output_tokens_per_second
    per_million = None
    if price > 0 and tokens:
        per_million = usd_per_million_output_tokens(
            price_per_hour=price, output_tokens_per_second=tokens
        )
    tflops = gpu_fp32_tflops().get(gpu_model or "")
    per_gflop = None
    if price > 0 and tflops:
        per_gflop = kpi_math.cost_per_gflop(price_per_hour=price, tflops=tflops * count)
    if layouts is None:
        reason: str | None = "no specifications for this GPU"
    elif best is None:
        reason = layouts.unavailable_reason(gpu_model or "", count)
    elif price <= 0:
        reason = "no price"
    else:
        reason = None
    return OfferKpis(
        tokens_per_second=tokens,
        cost_per_token=None if per_million is None else per_million / 1e6,
        cost_per_million_tokens=per_million,
        cost_per_gflop=per_gflop.cost_per_gflop if per_gflop else None,
        cost_per_tflop_hour=per_gflop.cost_per_tflop_hour if per_gflop else None,
        cost_basis={
            "model": basis.model,
            "precision": basis.precision,
            "batch": None if best is None else best[0].serving_batch,
            "prompt_tokens": basis.prompt_tokens,
            "output_tokens": basis.output_tokens,
        },
        cost_reason=reason,
    )


def offer_tokens_per_second_terms(
    basis: CostBasis = DEFAULT_COST_BASIS,
) -> dict[str, tuple[tuple[int, float], ...]]:
    """Per gpu_model, its layouts as (GPUs per replica, output tokens/s per replica).

    What SQL needs to compute `offer_kpis`'s tokens/s for any GPU count: the greatest of
    (gpu_count // GPUs per replica) x tokens/s over the layouts `ReplicaLayouts.best_for` can
    pick (`efficient_layouts`). GPU kinds that hold no layout are absent.
    """
    return {
        gpu_model: tuple(
            (layout.gpus_per_replica, layout.output_tokens_per_second)
            for layout in layouts.efficient_layouts()
        )
        for gpu_model, layouts in sorted(serving_table(basis).items())
        if layouts.layouts
    }
