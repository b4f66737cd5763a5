"""`manage.py load_gpu_specs`: upsert the canonical GPU catalogue into gpu_benchmarks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.gpus.services import gpu_specs_load


class Command(BaseCommand):
    """Upsert data/gpus.json into gpu_benchmarks and print the counts."""

    help = (
        "Load GPU specifications from apps/gpus/data/gpus.json into gpu_benchmarks, with "
        "tokens/s and images/minute from the documented throughput model. Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run `gpu_specs_load` and print "created, updated, unchanged"."""
        result = gpu_specs_load()
        self.stdout.write(
            f"GPU specs: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )
