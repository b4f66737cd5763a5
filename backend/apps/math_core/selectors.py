"""Reads for the math endpoints: current offer prices per GPU."""

from __future__ import annotations

from django.db.models import DecimalField, ExpressionWrapper, F, Max, Min, Value
from django.db.models.functions import Coalesce

from apps.providers.models import Availability, GPUOffer

PRICE_CURRENCY = "USD"


def offer_price_ranges_per_gpu() -> dict[str, tuple[float, float]]:
    """(min, max) price per GPU-hour by canonical gpu_model over current offers.

    Current = available, not stale, priced above zero in PRICE_CURRENCY, with a canonical GPU.
    price_per_hour is the whole instance's price, so it is divided by gpu_count (1 when unknown).
    """
    per_gpu = ExpressionWrapper(
        F("price_per_hour") / Coalesce(F("gpu_count"), Value(1)),
        output_field=DecimalField(max_digits=12, decimal_places=6),
    )
    rows = (
        GPUOffer.objects.filter(
            availability_status=Availability.AVAILABLE,
            is_stale=False,
            currency=PRICE_CURRENCY,
            gpu_model__isnull=False,
            price_per_hour__gt=0,
        )
        .annotate(price_per_gpu=per_gpu)
        .values("gpu_model")
        .annotate(low=Min("price_per_gpu"), high=Max("price_per_gpu"))
        .order_by("gpu_model")
    )
    return {
        str(row["gpu_model"]): (float(row["low"]), float(row["high"]))
        for row in rows
        if row["gpu_model"] is not None
    }
