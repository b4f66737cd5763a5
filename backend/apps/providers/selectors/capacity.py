"""Offers that can hold a deployment: the workload estimate's "cheapest offers" read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import F, Max, Min, Q, Window
from django.db.models.functions import RowNumber

from apps.providers.models import Availability
from apps.providers.selectors.offers import offers_in_market


def offers_with_gpus(
    *, minimum_gpus: Mapping[str, int], per_gpu_model: int
) -> list[dict[str, Any]]:
    """Available market offers of each gpu_model with at least `minimum_gpus[gpu_model]` GPUs.

    At most `per_gpu_model` per GPU model, cheapest per GPU-hour first (a window function, one
    query). Rows: id, provider__name, gpu_model, gpu_count, region, price_per_hour (USD/h).
    """
    if not minimum_gpus:
        return []
    match = Q()
    for gpu_model, count in minimum_gpus.items():
        holds = Q(gpu_count__gte=count)
        if count <= 1:
            holds |= Q(gpu_count__isnull=True)
        match |= Q(gpu_model=gpu_model) & holds
    rank = Window(
        RowNumber(),
        partition_by=[F("gpu_model")],
        order_by=[F("price_per_gpu_hour").asc(), "id"],
    )
    rows = (
        offers_in_market()
        .filter(match, availability_status=Availability.AVAILABLE)
        .annotate(rank=rank)
        .filter(rank__lte=per_gpu_model)
        .values("id", "provider__name", "gpu_model", "gpu_count", "region", "price_per_hour")
    )
    return [dict(row) for row in rows]


def offer_price_ranges_per_gpu() -> dict[str, tuple[float, float]]:
    """(min, max) price per GPU-hour in MARKET_CURRENCY by canonical gpu_model.

    Over the available offers in the market (`offers_in_market`, limited ones left out);
    an instance's price is divided by its GPU count (the column `price_per_gpu_hour`). One
    query.
    """
    rows = (
        offers_in_market()
        .filter(availability_status=Availability.AVAILABLE)
        .values("gpu_model")
        .annotate(low=Min("price_per_gpu_hour"), high=Max("price_per_gpu_hour"))
        .order_by("gpu_model")
    )
    return {
        str(row["gpu_model"]): (float(row["low"]), float(row["high"]))
        for row in rows
        if row["gpu_model"] is not None
    }
