"""The fit form ("Does it fit?"): VRAM an LLM needs at a precision and context, as a filter.

The memory model is the serving model's (`algorithms.serving`, docs/kpi-formulas.md): the
weights at the precision plus one sequence's KV cache at the context (fp16 cache), over the
architectures of the model registry (`algorithms.model_registry`: known models, or any name
with a size), with the serving model's allowance per GPU (a 2 GB runtime reserve and 90 %
utilisation, `vram_needed_gb`). An instance fits when its VRAM over all its GPUs holds the
estimate (`gpu_memory_total_min`); on more than one GPU that means tensor parallelism (and a
reserve per GPU), which the banner says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from algorithms.errors import AlgorithmInputError
from algorithms.image_generation import diffusion_model_resolve
from algorithms.model_registry import default_registry, model_resolve
from algorithms.precision import (
    BYTES_PER_KV_ELEMENT,
    BYTES_PER_WEIGHT,
    DEFAULT_KV_PRECISION,
    DEFAULT_WEIGHT_PRECISION,
)
from algorithms.serving import RUNTIME_RESERVE_GB_PER_GPU, vram_needed_gb

DEFAULT_PRECISION = DEFAULT_WEIGHT_PRECISION
DEFAULT_CONTEXT_TOKENS = 4096
MAX_CONTEXT_TOKENS = 10_000_000
FIT_PARAMS = ("fit_model", "fit_precision", "fit_context")


@dataclass(frozen=True)
class FitEstimate:
    """VRAM (GB) to serve `model` at `precision` with `context_length` tokens, one sequence.

    Attributes:
        model: The model's display name (the registry's, or the name given for an estimate).
        params_billion: Its parameter count, billions (all experts).
        precision: Weight precision (fp32, fp16, bf16, fp8, int8, int4).
        context_length: Tokens of context (prompt + output) held in the KV cache.
        weights_gb: Weights at the precision.
        kv_cache_gb: KV cache for the context (fp16).
        overhead_gb: The rest of `total_gb`: the 10 % of VRAM the serving model leaves unused
            (allocator, activations).
        runtime_gb: CUDA context and libraries (the serving model's reserve per GPU).
        total_gb: GPU memory as sold (binary GB, as the listing counts it) that holds it all on
            one GPU: the sum of the parts.
        min_total_vram_gb: `total_gb` rounded up to a whole GB, the listing filter's value.
        is_estimated: The architecture was estimated from the size in the name.
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
    is_estimated: bool = False


class FitError(ValueError):
    """The fit form's input cannot be sized; `field` names the input, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        """Keep the field name with the message."""
        super().__init__(message)
        self.field = field


def fit_models() -> list[str]:
    """Names of the language models the registry knows (the form's suggestions)."""
    return [model.name for model in default_registry().models]


def fit_precisions() -> list[str]:
    """Weight precisions the estimate accepts."""
    return list(BYTES_PER_WEIGHT)


def fit_estimate(*, model: str, precision: str, context_length: int) -> FitEstimate:
    """The memory `model` needs at `precision` holding `context_length` tokens, one sequence.

    Raises:
        FitError: a model neither in the registry nor carrying a size (an image model says
            so), an unknown precision,
            or a context outside 1..the model's maximum (when the registry gives one).
    """
    try:
        architecture = model_resolve(model, "fit_model")
    except AlgorithmInputError as exc:
        try:
            image_model = diffusion_model_resolve(model)
        except AlgorithmInputError:
            raise FitError("fit_model", str(exc).split(": ", 1)[-1]) from exc
        raise FitError("fit_model", f"{image_model.name} is not a language model") from exc
    if precision not in BYTES_PER_WEIGHT:
        raise FitError("fit_precision", f"precision must be one of {', '.join(BYTES_PER_WEIGHT)}")
    limit = architecture.max_context or MAX_CONTEXT_TOKENS
    if not 1 <= context_length <= limit:
        raise FitError("fit_context", f"{architecture.name} holds 1 to {limit:,} tokens of context")
    weights_gb = architecture.params_billion * BYTES_PER_WEIGHT[precision]
    kv_bytes = architecture.kv_bytes_per_token(BYTES_PER_KV_ELEMENT[DEFAULT_KV_PRECISION])
    kv_cache_gb = kv_bytes * context_length / 1e9
    # GPU memory as sold (the listing's unit, binary GB): the overhead is the rest of it.
    total_gb = vram_needed_gb(weights_gb + kv_cache_gb)
    return FitEstimate(
        model=architecture.name,
        params_billion=architecture.params_billion,
        precision=precision,
        context_length=context_length,
        weights_gb=weights_gb,
        kv_cache_gb=kv_cache_gb,
        overhead_gb=total_gb - weights_gb - kv_cache_gb - RUNTIME_RESERVE_GB_PER_GPU,
        runtime_gb=RUNTIME_RESERVE_GB_PER_GPU,
        total_gb=total_gb,
        min_total_vram_gb=math.ceil(total_gb - 1e-9),
        is_estimated=architecture.is_estimated,
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
