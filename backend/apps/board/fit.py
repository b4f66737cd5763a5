"""The fit form ("Does it fit?"): VRAM an LLM needs at a precision and context, as a filter.

The memory model is `algorithms.workload.estimate_llm_vram` (weights + KV cache + overhead +
runtime, docs/kpi-formulas.md) over the architectures `algorithms.model_profiles` knows. An
instance fits when its VRAM over all its GPUs holds the estimate (`gpu_memory_total_min`); on
more than one GPU that means tensor parallelism, which the banner says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from algorithms.errors import AlgorithmInputError
from algorithms.kpi import DEFAULT_PRECISION, PRECISION_BYTES
from algorithms.model_profiles import MODEL_PROFILES, resolve_model
from algorithms.workload import estimate_llm_vram

DEFAULT_CONTEXT_TOKENS = 4096
MAX_CONTEXT_TOKENS = 10_000_000
FIT_PARAMS = ("fit_model", "fit_precision", "fit_context")


@dataclass(frozen=True)
class FitEstimate:
    """VRAM (GB) to serve `model` at `precision` with `context_length` tokens, one sequence.

    Attributes:
        model: The model's canonical name.
        params_billion: Its parameter count, billions.
        precision: Weight precision (fp32, fp16, bf16, fp8, int8, int4).
        context_length: Tokens of context (prompt + output) held in the KV cache.
        weights_gb: Weights at the precision.
        kv_cache_gb: KV cache for the context (fp16).
        overhead_gb: Activations and allocator overhead.
        runtime_gb: CUDA context and libraries.
        total_gb: The sum: what the instance's VRAM must hold.
        min_total_vram_gb: `total_gb` rounded up to a whole GB, the listing filter's value.
    """

    model: str
    params_billion: float
    precision: str
    context_length: int
    weights_gb: float
    kv_cache_gb: float
    overhead_gb: float
    runtime_gb: float
    total_gb: float
    min_total_vram_gb: int


class FitError(ValueError):
    """The fit form's input cannot be sized; `field` names the input, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        """Keep the field name with the message."""
        super().__init__(message)
        self.field = field


def fit_models() -> list[str]:
    """Names of the language models the estimate knows (the form's suggestions)."""
    return [name for name, profile in MODEL_PROFILES.items() if profile.llm is not None]


def fit_precisions() -> list[str]:
    """Weight precisions the estimate accepts."""
    return list(PRECISION_BYTES)


def fit_estimate(*, model: str, precision: str, context_length: int) -> FitEstimate:
    """The memory `model` needs at `precision` holding `context_length` tokens, one sequence.

    Raises:
        FitError: unknown model or precision, a diffusion model, or a context outside
            1..the model's maximum.
    """
    try:
        profile = resolve_model(model)
    except AlgorithmInputError as exc:
        raise FitError("fit_model", str(exc).split(": ", 1)[-1]) from exc
    architecture = profile.llm
    if architecture is None:
        raise FitError("fit_model", f"{profile.name} is not a language model")
    if precision not in PRECISION_BYTES:
        raise FitError("fit_precision", f"precision must be one of {', '.join(PRECISION_BYTES)}")
    if not 1 <= context_length <= architecture.max_context:
        raise FitError(
            "fit_context",
            f"{profile.name} holds 1 to {architecture.max_context:,} tokens of context",
        )
    vram = estimate_llm_vram(
        params_billion=profile.params_billion,
        precision=precision,
        context_length=context_length,
        concurrency=1,
        layers=architecture.layers,
        kv_heads=architecture.kv_heads,
        head_dim=architecture.head_dim,
    )
    return FitEstimate(
        model=profile.name,
        params_billion=profile.params_billion,
        precision=precision,
        context_length=context_length,
        weights_gb=vram.weights_gb,
        kv_cache_gb=vram.kv_cache_gb,
        overhead_gb=vram.overhead_gb,
        runtime_gb=vram.runtime_gb,
        total_gb=vram.total_gb,
        min_total_vram_gb=math.ceil(vram.total_gb - 1e-9),
    )


def fit_from_params(params: Mapping[str, str]) -> FitEstimate | None:
    """The estimate the query's fit_model / fit_precision / fit_context ask for, or None.

    Raises:
        FitError: as `fit_estimate`, or a context that is not a whole number.
    """
    model = (params.get("fit_model") or "").strip()
    if not model:
        return None
    precision = (params.get("fit_precision") or DEFAULT_PRECISION).strip().lower()
    raw_context = (params.get("fit_context") or "").strip().replace(",", "")
    try:
        context = int(raw_context) if raw_context else DEFAULT_CONTEXT_TOKENS
    except ValueError as exc:
        raise FitError("fit_context", "context length must be a whole number of tokens") from exc
    if not 1 <= context <= MAX_CONTEXT_TOKENS:
        raise FitError("fit_context", f"context length must be 1 to {MAX_CONTEXT_TOKENS:,}")
    return fit_estimate(model=model[:200], precision=precision, context_length=context)
