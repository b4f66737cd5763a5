"""LLM serving model: memory fit, tensor/pipeline parallelism, batched decode and prefill.

Units: GB = 1e9 bytes, GB/s, dense TFLOPS, seconds. One *replica* is the group of GPUs that
holds one copy of the weights (``tensor_parallel x pipeline_parallel`` GPUs); replicas scale out.

Memory per GPU (``memory_plan``):
    usable    = VRAM (GiB, as GB) x GPU_MEMORY_UTILIZATION - RUNTIME_RESERVE_GB_PER_GPU
    weights   = params x bytes_per_weight / (TP x PP)
    kv/token  = layers / PP x kv_elements_per_layer x kv_bytes / kv_shards
                (kv_elements_per_layer = 2 x kv_heads x head_dim, or the MLA latent;
                 kv_shards = min(TP, kv_heads), 1 when the cache is replicated)
    tokens    = (usable - weights) / kv/token    -- must hold one sequence of the full context
    sequences = tokens // (prompt + output)      -- the memory limit on the batch

Decode step at batch B (``step_time``), per GPU of one replica, roofline with two calibrated
efficiencies (``Efficiency``):
    t_memory  = (weights read + B x context x kv/token) / (bandwidth x eta_memory)
    t_compute = B x (decode FLOPs + prompt FLOPs x prompt/output) / (n x TFLOPS x eta_compute)
    t_comm    = 2 x layers x B x (1 + prompt/output) x hidden x 2 bytes x 2 (TP-1)/TP
                / (link x eta_memory)
    t_step    = max(t_memory, t_compute) + t_comm
    output tokens/s per replica = B / t_step
FLOPs per token = 2 x active params + 4 x layers x heads x head_dim x context (attention).
Prefill of each prompt is compute-bound and rides in the decode steps (chunked prefill), so its
FLOPs are spread over the request's output tokens. Mixture-of-experts: every token reads the
shared weights; the routed experts read in one step are the expected number touched by B
tokens under uniform routing, E x (1 - (1 - k/E)^B), so a large batch reads almost every expert
(total-param memory traffic) while compute stays at the active parameters. Link traffic
(all-reduces) is data movement like memory reads, so it runs at the same achieved share
eta_memory of the link's datasheet rate; that one choice brings PCIe tensor parallelism
(L40S) within the calibration band without a third constant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from algorithms._validation import fraction, int_in_range
from algorithms.errors import AlgorithmInputError
from algorithms.hardware import GpuSpec, Interconnect, interconnect_for
from algorithms.model_registry import LlmArchitecture
from algorithms.precision import (
    BYTES_PER_KV_ELEMENT,
    BYTES_PER_WEIGHT,
    KvPrecision,
    WeightPrecision,
    compute_rate,
)
from algorithms.working import Step, Working

# vLLM's default --gpu-memory-utilization: the share of each GPU's memory the engine may use for
# weights, activations and KV cache (docs.vllm.ai, engine arguments). TensorRT-LLM's default
# kv_cache_free_gpu_mem_fraction is also 0.9 (of the memory left after the weights).
GPU_MEMORY_UTILIZATION = 0.90
# Inside that share: peak activations of one 8192-token prefill chunk, CUDA-graph pools, NCCL
# and sampler buffers. vLLM startup logs of 7B-70B models report ~0.5-1.5 GiB for CUDA graphs
# plus a few hundred MB to ~1 GB of activations; 2 GB per GPU is an estimate, not a measurement.
RUNTIME_RESERVE_GB_PER_GPU = 2.0
# GPU memory is sold in binary units: an "80GB" H100 or A100 has 80 GiB (nvidia-smi reports
# 81,559 and 81,920 MiB), so the catalogue's vram_gb is read as GiB and converted to GB.
BYTES_PER_VRAM_GB = 2**30
MAX_TENSOR_PARALLEL = 8  # one HGX/DGX node; beyond it the model adds pipeline stages
MAX_GPUS_PER_REPLICA = 16  # two 8-GPU nodes: enough for DeepSeek-V3/R1 and Llama 3.1 405B
ACTIVATION_BYTES = 2.0  # all-reduced activations travel in fp16/bf16
ALLREDUCES_PER_LAYER = 2  # after attention and after the MLP (Megatron-style tensor parallel)


@dataclass(frozen=True, slots=True)
class Efficiency:
    """Shares of peak the serving stack reaches, each in (0, 1].

    Attributes:
        memory_bandwidth: Achieved / datasheet memory bandwidth during decode.
        compute: Achieved / dense peak TFLOPS for matmuls (model FLOPs utilisation).
    """

    memory_bandwidth: float
    compute: float


# Fitted by ``python -m algorithms.calibrate`` (grid search, least squares on log error) against
# the 20 published measurements in data/serving_references.json (TensorRT-LLM 0.14/0.17, NIM
# 1.8.0, vLLM nightly; Llama 3.x 8B/70B and Mixtral on H100, H200, A100 and L40S). Largest
# residual 30.7 % (NIM, 70B fp8 TP2, 25 concurrent 5000-token prompts); every reference within
# +/-35 % is a test (algorithms/tests/serving/test_calibration.py).
CALIBRATED_EFFICIENCY = Efficiency(memory_bandwidth=0.50, compute=0.48)


@dataclass(frozen=True, slots=True)
class MemoryPlan:
    """How one replica of a model fits on GPUs of one kind.

    Attributes:
        fits: Whether any allowed parallel layout holds the weights plus one full context.
        reason: Why it does not fit (empty when it fits).
        tensor_parallel: TP degree (a power of two dividing the attention heads, at most 8).
        pipeline_parallel: Pipeline stages (1 unless one node of 8 GPUs is too small).
        gpus_per_replica: ``tensor_parallel x pipeline_parallel``.
        weights_gb: Weights of the whole model, GB.
        kv_gb_per_token_per_gpu: KV cache one token occupies on one GPU, GB.
        kv_budget_gb_per_gpu: Memory left for the KV cache on each GPU, GB.
        max_cached_tokens: Tokens the replica's KV cache holds.
        max_sequences: Concurrent sequences of ``tokens_per_sequence`` that fit.
        interconnect: The link the TP group uses.
        warnings: Plain sentences (PCIe tensor parallelism, pipeline stages across nodes...).
        working: The steps.
    """

    fits: bool
    reason: str
    tensor_parallel: int
    pipeline_parallel: int
    gpus_per_replica: int
    weights_gb: float
    kv_gb_per_token_per_gpu: float
    kv_budget_gb_per_gpu: float
    max_cached_tokens: int
    max_sequences: int
    interconnect: Interconnect
    warnings: tuple[str, ...]
    working: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class StepTime:
    """One decode step of one replica at a batch size, seconds.

    Attributes:
        batch: Sequences decoding together.
        memory_seconds: Time to read the weights and the batch's KV cache.
        compute_seconds: Time for the batch's FLOPs (decode plus amortised prefill).
        communication_seconds: Tensor-parallel all-reduce time.
        seconds: ``max(memory, compute) + communication``.
        bound: ``"memory"`` or ``"compute"``.
    """

    batch: int
    memory_seconds: float
    compute_seconds: float
    communication_seconds: float
    seconds: float
    bound: str


def usable_gb_per_gpu(vram_gb: float) -> float:
    """GB of one GPU a model may fill: VRAM (GiB as sold) x utilisation - the runtime reserve.

    The same rule sizes serving, training, image generation and the other workloads.
    """
    return vram_gb * BYTES_PER_VRAM_GB / 1e9 * GPU_MEMORY_UTILIZATION - RUNTIME_RESERVE_GB_PER_GPU


def vram_needed_gb(memory_gb: float) -> float:
    """GPU memory as sold (binary GB, the catalogue's ``vram_gb``) that holds ``memory_gb`` GB.

    The inverse of ``usable_gb_per_gpu``: (memory + reserve) / utilisation, in GiB.
    """
    return (
        (memory_gb + RUNTIME_RESERVE_GB_PER_GPU) / GPU_MEMORY_UTILIZATION * 1e9 / BYTES_PER_VRAM_GB
    )


def tensor_parallel_degrees(model: LlmArchitecture) -> tuple[int, ...]:
    """Powers of two up to 8 that split the attention heads evenly and the KV heads cleanly.

    A degree must divide the query heads, and either divide the KV heads or be a multiple of
    them (then KV heads are replicated), as vLLM and TensorRT-LLM require.
    """
    degrees = []
    for degree in (1, 2, 4, 8):
        if degree > MAX_TENSOR_PARALLEL or model.attention_heads % degree:
            continue
        if model.kv_heads % degree and degree % model.kv_heads:
            continue
        degrees.append(degree)
    return tuple(degrees)


def memory_plan(
    *,
    model: LlmArchitecture,
    gpu: GpuSpec,
    precision: WeightPrecision,
    kv_precision: KvPrecision,
    context_tokens: int,
    tokens_per_sequence: int,
    tensor_parallel: int | None = None,
) -> MemoryPlan:
    """The smallest replica (fewest GPUs, tensor parallel before pipeline) that holds the model.

    Args:
        model: The architecture.
        gpu: One GPU's figures.
        precision: Weight precision.
        kv_precision: KV-cache precision.
        context_tokens: Longest sequence the deployment must hold (prompt + output), tokens.
        tokens_per_sequence: Average tokens a sequence keeps cached (prompt + output).
        tensor_parallel: Force this TP degree (e.g. the GPUs of one offer); ``None`` = smallest.

    Raises:
        AlgorithmInputError: For token counts out of range, or a forced TP degree the model's heads
            do not allow.
    """
    context = int_in_range(context_tokens, "context_tokens", minimum=1, maximum=10_000_000)
    per_sequence = int_in_range(
        tokens_per_sequence, "tokens_per_sequence", minimum=1, maximum=10_000_000
    )
    degrees = tensor_parallel_degrees(model)
    if tensor_parallel is not None:
        if tensor_parallel not in degrees:
            allowed = ", ".join(map(str, degrees))
            raise AlgorithmInputError(
                "tensor_parallel",
                f"{model.name} splits over {allowed} GPUs (heads {model.attention_heads}, KV "
                f"heads {model.kv_heads}), not {tensor_parallel}",
            )
        layouts = [(tensor_parallel, 1)]
    else:
        layouts = [(tp, 1) for tp in degrees]
        widest = degrees[-1]
        layouts += [(widest, pp) for pp in range(2, MAX_GPUS_PER_REPLICA // widest + 1)]
    plan = None
    for tp, pp in layouts:
        plan = _layout(model, gpu, precision, kv_precision, context, per_sequence, tp, pp)
        if plan.fits:
            return plan
    assert plan is not None  # degrees always contains 1
    return plan


def _layout(
    model: LlmArchitecture,
    gpu: GpuSpec,
    precision: WeightPrecision,
    kv_precision: KvPrecision,
    context: int,
    per_sequence: int,
    tp: int,
    pp: int,
) -> MemoryPlan:
    work = Working()
    gpus = tp * pp
    weights_gb = work.number(
        "weights_gb",
        model.params_billion * BYTES_PER_WEIGHT[precision],
        "GB",
        "derived",
        f"{model.params_billion:g}B parameters x {BYTES_PER_WEIGHT[precision]:g} bytes "
        f"({precision})",
    )
    usable = work.number(
        "usable_gb_per_gpu",
        usable_gb_per_gpu(gpu.vram_gb),
        "GB",
        "estimate",
        f"{gpu.vram_gb} GiB x {GPU_MEMORY_UTILIZATION} (vLLM gpu_memory_utilization default) - "
        f"{RUNTIME_RESERVE_GB_PER_GPU:g} GB activations/CUDA graphs (estimate)",
    )
    weights_per_gpu = work.number(
        "weights_gb_per_gpu", weights_gb / gpus, "GB", "derived", f"split over TP {tp} x PP {pp}"
    )
    kv_shards = 1 if model.kv_replicated_across_tensor_parallel else min(tp, model.kv_heads)
    kv_per_token = work.number(
        "kv_gb_per_token_per_gpu",
        model.layers
        / pp
        * model.kv_elements_per_token_per_layer
        * BYTES_PER_KV_ELEMENT[kv_precision]
        / kv_shards
        / 1e9,
        "GB",
        "derived",
        f"{model.layers} layers / PP {pp} x {model.kv_elements_per_token_per_layer} elements x "
        f"{BYTES_PER_KV_ELEMENT[kv_precision]:g} bytes ({kv_precision}) / {kv_shards} shard(s)",
    )
    budget = work.number("kv_budget_gb_per_gpu", usable - weights_per_gpu, "GB", "derived")
    max_tokens = max(0, math.floor(budget / kv_per_token)) if budget > 0 else 0
    work.add("max_cached_tokens", max_tokens, "tokens", "derived", "KV budget / KV per token")
    sequences = max_tokens // per_sequence
    work.add(
        "max_sequences",
        sequences,
        "sequences",
        "derived",
        f"cached tokens / {per_sequence} tokens per sequence",
    )
    link = interconnect_for(gpu, tp)
    warnings = []
    if tp > 1 and not link.is_nvlink_class:
        warnings.append(
            f"Tensor parallelism over {link.description} ({link.gbps_per_direction:g} GB/s): "
            "each layer's all-reduces cross PCIe, which slows decode; NVLink/SXM parts avoid it."
        )
    if pp > 1:
        warnings.append(
            f"{pp} pipeline stages of {tp} GPUs: more than one 8-GPU node, linked by the "
            "cluster network; throughput assumes the pipeline stays full."
        )
    if budget <= 0:
        reason = (
            f"weights need {weights_per_gpu:.1f} GB per GPU on {gpus} x {gpu.gpu_model}, more "
            f"than the {usable:.1f} GB usable"
        )
    elif max_tokens < context:
        reason = (
            f"the KV cache holds {max_tokens:,} tokens on {gpus} x {gpu.gpu_model}, fewer than "
            f"one {context:,}-token context"
        )
    else:
        reason = ""
    return MemoryPlan(
        fits=not reason,
        reason=reason,
        tensor_parallel=tp,
        pipeline_parallel=pp,
        gpus_per_replica=gpus,
        weights_gb=weights_gb,
        kv_gb_per_token_per_gpu=kv_per_token,
        kv_budget_gb_per_gpu=budget,
        max_cached_tokens=max_tokens,
        max_sequences=sequences,
        interconnect=link,
        warnings=tuple(warnings),
        working=work.freeze(),
    )


def flops_per_token(model: LlmArchitecture, context: float) -> float:
    """FLOPs to process one token that attends over ``context`` earlier tokens.

    2 x active parameters (one multiply-add per weight) + 4 x layers x heads x head_dim x
    context (the QK^T and AV products of attention).
    """
    dense = 2.0 * model.active_params_billion * 1e9
    attention = 4.0 * model.layers * model.attention_heads * model.head_dim * context
    return dense + attention


def weight_bytes_read(model: LlmArchitecture, precision: WeightPrecision, tokens: int) -> float:
    """Weight bytes one forward step over ``tokens`` tokens reads (whole model).

    Dense: every weight. MoE: the shared weights plus the routed experts that ``tokens``
    tokens touch under uniform routing, experts x (1 - (1 - k/E)^tokens).
    """
    bytes_per_weight = BYTES_PER_WEIGHT[precision]
    total = model.params_billion * 1e9
    if model.experts_total is None or model.experts_per_token is None:
        return total * bytes_per_weight
    share = model.experts_per_token / model.experts_total
    routed = (total - model.active_params_billion * 1e9) / (1.0 - share)
    shared = total - routed
    touched = 1.0 - (1.0 - share) ** tokens
    return (shared + routed * touched) * bytes_per_weight


def step_time(
    *,
    model: LlmArchitecture,
    gpu: GpuSpec,
    plan: MemoryPlan,
    precision: WeightPrecision,
    kv_precision: KvPrecision,
    prompt_tokens: int,
    output_tokens: int,
    batch: int,
    efficiency: Efficiency = CALIBRATED_EFFICIENCY,
    include_prefill: bool = True,
) -> StepTime:
    """Seconds for one decode step of ``batch`` sequences on one replica (module docstring).

    ``include_prefill`` spreads each request's prompt FLOPs over its output tokens (steady
    serving); ``False`` gives the bare decode step (one user decoding alone).

    Raises:
        AlgorithmInputError: For a batch or token count out of range, or efficiencies outside
            (0, 1].
    """
    size = int_in_range(batch, "batch", minimum=1, maximum=100_000)
    prompt = int_in_range(prompt_tokens, "prompt_tokens", minimum=0, maximum=10_000_000)
    output = int_in_range(output_tokens, "output_tokens", minimum=1, maximum=10_000_000)
    eta_memory = fraction(efficiency.memory_bandwidth, "memory_bandwidth_efficiency")
    eta_compute = fraction(efficiency.compute, "compute_efficiency")
    gpus = plan.gpus_per_replica
    mean_context = prompt + output / 2.0
    kv_bytes = size * mean_context * plan.kv_gb_per_token_per_gpu * 1e9
    weights = weight_bytes_read(model, precision, size) / gpus
    memory = (weights + kv_bytes) / (gpu.memory_bandwidth_gbps * 1e9 * eta_memory)
    prefill_share = prompt / output if include_prefill else 0.0
    flops = size * (
        flops_per_token(model, mean_context) + prefill_share * flops_per_token(model, prompt / 2)
    )
    rate = compute_rate(gpu, precision).tflops * 1e12 * eta_compute
    compute = flops / (gpus * rate)
    tp = plan.tensor_parallel
    communication = 0.0
    if tp > 1:
        tokens = size * (1.0 + prefill_share)
        payload = ALLREDUCES_PER_LAYER * model.layers / plan.pipeline_parallel * tokens
        payload *= model.hidden_size * ACTIVATION_BYTES * 2.0 * (tp - 1) / tp
        communication = payload / (plan.interconnect.gbps_per_direction * 1e9 * eta_memory)
    bound = "memory" if memory >= compute else "compute"
    return StepTime(
        batch=size,
        memory_seconds=memory,
        compute_seconds=compute,
        communication_seconds=communication,
        seconds=max(memory, compute) + communication,
        bound=bound,
    )


def prefill_seconds(
    *,
    model: LlmArchitecture,
    gpu: GpuSpec,
    plan: MemoryPlan,
    precision: WeightPrecision,
    prompt_tokens: int,
    efficiency: Efficiency = CALIBRATED_EFFICIENCY,
) -> float:
    """Time to first token for one prompt on an idle replica, seconds.

    The larger of the prompt's FLOPs at ``efficiency.compute`` and one full read of the weights
    at ``efficiency.memory_bandwidth`` (short prompts), plus its tensor-parallel all-reduces.

    Raises:
        AlgorithmInputError: For a prompt length out of range.
    """
    prompt = int_in_range(prompt_tokens, "prompt_tokens", minimum=1, maximum=10_000_000)
    gpus = plan.gpus_per_replica
    flops = prompt * flops_per_token(model, prompt / 2)
    compute = flops / (gpus * compute_rate(gpu, precision).tflops * 1e12 * efficiency.compute)
    weights = weight_bytes_read(model, precision, prompt) / gpus
    memory = weights / (gpu.memory_bandwidth_gbps * 1e9 * efficiency.memory_bandwidth)
    tp = plan.tensor_parallel
    communication = 0.0
    if tp > 1:
        payload = ALLREDUCES_PER_LAYER * model.layers / plan.pipeline_parallel * prompt
        payload *= model.hidden_size * ACTIVATION_BYTES * 2.0 * (tp - 1) / tp
        link = plan.interconnect.gbps_per_direction * 1e9 * efficiency.memory_bandwidth
        communication = payload / link
    return max(compute, memory) + communication
