"""Writes of the GPU catalogue: `gpu_specs_load` copies data/gpus.json into `gpu_benchmarks`.

The derived columns (tokens/s for 7B/13B/70B, SDXL images/minute) come from the analytic models
of `algorithms.kpi` and `algorithms.workload`; `throughput_model` on each row says how.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from algorithms.kpi import (
    DECODE_EFFICIENCY,
    DEFAULT_BATCH_SIZE,
    FLOPS_PER_PARAM_PER_TOKEN,
    MEMORY_OVERHEAD_FRACTION,
    PRECISION_BYTES,
    RUNTIME_OVERHEAD_GB_PER_GPU,
    decode_tokens_per_second,
)
from algorithms.model_profiles import MODEL_PROFILES
from algorithms.workload import estimate_workload
from algorithms.workload_plans import DIFFUSION_EFFICIENCY, DIFFUSION_STEPS_BY_QUALITY
from apps.gpus.catalogue import GpuModel, all_gpus
from apps.gpus.models import GPUBenchmark

SPEC_WEIGHT_PRECISION = "fp16"
SPEC_MODEL_SIZES: Mapping[str, float] = {
    "tokens_per_second_7b": 7.0,
    "tokens_per_second_13b": 13.0,
    "tokens_per_second_70b": 70.0,
}
SPEC_IMAGE_MODEL = "SDXL"
SPEC_IMAGE_QUALITY = "medium"


def _spec_throughput_model() -> str:
    sdxl = MODEL_PROFILES[SPEC_IMAGE_MODEL].diffusion
    assert sdxl is not None  # SDXL is a diffusion profile by construction
    steps = DIFFUSION_STEPS_BY_QUALITY[SPEC_IMAGE_QUALITY]
    return (
        "tokens_per_second_{7b,13b,70b}: analytic decode model (algorithms.kpi."
        "decode_tokens_per_second), not a measurement: min(e x bandwidth_GB/s / (P x "
        f"{PRECISION_BYTES[SPEC_WEIGHT_PRECISION]:g} B), e x dense_fp16_TFLOPS x 1e12 / "
        f"({FLOPS_PER_PARAM_PER_TOKEN:g} x P x 1e9)) with P = 7/13/70 billion parameters, "
        f"{SPEC_WEIGHT_PRECISION} weights, batch {DEFAULT_BATCH_SIZE}, one GPU, efficiency e = "
        f"{DECODE_EFFICIENCY:g}; null when P x {PRECISION_BYTES[SPEC_WEIGHT_PRECISION]:g} B x "
        f"{1 + MEMORY_OVERHEAD_FRACTION:g} exceeds vram_gb - {RUNTIME_OVERHEAD_GB_PER_GPU:g} GB. "
        f"image_gen_per_minute: {SPEC_IMAGE_MODEL} at {sdxl.native_resolution}x"
        f"{sdxl.native_resolution}, {steps} steps x {sdxl.tflops_per_step:g} TFLOPs per step at "
        f"{DIFFUSION_EFFICIENCY:g} of dense fp16 peak on one GPU (algorithms."
        f"workload, quality {SPEC_IMAGE_QUALITY!r}); null when the pipeline does not fit."
    )


def gpu_spec_throughput(*, gpu: GpuModel) -> dict[str, float | None]:
    """The derived columns of one spec row: tokens/s for 7B/13B/70B and SDXL images/minute."""
    values: dict[str, float | None] = {}
    for column, params_billion in SPEC_MODEL_SIZES.items():
        values[column] = decode_tokens_per_second(
            params_billion=params_billion,
            bytes_per_param=PRECISION_BYTES[SPEC_WEIGHT_PRECISION],
            memory_bandwidth_gbps=gpu.memory_bandwidth_gbps,
            dense_tflops=gpu.tflops_fp16,
            vram_gb=gpu.vram_gb,
            gpu_count=1,
            batch_size=DEFAULT_BATCH_SIZE,
        )
    # One image in an hour needs one replica, so the tier's throughput is one GPU's rate.
    estimate = estimate_workload(
        workload_type="image_generation",
        quantity=1,
        duration_hours=1,
        quality=SPEC_IMAGE_QUALITY,
        model_name=SPEC_IMAGE_MODEL,
        gpus=[gpu],
    )
    tiers = [tier for tier in estimate.recommended_gpu_tiers if tier.gpus_needed == 1]
    values["image_gen_per_minute"] = tiers[0].est_throughput * 60 if tiers else None
    return values


def _spec_row_values(gpu: GpuModel, throughput_model: str) -> dict[str, Any]:
    return {
        "family": gpu.family,
        "variant": gpu.variant,
        "vendor": gpu.vendor,
        "architecture": gpu.architecture,
        "vram_gb": float(gpu.vram_gb),
        "memory_bandwidth_gbps": gpu.memory_bandwidth_gbps,
        "tflops_fp32": gpu.tflops_fp32,
        "tflops_fp16": gpu.tflops_fp16,
        "tflops_bf16": gpu.tflops_bf16,
        "tflops_fp8": gpu.tflops_fp8,
        "tops_int8": gpu.tops_int8,
        "tdp_watts": gpu.tdp_watts,
        **gpu_spec_throughput(gpu=gpu),
        "aliases": list(gpu.aliases),
        "throughput_model": throughput_model,
        "source": gpu.source,
        "verified_at": gpu.verified_at,
    }


@dataclass(frozen=True)
class GpuSpecsLoadResult:
    """How many gpu_benchmarks rows one `gpu_specs_load` created, updated and left unchanged."""

    created: int
    updated: int
    unchanged: int


def gpu_specs_load() -> GpuSpecsLoadResult:
    """Upsert every catalogue GPU into gpu_benchmarks; idempotent (a second run changes nothing).

    Rows whose gpu_model is no longer in the catalogue are left alone (nothing deletes specs
    that offers or admins may still reference).
    """
    throughput_model = _spec_throughput_model()
    created = updated = unchanged = 0
    with transaction.atomic():
        existing = {row.gpu_model: row for row in GPUBenchmark.objects.select_for_update()}
        for gpu in all_gpus():
            values = _spec_row_values(gpu, throughput_model)
            row = existing.get(gpu.gpu_model)
            if row is None:
                GPUBenchmark.objects.create(gpu_model=gpu.gpu_model, **values)
                created += 1
                continue
            changed = [name for name, value in values.items() if getattr(row, name) != value]
            if not changed:
                unchanged += 1
                continue
            for name in changed:
                setattr(row, name, values[name])
            row.save(update_fields=[*changed, "updated_at"])
            updated += 1
    return GpuSpecsLoadResult(created=created, updated=updated, unchanged=unchanged)
