"""Reads for the math endpoints: GPU resolution, loaded specs, offer prices and interactions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import UUID

from django.db.models import DecimalField, ExpressionWrapper, F, Max, Min, Sum, Value
from django.db.models.functions import Coalesce

from apps.math_core.models import RecommenderModel
from apps.providers.models import Availability, GPUOffer, UserOfferInteraction

# Implicit-feedback strength per interaction kind: a booking is a much stronger signal than a
# selection (added to a comparison, opened the booking form), which is stronger than a view.
INTERACTION_KIND_WEIGHTS: Mapping[str, float] = {"view": 1.0, "select": 3.0, "book": 10.0}
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


def offer_map_by_ids(*, offer_ids: Iterable[UUID]) -> dict[UUID, GPUOffer]:
    """Offers (with their provider) for the given ids; missing ids are simply absent."""
    wanted = set(offer_ids)
    if not wanted:
        return {}
    return {
        offer.id: offer
        for offer in GPUOffer.objects.select_related("provider").filter(id__in=wanted)
    }


def interaction_rows() -> list[tuple[str, str, str, float | None]]:
    """Every recorded interaction as (user id, offer id, kind, stored weight), oldest first."""
    return [
        (str(user_id), str(offer_id), kind, weight)
        for user_id, offer_id, kind, weight in UserOfferInteraction.objects.order_by(
            "id"
        ).values_list("user_id", "offer_id", "kind", "weight")
    ]


def interaction_count_for_user(*, user_id: UUID) -> int:
    return UserOfferInteraction.objects.filter(user_id=user_id).count()


def interaction_totals_by_offer(*, offer_ids: Iterable[UUID]) -> dict[str, float]:
    """Summed effective weight (kind weight x stored weight) per offer id, all users."""
    wanted = set(offer_ids)
    if not wanted:
        return {}
    totals: dict[str, float] = {}
    rows = (
        UserOfferInteraction.objects.filter(offer_id__in=wanted, weight__gt=0)
        .values("offer_id", "kind")
        .annotate(total=Sum("weight"))
    )
    for row in rows:
        kind_weight = INTERACTION_KIND_WEIGHTS.get(row["kind"])
        if kind_weight is not None and row["total"] is not None:
            key = str(row["offer_id"])
            totals[key] = totals.get(key, 0.0) + kind_weight * float(row["total"])
    return totals


def recommender_model_latest_id() -> int | None:
    """Id of the newest trained model (artefact not loaded)."""
    return (
        RecommenderModel.objects.order_by("-trained_at", "-id").values_list("id", flat=True).first()
    )


def recommender_model_artefact(*, model_id: int) -> bytes | None:
    artefact = (
        RecommenderModel.objects.filter(id=model_id).values_list("artefact", flat=True).first()
    )
    return None if artefact is None else bytes(artefact)
