"""Throughput model and cost maths behind cost-per-token and cost-per-GFLOP.

Units: 1 GB = 1e9 bytes (vendor datasheets use decimal units), bandwidth in GB/s, compute in dense
(no sparsity) TFLOP/s, prices per hour in the offer's currency.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from types import MappingProxyType

from algorithms._validation import (
    choice,
    finite_float,
    int_in_range,
    positive_float,
)
from algorithms.errors import AlgorithmInputError

SECONDS_PER_HOUR = 3600.0

# Bytes of storage per parameter for each weight precision (int4 packs two weights per byte).
PRECISION_BYTES = MappingProxyType(
    {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
)
DEFAULT_PRECISION = "fp16"  # what open-weight checkpoints ship in and what servers load by default

# Decode reaches ~60% of datasheet bandwidth/compute in practice: kernel launch gaps, KV-cache reads
# and (multi-GPU) all-reduce traffic all eat into the peak. Single-stream llama.cpp/vLLM decode
# measurements land at 55-75% of peak bandwidth, so 0.6 is a deliberately conservative figure.
DECODE_EFFICIENCY = 0.6
# One request at a time: the figure a single user sees. Batching multiplies aggregate throughput
# until compute becomes the bound, which the model below also captures.
DEFAULT_BATCH_SIZE = 1
FLOPS_PER_PARAM_PER_TOKEN = 2.0  # one multiply and one add per weight in a forward pass

# Memory beyond the weights: 10% for activations, KV cache of a short context, allocator
# fragmentation; plus ~1 GB per GPU for the CUDA context, cuBLAS/NCCL workspaces and the runtime.
MEMORY_OVERHEAD_FRACTION = 0.10
RUNTIME_OVERHEAD_GB_PER_GPU = 1.0

MAX_GPU_COUNT = 1_024  # beyond a rack-scale cluster; larger is a typo, not a request
MAX_BATCH_SIZE = 4_096

# Mixture-of-experts names ("8x7b") are not experts x size: attention and embeddings are shared.
# Totals from the model cards: Mixtral 8x7B 46.7B, Mixtral 8x22B 141B. Every weight must be
# resident, so the total is the honest figure for memory; for decode it is conservative (only 2
# of 8 experts are read per token).
MOE_TOTAL_PARAMS_BILLION = MappingProxyType({"8x7b": 46.7, "8x22b": 141.0})
MAX_MODEL_SIZE_BILLION = 2_000.0  # above every published model (the largest are ~1-2 trillion)
_MODEL_SIZE_PATTERN = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>[bm])$")


@dataclass(frozen=True)
class CostPerToken:
    """Cost of generating one token and one million tokens, in the price's currency."""

    cost_per_token: float
    cost_per_million_tokens: float


@dataclass(frozen=True)
class CostPerGflop:
    """Price of peak compute, USD.

    ``cost_per_gflop``: cost of 1 GFLOP of work at peak rate; ``cost_per_tflop_hour``: cost of
    one hour of 1 TFLOP/s of peak capacity.
    """

    cost_per_gflop: float
    cost_per_tflop_hour: float


def bytes_per_param(precision: str) -> float:
    """Bytes per weight for ``precision`` (one of PRECISION_BYTES, case-insensitive)."""
    return PRECISION_BYTES[choice(precision, "precision", PRECISION_BYTES)]


def gpus_needed_for_memory(*, model_memory_gb: float, vram_gb: float) -> int:
    """Smallest GPU count whose pooled VRAM holds ``model_memory_gb`` (weights, KV cache, ...).

    Memory is assumed to shard evenly (tensor parallel / FSDP). Each GPU must hold its share plus
    MEMORY_OVERHEAD_FRACTION, and loses RUNTIME_OVERHEAD_GB_PER_GPU to the runtime:
    n * (vram - runtime) >= memory * (1 + overhead).
    """
    memory = positive_float(model_memory_gb, "model_memory_gb")
    usable = positive_float(vram_gb, "vram_gb") - RUNTIME_OVERHEAD_GB_PER_GPU
    if usable <= 0:
        raise AlgorithmInputError("vram_gb", "is too small to hold the GPU runtime")
    # The epsilon keeps an exact fit (e.g. 2.0000000000000004 from float rounding) at 2 GPUs.
    return max(1, math.ceil(memory * (1 + MEMORY_OVERHEAD_FRACTION) / usable - 1e-9))


def decode_tokens_per_second(
    *,
    params_billion: float,
    bytes_per_param: float,
    memory_bandwidth_gbps: float,
    dense_tflops: float,
    vram_gb: float,
    gpu_count: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    efficiency: float = DECODE_EFFICIENCY,
) -> float | None:
    """Aggregate decode tokens/s over the batch, or None when the weights do not fit.

    Each decode step reads every weight once (memory bound) and spends 2 FLOPs per parameter per
    token (compute bound); with ``gpu_count`` GPUs in tensor parallel both resources add up:
      memory bound  = efficiency * gpu_count * bandwidth_GB/s / weights_GB * batch_size
      compute bound = efficiency * gpu_count * TFLOPs * 1e12 / (2 * params)
    The result is the smaller of the two. ``memory_bandwidth_gbps`` is GB/s per GPU, ``vram_gb``
    and ``dense_tflops`` are per GPU. Fit uses gpus_needed_for_memory on the weights alone.
    """
    params = positive_float(params_billion, "params_billion")
    weight_bytes = positive_float(bytes_per_param, "bytes_per_param")
    bandwidth = positive_float(memory_bandwidth_gbps, "memory_bandwidth_gbps")
    tflops = positive_float(dense_tflops, "dense_tflops")
    count = int_in_range(gpu_count, "gpu_count", minimum=1, maximum=MAX_GPU_COUNT)
    batch = int_in_range(batch_size, "batch_size", minimum=1, maximum=MAX_BATCH_SIZE)
    share = positive_float(efficiency, "efficiency")
    if share > 1:
        raise AlgorithmInputError("efficiency", "must be at most 1 (a fraction of peak)")

    weights_gb = params * weight_bytes
    if gpus_needed_for_memory(model_memory_gb=weights_gb, vram_gb=vram_gb) > count:
        return None
    memory_bound = share * count * bandwidth / weights_gb * batch
    compute_bound = share * count * tflops * 1e12 / (FLOPS_PER_PARAM_PER_TOKEN * params * 1e9)
    return min(memory_bound, compute_bound)


def cost_per_token(*, price_per_hour: float, tokens_per_second: float) -> CostPerToken:
    """cost_per_token = price_per_hour / (tokens_per_second * 3600); both inputs > 0 and finite."""
    price = positive_float(price_per_hour, "price_per_hour")
    rate = positive_float(tokens_per_second, "tokens_per_second")
    per_token = price / (rate * SECONDS_PER_HOUR)
    return CostPerToken(cost_per_token=per_token, cost_per_million_tokens=per_token * 1e6)


def cost_per_gflop(*, price_per_hour: float, tflops: float) -> CostPerGflop:
    """Price of compute at the GPU's peak dense rate for one precision.

    cost_per_tflop_hour = price_per_hour / tflops
    cost_per_gflop      = price_per_hour / (tflops * 1000 * 3600)
    (tflops * 1000 GFLOP/s * 3600 s = GFLOPs executed per rented hour at peak.)
    """
    price = positive_float(price_per_hour, "price_per_hour")
    rate = positive_float(tflops, "tflops")
    return CostPerGflop(
        cost_per_gflop=price / (rate * 1000.0 * SECONDS_PER_HOUR),
        cost_per_tflop_hour=price / rate,
    )


def parse_model_size(model_size: str) -> float:
    """Parameters in billions from a size label: "8b", "70B", "1.5b", "125m", "8x7b".

    Case and spaces are ignored. Mixture-of-experts labels resolve through
    MOE_TOTAL_PARAMS_BILLION; anything else raises AlgorithmInputError(field="model_size").
    """
    if not isinstance(model_size, str):
        raise AlgorithmInputError("model_size", "must be a string such as '7b' or '70b'")
    label = "".join(model_size.split()).lower()
    if label in MOE_TOTAL_PARAMS_BILLION:
        return MOE_TOTAL_PARAMS_BILLION[label]
    match = _MODEL_SIZE_PATTERN.fullmatch(label)
    if match is None:
        known_moe = ", ".join(MOE_TOTAL_PARAMS_BILLION)
        raise AlgorithmInputError(
            "model_size",
            f"cannot read {model_size!r}; use a number of parameters with b or m, e.g. '7b', "
            f"'1.5b', '125m', or a known mixture-of-experts size ({known_moe})",
        )
    number = finite_float(float(match["number"]), "model_size")
    billions = number if match["unit"] == "b" else number / 1000.0
    if not 0 < billions <= MAX_MODEL_SIZE_BILLION:
        raise AlgorithmInputError(
            "model_size", f"must be above 0 and at most {MAX_MODEL_SIZE_BILLION:g}b"
        )
    return billions
