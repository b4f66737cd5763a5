"""Numeric precisions: bytes per weight, KV-cache bytes, v1's ``quality`` and the compute rate used.

Weight precisions: fp32, fp16, bf16, fp8, int8, int4 (two weights per byte). The KV cache has
its own precision (fp16 by default, fp8 optional), because servers keep it in 16 bits unless
told otherwise (vLLM ``--kv-cache-dtype auto`` = the model dtype; TensorRT-LLM sets FP8 KV only
with FP8 quantisation).

v1's ``quality`` maps onto a weight precision: ``low`` -> int4, ``medium`` -> int8, ``high`` ->
fp16, and v1's default ``"standard"`` -> fp16: the checkpoint as published (open models ship
bf16/fp16 weights and servers load them as is, vLLM ``--dtype auto``), the only choice every GPU
in the catalogue can run (fp8 needs Ada/Hopper or newer).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, Protocol

from algorithms.errors import AlgorithmInputError

WeightPrecision = Literal["fp32", "fp16", "bf16", "fp8", "int8", "int4"]
KvPrecision = Literal["fp32", "fp16", "bf16", "fp8"]

BYTES_PER_WEIGHT: MappingProxyType[str, float] = MappingProxyType(
    {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
)
BYTES_PER_KV_ELEMENT: MappingProxyType[str, float] = MappingProxyType(
    {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0}
)
DEFAULT_WEIGHT_PRECISION: WeightPrecision = "fp16"
DEFAULT_KV_PRECISION: KvPrecision = "fp16"

QUALITY_TO_PRECISION: MappingProxyType[str, WeightPrecision] = MappingProxyType(
    {"low": "int4", "medium": "int8", "high": "fp16", "standard": "fp16"}
)

# Spellings people and frameworks use for the same formats.
_PRECISION_ALIASES: MappingProxyType[str, str] = MappingProxyType(
    {
        "fp32": "fp32",
        "float32": "fp32",
        "float": "fp32",
        "fp16": "fp16",
        "float16": "fp16",
        "half": "fp16",
        "bf16": "bf16",
        "bfloat16": "bf16",
        "fp8": "fp8",
        "float8": "fp8",
        "e4m3": "fp8",
        "fp8e4m3": "fp8",
        "int8": "int8",
        "w8a16": "int8",
        "8bit": "int8",
        "int4": "int4",
        "w4a16": "int4",
        "4bit": "int4",
        "awq": "int4",
        "gptq": "int4",
    }
)


class ComputeRates(Protocol):
    """Dense tensor rates of one GPU in TFLOPS (TOPS for int8); ``None`` = not supported."""

    @property
    def tflops_fp32(self) -> float:
        """Vector fp32 TFLOPS."""
        ...

    @property
    def tflops_fp16(self) -> float:
        """Dense fp16 tensor TFLOPS."""
        ...

    @property
    def tflops_bf16(self) -> float | None:
        """Dense bf16 tensor TFLOPS, None when unsupported."""
        ...

    @property
    def tflops_fp8(self) -> float | None:
        """Dense fp8 tensor TFLOPS, None when unsupported."""
        ...


@dataclass(frozen=True, slots=True)
class ComputeRate:
    """The matmul rate a precision runs at on one GPU.

    Attributes:
        tflops: Dense TFLOPS per GPU.
        format: The tensor-core format used (``"fp8"``, ``"fp16"``, ...).
        note: Why this format (e.g. weight-only quantisation computes in fp16).
    """

    tflops: float
    format: str
    note: str


def weight_precision(value: str, field: str = "precision") -> WeightPrecision:
    """Canonical weight precision for a spelling (``"FP8"``, ``"bfloat16"``, ``"awq"`` ...).

    Raises:
        AlgorithmInputError: For anything not in the table.
    """
    canonical = _canonical(value, field)
    if canonical not in BYTES_PER_WEIGHT:  # pragma: no cover - every alias maps to a weight format
        raise AlgorithmInputError(field, f"unknown precision {value!r}")
    return canonical  # type: ignore[return-value]


def kv_precision(value: str, field: str = "kv_cache_precision") -> KvPrecision:
    """Canonical KV-cache precision (fp16, bf16, fp8 or fp32).

    Raises:
        AlgorithmInputError: For integer formats (KV caches are not stored as int4/int8 here) and
            unknown spellings.
    """
    canonical = _canonical(value, field)
    if canonical not in BYTES_PER_KV_ELEMENT:
        raise AlgorithmInputError(
            field, f"{value!r} is not a KV-cache format; use fp16, bf16, fp8 or fp32"
        )
    return canonical  # type: ignore[return-value]


def precision_from_quality(quality: str) -> WeightPrecision:
    """v1's ``quality`` (low, medium, high, standard; case-insensitive) as a weight precision.

    Raises:
        AlgorithmInputError: For any other value, naming ``quality``.
    """
    if not isinstance(quality, str) or quality.strip().lower() not in QUALITY_TO_PRECISION:
        known = ", ".join(QUALITY_TO_PRECISION)
        raise AlgorithmInputError("quality", f"must be one of {known}, got {quality!r}")
    return QUALITY_TO_PRECISION[quality.strip().lower()]


def compute_rate(gpu: ComputeRates, precision: WeightPrecision) -> ComputeRate:
    """The dense matmul rate that serving ``precision`` weights runs at on ``gpu``.

    * fp8 with an fp8 tensor rate (Ada, Hopper, Blackwell, MI300): W8A8 fp8 at ``tflops_fp8``.
    * fp8 without one (Ampere and older): weight-only fp8 (vLLM's Marlin kernels) computing in
      fp16.
    * int8 / int4: weight-only quantisation (GPTQ/AWQ-style W8A16 / W4A16) computing in fp16.
    * bf16 without a bf16 rate (pre-Ampere): the server falls back to fp16.
    * fp32: the vector fp32 rate (no tensor cores), which is why nobody serves in fp32.
    """
    if precision == "fp8" and gpu.tflops_fp8:
        return ComputeRate(gpu.tflops_fp8, "fp8", "W8A8 fp8 on fp8 tensor cores")
    if precision == "fp8":
        return ComputeRate(
            gpu.tflops_fp16, "fp16", "no fp8 tensor cores: weight-only fp8, matmuls in fp16"
        )
    if precision in ("int8", "int4"):
        return ComputeRate(
            gpu.tflops_fp16, "fp16", f"weight-only {precision} (GPTQ/AWQ style), matmuls in fp16"
        )
    if precision == "bf16" and gpu.tflops_bf16:
        return ComputeRate(gpu.tflops_bf16, "bf16", "bf16 tensor cores")
    if precision == "bf16":
        return ComputeRate(gpu.tflops_fp16, "fp16", "no bf16 support: served in fp16")
    if precision == "fp32":
        return ComputeRate(gpu.tflops_fp32, "fp32", "vector fp32 rate (no tensor cores)")
    return ComputeRate(gpu.tflops_fp16, "fp16", "fp16 tensor cores")


def _canonical(value: str, field: str) -> str:
    if not isinstance(value, str):
        raise AlgorithmInputError(field, f"must be a string, got {type(value).__name__}")
    key = value.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    canonical = _PRECISION_ALIASES.get(key)
    if canonical is None:
        raise AlgorithmInputError(
            field, f"unknown precision {value!r}; use fp32, fp16, bf16, fp8, int8 or int4"
        )
    return canonical
