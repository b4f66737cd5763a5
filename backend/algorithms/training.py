"""Training and fine-tuning: FLOPs, memory, GPUs, time and cost.

Compute (``P`` = parameters, ``D`` = training tokens = dataset tokens x epochs):
    full training / full fine-tune: 6 x P x D   (forward 2P, backward 4P; Kaplan et al. 2020,
                                                 "Scaling Laws for Neural Language Models")
    LoRA / QLoRA:                   4 x P x D   (forward 2P through the frozen base plus the
                                                 backward pass's activation gradients 2P; the
                                                 base has no weight gradients and the adapters'
                                                 are ~1 % of P. 2 x P x D is only the forward.)
    time = FLOPs / (GPUs x dense bf16 TFLOPS x MFU), MFU = 0.40: Meta reports 38-43 % for
    Llama 3 405B pre-training (The Llama 3 Herd of Models, 2024), PaLM reached 46 % (Chowdhery
    et al. 2022); fine-tuning jobs on a few GPUs rarely do better.

Memory (sharded evenly over the GPUs, FSDP / ZeRO-3):
    full:  16 bytes per parameter: bf16 weights 2 + bf16 gradients 2 + fp32 master weights 4 +
           Adam moments 8 (Rajbhandari et al. 2020, ZeRO, section 3.1)
    LoRA:  frozen bf16 base (2 bytes) + 1 % trainable parameters x 16 bytes
    QLoRA: frozen 4-bit base (0.5 bytes, Dettmers et al. 2023) + 1 % trainable x 16 bytes
    + 20 % for activations with gradient checkpointing; per GPU the usable memory of serving.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

from algorithms._validation import fraction, int_in_range, positive_float
from algorithms.errors import AlgorithmInputError
from algorithms.hardware import GpuSpec
from algorithms.model_registry import LlmArchitecture, model_resolve
from algorithms.serving import usable_gb_per_gpu
from algorithms.working import Step, Working

SECONDS_PER_HOUR = 3600.0
FLOPS_PER_PARAM_TOKEN = MappingProxyType({"full": 6.0, "lora": 4.0, "qlora": 4.0})
FULL_TRAINING_BYTES_PER_PARAM = 16.0
BASE_BYTES_PER_PARAM = MappingProxyType({"lora": 2.0, "qlora": 0.5})
LORA_TRAINABLE_FRACTION = 0.01
ACTIVATION_FRACTION = 0.20
DEFAULT_MFU = 0.40
MAX_TRAINING_GPUS = 100_000


@dataclass(frozen=True, slots=True)
class TrainingEstimate:
    """A training or fine-tuning job on one GPU kind.

    Attributes:
        model: The architecture.
        method: ``"full"``, ``"lora"`` or ``"qlora"``.
        training_tokens: Tokens processed (dataset x epochs).
        total_flops: FLOPs of the job.
        memory_gb: Model states plus activations, GB (whole job, before sharding).
        gpus_for_memory: The fewest GPUs whose usable memory holds ``memory_gb``.
        gpus: GPUs used (at least the memory minimum).
        tokens_per_second: Training tokens processed per second by all the GPUs.
        hours: Wall-clock hours at ``mfu``.
        gpu_hours: ``gpus x hours``.
        cost_usd: ``gpu_hours x price`` (``None`` without a price).
        working: Every step with units.
    """

    model: LlmArchitecture
    method: str
    training_tokens: float
    total_flops: float
    memory_gb: float
    gpus_for_memory: int
    gpus: int
    tokens_per_second: float
    hours: float
    gpu_hours: float
    cost_usd: float | None
    working: tuple[Step, ...]


def training_memory_gb(model: LlmArchitecture, method: str, work: Working) -> float:
    """Model states plus activations of a job, GB (whole job, before sharding); adds its steps.

    Raises:
        AlgorithmInputError: For an unknown method.
    """
    if _checked_method(method) == "full":
        states_gb = model.params_billion * FULL_TRAINING_BYTES_PER_PARAM
        note = "16 bytes per parameter (bf16 weights + gradients, fp32 master, Adam moments)"
    else:
        trainable = model.params_billion * LORA_TRAINABLE_FRACTION
        states_gb = (
            model.params_billion * BASE_BYTES_PER_PARAM[method]
            + trainable * FULL_TRAINING_BYTES_PER_PARAM
        )
        note = (
            f"frozen base at {BASE_BYTES_PER_PARAM[method]:g} bytes + "
            f"{LORA_TRAINABLE_FRACTION:.0%} trainable at 16 bytes"
        )
    work.number("model_states_gb", states_gb, "GB", "derived", note)
    return work.number(
        "memory_gb",
        states_gb * (1 + ACTIVATION_FRACTION),
        "GB",
        "estimate",
        f"+{ACTIVATION_FRACTION:.0%} activations (gradient checkpointing)",
    )


def training_estimate(
    *,
    model: str | LlmArchitecture,
    gpu: GpuSpec,
    training_tokens: float,
    method: str = "full",
    gpus: int | None = None,
    deadline_hours: float | None = None,
    price_per_gpu_hour: float | None = None,
    mfu: float = DEFAULT_MFU,
) -> TrainingEstimate:
    """Estimate a job (module docstring for every formula and source).

    GPUs: ``gpus`` when given; else enough to finish within ``deadline_hours`` (data parallel
    over the memory minimum, ceil(FLOPs / (deadline x per-GPU rate))); else the memory minimum.

    Raises:
        AlgorithmInputError: For an unknown model or method, non-positive tokens, an MFU outside
            (0, 1], fewer ``gpus`` than the memory needs, a deadline needing more than
            MAX_TRAINING_GPUS GPUs, or a bad price.
    """
    work = Working()
    architecture = model if isinstance(model, LlmArchitecture) else model_resolve(model)
    work.add("model", architecture.id, "", "estimate" if architecture.is_estimated else "spec")
    work.add("method", _checked_method(method), "", "input")
    tokens = work.number(
        "training_tokens",
        positive_float(training_tokens, "training_tokens", maximum=1e16),
        "tokens",
        "input",
    )
    utilisation = work.number("mfu", fraction(mfu, "mfu"), "", "estimate", "Llama 3 405B: 38-43 %")
    params = architecture.params_billion * 1e9
    flops = work.number(
        "total_flops",
        FLOPS_PER_PARAM_TOKEN[method] * params * tokens,
        "FLOP",
        "derived",
        f"{FLOPS_PER_PARAM_TOKEN[method]:g} x parameters x tokens",
    )
    memory = training_memory_gb(architecture, method, work)
    usable = usable_gb_per_gpu(gpu.vram_gb)
    needed = max(1, math.ceil(memory / usable - 1e-9))
    work.add("gpus_for_memory", needed, "GPUs", "derived", f"{usable:.1f} GB usable per GPU")
    tflops = gpu.tflops_bf16 or gpu.tflops_fp16
    work.number("tflops_per_gpu", tflops, "TFLOPS", "spec", "dense bf16 (fp16 when no bf16)")
    gpu_seconds = flops / (tflops * 1e12 * utilisation)
    chosen = needed
    if gpus is not None:
        chosen = int_in_range(gpus, "gpus", minimum=1, maximum=MAX_TRAINING_GPUS)
        if chosen < needed:
            raise AlgorithmInputError(
                "gpus", f"{chosen} x {gpu.gpu_model} cannot hold {memory:.0f} GB; need {needed}"
            )
    elif deadline_hours is not None:
        deadline = work.number(
            "deadline_hours",
            positive_float(deadline_hours, "deadline_hours", maximum=87_600),
            "h",
            "input",
        )
        for_deadline = math.ceil(gpu_seconds / (deadline * SECONDS_PER_HOUR) - 1e-9)
        if for_deadline > MAX_TRAINING_GPUS:
            raise AlgorithmInputError(
                "deadline_hours",
                f"needs {for_deadline:,} x {gpu.gpu_model}, more than {MAX_TRAINING_GPUS:,}",
            )
        chosen = max(needed, for_deadline)
    work.add("gpus", chosen, "GPUs", "input" if gpus is not None else "derived")
    hours = work.number("hours", gpu_seconds / chosen / SECONDS_PER_HOUR, "h", "derived")
    rate = work.number(
        "tokens_per_second",
        chosen * tflops * 1e12 * utilisation / (FLOPS_PER_PARAM_TOKEN[method] * params),
        "tokens/s",
        "derived",
        "GPUs x TFLOPS x MFU / FLOPs per token",
    )
    gpu_hours = work.number("gpu_hours", chosen * hours, "GPU-h", "derived")
    cost = None
    if price_per_gpu_hour is not None:
        price = positive_float(price_per_gpu_hour, "price_per_gpu_hour", maximum=1e6)
        work.number("price_per_gpu_hour", price, "USD/h", "input")
        cost = work.number("cost_usd", gpu_hours * price, "USD", "derived")
    return TrainingEstimate(
        model=architecture,
        method=method,
        training_tokens=tokens,
        total_flops=flops,
        memory_gb=memory,
        gpus_for_memory=needed,
        gpus=chosen,
        tokens_per_second=rate,
        hours=hours,
        gpu_hours=gpu_hours,
        cost_usd=cost,
        working=work.freeze(),
    )


def _checked_method(method: str) -> str:
    if method not in FLOPS_PER_PARAM_TOKEN:
        raise AlgorithmInputError("method", f"must be one of {', '.join(FLOPS_PER_PARAM_TOKEN)}")
    return method
