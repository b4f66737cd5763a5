"""Admin for GPU specs (read-only: gpus.json is the source) and recommender models."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.math_core.models import GPUBenchmark, RecommenderModel


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff; rows are written only by management commands."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(GPUBenchmark)
class GPUBenchmarkAdmin(ReadOnlyAdmin):
    """Edits would be overwritten by `load_gpu_specs`; change data/gpus.json instead."""

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

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RecommenderModel)
class RecommenderModelAdmin(ReadOnlyAdmin):
    """Old models may be deleted; the newest one serves collaborative scores."""

    list_display = (
        "id",
        "algorithm",
        "trained_at",
        "user_count",
        "item_count",
        "interaction_count",
    )
    exclude = ("artefact",)
