"""Reads of the recommender: recorded interactions and the stored ALS models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import UUID

from django.db.models import Sum

from apps.recommendations.models import RecommenderModel, UserOfferInteraction

# Implicit-feedback strength per interaction kind: a booking is a much stronger signal than a
# selection (added to a comparison, opened the booking form), which is stronger than a view.
INTERACTION_KIND_WEIGHTS: Mapping[str, float] = {"view": 1.0, "select": 3.0, "book": 10.0}


def interaction_rows() -> list[tuple[str, str, str, float | None]]:
    """Every recorded interaction as (user id, offer id, kind, stored weight), oldest first."""
    return [
        (str(user_id), str(offer_id), kind, weight)
        for user_id, offer_id, kind, weight in UserOfferInteraction.objects.order_by(
            "id"
        ).values_list("user_id", "offer_id", "kind", "weight")
    ]


def interaction_count_for_user(*, user_id: UUID) -> int:
    """How many interactions a user has recorded."""
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
    """The serialised ALS model of a RecommenderModel row, or None when the id is unknown."""
    artefact = (
        RecommenderModel.objects.filter(id=model_id).values_list("artefact", flat=True).first()
    )
    return None if artefact is None else bytes(artefact)
