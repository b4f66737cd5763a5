"""Admin for GPU specs: read-only, because data/gpus.json is their source."""

from __future__ import annotations

from django.contrib import admin

from apps.gpus.models import GPUBenchmark
from gpubroker.core.admin import ViewOnlyAdmin


@admin.register(GPUBenchmark)
class GPUBenchmarkAdmin(ViewOnlyAdmin):
    """Edits would be overwritten by `load_gpu_specs`; change data/gpus.json instead.

    No deletion either: offers and admins may still reference the spec.
    """

    list_display = (
        "gpu_model",
        "vendor",
        "architecture",
        "vram_gb",
        "memory_bandwidth_gbps",
        "tflops_fp16",
        "tokens_per_second_7b",
        "verified_at",
    )
    list_filter = ("vendor", "architecture")
    search_fields = ("gpu_model", "family")
