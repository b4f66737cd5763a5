"""Writes of the GPU catalogue: `gpu_specs_load` copies data/gpus.json into `gpu_benchmarks`.

The derived columns are model estimates, not measurements: tokens/s for Llama 2 7B/13B/70B from
the serving model (`algorithms.sizing.serving_plan`, one GPU, fp16, at its serving batch) and
SDXL images/minute from `algorithms.image_generation`; `throughput_model` on each row says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from algorithms.image_generation import DIFFUSION_MODELS, image_generation_estimate
from algorithms.model_registry import model_resolve
from algorithms.serving import CALIBRATED_EFFICIENCY, GPU_MEMORY_UTILIZATION
from algorithms.sizing import ModelDoesNotFit, serving_plan
from apps.gpus.catalogue import GpuModel, all_gpus
from apps.gpus.models import GPUBenchmark

# v1's columns by model size, filled with the one family published at all three sizes.
SPEC_MODELS: Mapping[str, str] = {
    "tokens_per_second_7b": "llama-2-7b",
    "tokens_per_second_13b": "llama-2-13b",
    "tokens_per_second_70b": "llama-2-70b",
}
SPEC_PRECISION = "fp16"
SPEC_PROMPT_TOKENS = 500
SPEC_OUTPUT_TOKENS = 200
SPEC_IMAGE_MODEL = "sdxl"
SPEC_IMAGE_STEPS = 30


def _spec_throughput_model() -> str:
    sdxl = DIFFUSION_MODELS[SPEC_IMAGE_MODEL]
    names = ", ".join(
        f"{column.rsplit('_', 1)[1]} = {model_resolve(model).name}"
        for column, model in SPEC_MODELS.items()
    )
    return (
        "Model estimates, not measurements. tokens_per_second_{7b,13b,70b}: output tokens/s of "
        f"one GPU serving {names} with {SPEC_PRECISION} weights and KV cache, requests of "
        f"{SPEC_PROMPT_TOKENS} prompt + {SPEC_OUTPUT_TOKENS} output tokens, at the serving "
        "batch (as many sequences as the KV cache holds, at most vLLM's max_num_seqs: 1024 on "
        "GPUs of at least 70 GiB other than A100, else 256), by the calibrated serving model "
        "(algorithms.sizing.serving_plan: "
        f"memory-bandwidth efficiency {CALIBRATED_EFFICIENCY.memory_bandwidth:g}, compute "
        f"efficiency {CALIBRATED_EFFICIENCY.compute:g}, {GPU_MEMORY_UTILIZATION:g} of VRAM "
        "usable, docs/kpi-formulas.md); null when one GPU cannot hold the weights and one "
        f"context. image_gen_per_minute: {sdxl.name} at {sdxl.native_resolution}x"
        f"{sdxl.native_resolution}, {SPEC_IMAGE_STEPS} steps x {sdxl.tflops_per_step:g} TFLOPs "
        "per step at 0.2 of dense fp16 peak on one GPU (algorithms.image_generation); null "
        "when the pipeline does not fit."
    )


def gpu_spec_throughput(*, gpu: GpuModel) -> dict[str, float | None]:
    """The derived columns of one spec row: tokens/s of Llama 2 7B/13B/70B and SDXL images/min.

    Each is a model estimate for one GPU (see `_spec_throughput_model`), None when it does not
    fit.
    """
    values: dict[str, float | None] = {}
    for column, model in SPEC_MODELS.items():
        try:
            plan = serving_plan(
                model=model,
                gpu=gpu,
                prompt_tokens=SPEC_PROMPT_TOKENS,
                output_tokens=SPEC_OUTPUT_TOKENS,
                precision=SPEC_PRECISION,
                tensor_parallel=1,
            )
        except ModelDoesNotFit:
            values[column] = None
            continue
        values[column] = plan.replica_output_tokens_per_second
    images = image_generation_estimate(model=SPEC_IMAGE_MODEL, gpu=gpu, steps=SPEC_IMAGE_STEPS)
    values["image_gen_per_minute"] = images.images_per_hour / 60 if images.fits else None
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
