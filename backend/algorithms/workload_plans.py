"""Per-workload plans of the estimator: memory, work, throughput model and reasoning.

`algorithms.workload.estimate_workload` picks the plan of a workload type from PLANNERS and sizes
GPU tiers from it. The constants below are the planning assumptions (precisions, efficiencies,
default models); docs/kpi-formulas.md lists each with its source. Units: GB = 1e9 bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from algorithms._validation import finite_float, int_in_range, positive_float
from algorithms.errors import AlgorithmInputError
from algorithms.kpi import (
    MEMORY_OVERHEAD_FRACTION,
    PRECISION_BYTES,
    RUNTIME_OVERHEAD_GB_PER_GPU,
    bytes_per_param,
    decode_tokens_per_second,
)
from algorithms.model_profiles import MODEL_PROFILES, ModelProfile, resolve_model

# What one unit of ``quantity`` means for each workload type.
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
# Models assumed when none is named; the reasoning says so and confidence drops.
DEFAULT_MODELS = MappingProxyType(
    {
        "llm_inference": "Llama 3 8B",
        "training": "Llama 3 8B",
        "fine_tuning": "Llama 3 8B",
        "image_generation": "SDXL",
    }
)
ASSUMED_MODEL_CONFIDENCE_PENALTY = 0.2

# Quality trades output fidelity for memory: int4/int8 weight quantisation loses a little accuracy.
LLM_PRECISION_BY_QUALITY = MappingProxyType({"low": "int4", "medium": "int8", "high": "fp16"})
DEFAULT_CONTEXT_TOKENS = 4096  # a typical chat prompt plus answer; capped at the model's context
DEFAULT_CONCURRENCY = 1  # one sequence per replica, matching the batch-1 decode model in kpi.py
KV_CACHE_PRECISION = "fp16"  # servers keep the KV cache in fp16 even for int4/int8 weights

# Full training with Adam in mixed precision: fp16 weights 2 + fp16 gradients 2 + fp32 master
# weights 4 + Adam moments 8 = 16 bytes/parameter (Rajbhandari et al. 2020, ZeRO, section 3.1).
TRAINING_BYTES_PER_PARAM = 16.0
# Activations with gradient checkpointing at moderate batch/sequence: ~20% on top of model states.
ACTIVATION_FRACTION = 0.20
# LoRA adapters (rank 16 on attention and MLP) train ~1% of the parameters, each at 16 bytes.
LORA_TRAINABLE_FRACTION = 0.01
# fine_tuning quality: low = QLoRA on an int4 base, medium = LoRA on an fp16 base, high = full.
FINE_TUNE_BASE_PRECISION = MappingProxyType({"low": "int4", "medium": "fp16"})
# Training compute: 6 FLOPs per parameter per token (Kaplan et al. 2020); LoRA skips weight
# gradients of the frozen base, leaving forward (2) + activation gradients (2).
TRAINING_FLOPS_PER_PARAM_TOKEN = 6.0
LORA_FLOPS_PER_PARAM_TOKEN = 4.0
# Model FLOPs utilisation of tuned large-scale training: 38-43% for Llama 3 405B (Meta 2024),
# 46% for PaLM (Chowdhery et al. 2022).
TRAINING_MFU = 0.40

# Diffusion: sampling steps per quality at the model's native resolution.
DIFFUSION_STEPS_BY_QUALITY = MappingProxyType({"low": 20, "medium": 30, "high": 50})
# Public SDXL step timings imply ~14% (RTX A4000) to ~25% (RTX 4090) of dense fp16 peak.
DIFFUSION_EFFICIENCY = 0.20
DIFFUSION_ACTIVATION_GB_AT_1024 = 2.0  # latents, attention maps and VAE decode at 1024x1024, fp16

# Video processing = frame-by-frame neural inference (detection / enhancement class model).
VIDEO_FRAMES_PER_SECOND = 30.0
VIDEO_MEGAPIXELS_BY_QUALITY = MappingProxyType(
    {"low": 1280 * 720 / 1e6, "medium": 1920 * 1080 / 1e6, "high": 3840 * 2160 / 1e6}
)
# ResNet-50: 3.8 GMACs at 224x224 (He et al. 2016) = 7.6 GFLOPs / 0.05 MP ~ 150 GFLOPs/MP.
VIDEO_GFLOPS_PER_MEGAPIXEL = 150.0
VIDEO_WORKING_MEMORY_GB = MappingProxyType({"low": 4.0, "medium": 6.0, "high": 12.0})
VISION_EFFICIENCY = 0.30

# Data processing = GPU dataframes (RAPIDS cuDF style): inputs plus intermediates need about
# twice the data in memory; larger data is streamed in chunks of DATA_CHUNK_GB.
DATA_MEMORY_MULTIPLIER = 2.0
DATA_CHUNK_GB = 8.0
DATA_PASSES_BY_QUALITY = MappingProxyType({"low": 2, "medium": 5, "high": 10})
DATA_BANDWIDTH_EFFICIENCY = 0.5
HOST_TRANSFER_GBPS = 12.0  # practical PCIe 4.0 x16 host-to-device rate; data crosses it once
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


class GpuSpecLike(Protocol):
    """What the estimator reads from a GPU spec (a model row or a dataclass).

    Missing or non-positive figures make that GPU model unusable for the estimate, never
    zero-filled.
    ``tflops_bf16`` is read when present (training prefers bf16).
    """

    @property
    def gpu_model(self) -> str:
        """Canonical GPU name, the key of the estimate's tiers."""

    @property
    def vram_gb(self) -> float | None:
        """Memory of one GPU, GB."""

    @property
    def memory_bandwidth_gbps(self) -> float | None:
        """Memory bandwidth of one GPU, GB/s."""

    @property
    def tflops_fp16(self) -> float | None:
        """Dense fp16 peak of one GPU, TFLOPS."""


@dataclass(frozen=True)
class VramEstimate:
    """Single-GPU memory for serving an LLM, GB.

    Weights + KV cache, plus MEMORY_OVERHEAD_FRACTION of both, plus RUNTIME_OVERHEAD_GB_PER_GPU.
    """

    weights_gb: float
    kv_cache_gb: float
    overhead_gb: float
    runtime_gb: float
    total_gb: float


# Throughput in units/s of one replica of ``gpu_count`` GPUs, or None when a spec is missing.
RateFunction = Callable[[GpuSpecLike, int], float | None]


@dataclass(frozen=True)
class Plan:
    """What a workload needs: memory (GB), work units, a throughput model and reasoning."""

    model_memory_gb: float  # memory before per-GPU overhead (shardable or not)
    is_shardable: bool  # whether memory can be split across GPUs of one replica
    work_units: float
    unit: str
    rate: RateFunction
    confidence: float
    reasoning: tuple[str, ...]


def estimate_llm_vram(
    *,
    params_billion: float,
    precision: str,
    context_length: int,
    concurrency: int,
    layers: int,
    kv_heads: int,
    head_dim: int,
    kv_precision: str = KV_CACHE_PRECISION,
) -> VramEstimate:
    """Memory to serve an LLM on one GPU.

    weights  = params * bytes_per_param(precision)
    kv_cache = 2 (K and V) * layers * kv_heads * head_dim * context_length * concurrency
               * bytes_per_param(kv_precision)
    total    = (weights + kv_cache) * (1 + MEMORY_OVERHEAD_FRACTION) + RUNTIME_OVERHEAD_GB_PER_GPU
    """
    params = positive_float(params_billion, "params_billion")
    weights_gb = params * bytes_per_param(precision)
    kv_elements = (
        2
        * int_in_range(layers, "layers", minimum=1, maximum=1_000)
        * int_in_range(kv_heads, "kv_heads", minimum=1, maximum=1_000)
        * int_in_range(head_dim, "head_dim", minimum=1, maximum=4_096)
        * int_in_range(context_length, "context_length", minimum=1, maximum=10_000_000)
        * int_in_range(concurrency, "concurrency", minimum=1, maximum=100_000)
    )
    kv_cache_gb = kv_elements * bytes_per_param(kv_precision) / 1e9
    overhead_gb = (weights_gb + kv_cache_gb) * MEMORY_OVERHEAD_FRACTION
    total = weights_gb + kv_cache_gb + overhead_gb + RUNTIME_OVERHEAD_GB_PER_GPU
    return VramEstimate(
        weights_gb=weights_gb,
        kv_cache_gb=kv_cache_gb,
        overhead_gb=overhead_gb,
        runtime_gb=RUNTIME_OVERHEAD_GB_PER_GPU,
        total_gb=total,
    )


def spec_figure(gpu: GpuSpecLike, name: str) -> float | None:
    """A positive spec figure, or None when missing, zero or not a number."""
    value = getattr(gpu, name, None)
    if value is None:
        return None
    try:
        number = finite_float(value, name)
    except AlgorithmInputError:
        return None
    return number if number > 0 else None


def _plan_llm_inference(kind: str, level: str, amount: float, model_name: str | None) -> Plan:
    profile, reasoning, confidence = _model_for(kind, model_name)
    architecture = profile.llm
    if architecture is None:
        raise _wrong_model_kind(profile, kind)
    precision = LLM_PRECISION_BY_QUALITY[level]
    context = min(DEFAULT_CONTEXT_TOKENS, architecture.max_context)
    vram = estimate_llm_vram(
        params_billion=profile.params_billion,
        precision=precision,
        context_length=context,
        concurrency=DEFAULT_CONCURRENCY,
        layers=architecture.layers,
        kv_heads=architecture.kv_heads,
        head_dim=architecture.head_dim,
    )
    reasoning += [
        f"Quality {level!r} serves the weights in {precision}: {profile.params_billion:g}B "
        f"parameters x {PRECISION_BYTES[precision]:g} bytes = {vram.weights_gb:.1f} GB.",
        f"KV cache for {context} tokens x {DEFAULT_CONCURRENCY} sequence: 2 x "
        f"{architecture.layers} layers x {architecture.kv_heads} KV heads x "
        f"{architecture.head_dim} x {KV_CACHE_PRECISION} = {vram.kv_cache_gb:.2f} GB.",
        "Decode speed per replica is memory-bandwidth bound at batch 1 (see kpi.py); batching "
        "would need fewer GPUs, so GPU counts are conservative.",
    ]
    weight_bytes = PRECISION_BYTES[precision]

    def rate(gpu: GpuSpecLike, gpu_count: int) -> float | None:
        bandwidth, tflops = (
            spec_figure(gpu, "memory_bandwidth_gbps"),
            spec_figure(gpu, "tflops_fp16"),
        )
        vram_gb = spec_figure(gpu, "vram_gb")
        if bandwidth is None or tflops is None or vram_gb is None:
            return None
        return decode_tokens_per_second(
            params_billion=profile.params_billion,
            bytes_per_param=weight_bytes,
            memory_bandwidth_gbps=bandwidth,
            dense_tflops=tflops,
            vram_gb=vram_gb,
            gpu_count=gpu_count,
        )

    return Plan(
        model_memory_gb=vram.weights_gb + vram.kv_cache_gb,
        is_shardable=True,
        work_units=amount,
        unit=WORKLOAD_UNITS[kind],
        rate=rate,
        confidence=confidence,
        reasoning=tuple(reasoning),
    )


def _plan_training(kind: str, level: str, amount: float, model_name: str | None) -> Plan:
    profile, reasoning, confidence = _model_for(kind, model_name)
    if profile.llm is None:
        raise _wrong_model_kind(profile, kind)
    params = profile.params_billion
    base_precision = FINE_TUNE_BASE_PRECISION.get(level) if kind == "fine_tuning" else None
    if base_precision is None:
        states_gb = params * TRAINING_BYTES_PER_PARAM
        flops_per_token = TRAINING_FLOPS_PER_PARAM_TOKEN * params * 1e9
        reasoning.append(
            f"Full-parameter training with Adam in mixed precision keeps "
            f"{TRAINING_BYTES_PER_PARAM:g} bytes per parameter: {states_gb:.1f} GB of model "
            "states, sharded across GPUs (FSDP / ZeRO-3)."
        )
    else:
        trainable = params * LORA_TRAINABLE_FRACTION
        states_gb = params * PRECISION_BYTES[base_precision] + trainable * TRAINING_BYTES_PER_PARAM
        flops_per_token = LORA_FLOPS_PER_PARAM_TOKEN * params * 1e9
        method = "QLoRA" if base_precision == "int4" else "LoRA"
        reasoning.append(
            f"Quality {level!r} fine-tunes with {method}: a frozen {base_precision} base plus "
            f"{LORA_TRAINABLE_FRACTION:.0%} trainable parameters at {TRAINING_BYTES_PER_PARAM:g} "
            f"bytes each = {states_gb:.1f} GB."
        )
    memory_gb = states_gb * (1 + ACTIVATION_FRACTION)
    reasoning.append(
        f"Activations add {ACTIVATION_FRACTION:.0%} (gradient checkpointing): {memory_gb:.1f} GB; "
        f"compute is {flops_per_token / (params * 1e9):g} FLOPs per parameter per token at "
        f"{TRAINING_MFU:.0%} of dense bf16/fp16 peak."
    )

    def rate(gpu: GpuSpecLike, gpu_count: int) -> float | None:
        tflops = spec_figure(gpu, "tflops_bf16") or spec_figure(gpu, "tflops_fp16")
        if tflops is None:
            return None
        return gpu_count * TRAINING_MFU * tflops * 1e12 / flops_per_token

    return Plan(memory_gb, True, amount, WORKLOAD_UNITS[kind], rate, confidence, tuple(reasoning))


def _plan_image_generation(kind: str, level: str, amount: float, model_name: str | None) -> Plan:
    profile, reasoning, confidence = _model_for(kind, model_name)
    architecture = profile.diffusion
    if architecture is None:
        raise _wrong_model_kind(profile, kind)
    steps = DIFFUSION_STEPS_BY_QUALITY[level]
    weights_gb = profile.params_billion * PRECISION_BYTES["fp16"]
    activations_gb = DIFFUSION_ACTIVATION_GB_AT_1024 * (architecture.native_resolution / 1024) ** 2
    tflops_per_image = steps * architecture.tflops_per_step
    side = architecture.native_resolution
    reasoning += [
        f"fp16 weights take {weights_gb:.1f} GB and activations at {side}x{side} about "
        f"{activations_gb:.1f} GB; "
        "the pipeline runs on one GPU per image.",
        f"Quality {level!r} uses {steps} steps x {architecture.tflops_per_step:g} TFLOPs = "
        f"{tflops_per_image:g} TFLOPs per image at {DIFFUSION_EFFICIENCY:.0%} of fp16 peak.",
    ]
    per_image_flops = tflops_per_image * 1e12

    def rate(gpu: GpuSpecLike, gpu_count: int) -> float | None:
        tflops = spec_figure(gpu, "tflops_fp16")
        return None if tflops is None else DIFFUSION_EFFICIENCY * tflops * 1e12 / per_image_flops

    memory_gb = weights_gb + activations_gb
    return Plan(memory_gb, False, amount, WORKLOAD_UNITS[kind], rate, confidence, tuple(reasoning))


def _plan_video_processing(kind: str, level: str, amount: float, model_name: str | None) -> Plan:
    frames = amount * 60 * VIDEO_FRAMES_PER_SECOND
    megapixels = VIDEO_MEGAPIXELS_BY_QUALITY[level]
    flops_per_frame = VIDEO_GFLOPS_PER_MEGAPIXEL * megapixels * 1e9
    reasoning = [
        f"{amount:g} minutes at {VIDEO_FRAMES_PER_SECOND:g} fps is {frames:,.0f} frames of "
        f"{megapixels:.2f} MP (quality {level!r}), processed frame by frame by a ResNet-50-class "
        f"model at {VIDEO_GFLOPS_PER_MEGAPIXEL:g} GFLOPs per megapixel.",
        f"Working memory for models and frame batches: {VIDEO_WORKING_MEMORY_GB[level]:g} GB.",
    ]
    if model_name is not None:
        reasoning.append(f"model_name {model_name!r} is not used for video processing.")

    def rate(gpu: GpuSpecLike, gpu_count: int) -> float | None:
        tflops = spec_figure(gpu, "tflops_fp16")
        if tflops is None:
            return None
        frames_per_second = VISION_EFFICIENCY * tflops * 1e12 / flops_per_frame
        return frames_per_second / (60 * VIDEO_FRAMES_PER_SECOND)  # minutes of video per second

    memory_gb = VIDEO_WORKING_MEMORY_GB[level]
    confidence = BASE_CONFIDENCE[kind]
    return Plan(memory_gb, False, amount, WORKLOAD_UNITS[kind], rate, confidence, tuple(reasoning))


def _plan_data_processing(kind: str, level: str, amount: float, model_name: str | None) -> Plan:
    passes = DATA_PASSES_BY_QUALITY[level]
    memory_gb = DATA_MEMORY_MULTIPLIER * min(amount, DATA_CHUNK_GB)
    reasoning = [
        f"GPU dataframes need about {DATA_MEMORY_MULTIPLIER:g}x the data in memory; data above "
        f"{DATA_CHUNK_GB:g} GB is streamed in chunks, so {memory_gb:g} GB.",
        f"Quality {level!r} assumes {passes} passes over the data in GPU memory, and the data "
        f"crosses PCIe once at {HOST_TRANSFER_GBPS:g} GB/s.",
    ]
    if model_name is not None:
        reasoning.append(f"model_name {model_name!r} is not used for data processing.")

    def rate(gpu: GpuSpecLike, gpu_count: int) -> float | None:
        bandwidth = spec_figure(gpu, "memory_bandwidth_gbps")
        if bandwidth is None:
            return None
        return min(DATA_BANDWIDTH_EFFICIENCY * bandwidth / passes, HOST_TRANSFER_GBPS)

    confidence = BASE_CONFIDENCE[kind]
    return Plan(memory_gb, False, amount, WORKLOAD_UNITS[kind], rate, confidence, tuple(reasoning))


PLANNERS: Mapping[str, Callable[[str, str, float, str | None], Plan]] = MappingProxyType(
    {
        "llm_inference": _plan_llm_inference,
        "training": _plan_training,
        "fine_tuning": _plan_training,
        "image_generation": _plan_image_generation,
        "video_processing": _plan_video_processing,
        "data_processing": _plan_data_processing,
    }
)


def _model_for(kind: str, model_name: str | None) -> tuple[ModelProfile, list[str], float]:
    """Resolve the named model, or the stated default for ``kind`` when none is named."""
    confidence = BASE_CONFIDENCE[kind]
    if model_name is None:
        profile = MODEL_PROFILES[DEFAULT_MODELS[kind]]
        confidence -= ASSUMED_MODEL_CONFIDENCE_PENALTY
        reasoning = [f"No model_name given, so {profile.name} is assumed for {kind}."]
    else:
        profile = resolve_model(model_name)
        reasoning = [f"{model_name!r} resolves to {profile.name} (source: {profile.source})."]
    return profile, reasoning, confidence


def _wrong_model_kind(profile: ModelProfile, kind: str) -> AlgorithmInputError:
    return AlgorithmInputError(
        "model_name", f"{profile.name} is a {profile.kind} model and cannot be used for {kind}"
    )
