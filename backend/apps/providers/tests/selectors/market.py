"""Factories for the read-API tests: providers and offers written through the ORM."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.gpus.kpis import DEFAULT_COST_BASIS, CostBasis, gpu_kpi_inputs_reset, serving_table
from apps.gpus.models import GPUBenchmark
from apps.providers.models import GPUOffer, Provider

_external_ids = itertools.count(1)

# Round fp32 figures so expected cost-per-GFLOP KPIs can be computed by hand.
BENCHMARKS = {
    "H100 SXM": {"tflops_fp32": 50.0},
    "RTX 4090": {"tflops_fp32": 80.0},
}


def serving_tokens_per_second(
    gpu_model: str, gpu_count: int = 1, basis: CostBasis = DEFAULT_COST_BASIS
) -> float:
    """Output tokens/s of an offer of `gpu_count` x `gpu_model` for `basis` (the KPIs' table).

    The serving model's own figures are checked in algorithms/tests/serving; the read-API
    tests check that items, SQL and aggregates agree with this table.
    """
    best = serving_table(basis)[gpu_model].best_for(gpu_count)
    assert best is not None
    layout, replicas = best
    return replicas * layout.output_tokens_per_second


def benchmarks_load() -> None:
    """gpu_benchmarks rows for BENCHMARKS and a fresh per-process fp32 map."""
    for gpu_model, figures in BENCHMARKS.items():
        GPUBenchmark.objects.update_or_create(
            gpu_model=gpu_model,
            defaults={"vendor": "NVIDIA", "vram_gb": 80, "source": "test", **figures},
        )
    gpu_kpi_inputs_reset()


def provider_make(name: str, **fields: Any) -> Provider:
    now = timezone.now()
    values: dict[str, Any] = {
        "display_name": name.title(),
        "last_sync_at": now - timedelta(seconds=30),
        "last_success_at": now - timedelta(seconds=30),
        "sync_interval_seconds": 300,
        **fields,
    }
    return Provider.objects.create(name=name, **values)


def offer_make(
    provider: Provider,
    gpu_model: str | None = "H100 SXM",
    price: str = "1.0000",
    **fields: Any,
) -> GPUOffer:
    values: dict[str, Any] = {
        "external_id": f"ext-{next(_external_ids)}",
        "gpu_type": gpu_model or "Mystery GPU",
        "gpu_model": gpu_model,
        "gpu_name_raw": f"NVIDIA {gpu_model or 'Mystery GPU'}",
        "gpu_memory_gb": 80,
        "gpu_count": 1,
        "price_per_hour": Decimal(price),
        "region": "us-east-1",
        "country": "US",
        **fields,
    }
    return GPUOffer.objects.create(provider=provider, **values)
