"""Reads of quarantined offers: the provider GPU strings the catalogue does not know.

An offer is quarantined while its `gpu_model` is NULL (`models.LISTED`); the operators' console
lists each unknown string once per provider with how many offers carry it, so an operator can
see what to add to `apps/gpus/data/gpus.json`. One grouped query over the partial index
`offers_quarantine_idx` (quarantined rows only), whatever the size of the catalogue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce

from apps.gpus.identity import GpuFacts, quarantine_explanation, resolve_facts_cached
from apps.providers.models import Availability, GPUOffer

# The view shows the names with the most offers first, this many at most.
QUARANTINE_VIEW_LIMIT = 200


@dataclass(frozen=True)
class QuarantinedName:
    """One unknown GPU string at one provider.

    Attributes:
        provider_id: The provider's id.
        provider: The provider's name (registry key).
        gpu_name_raw: The provider's string (v1 rows without one: their `gpu_type`).
        offer_count: Offers carrying it.
        available_count: Of those, offers not unavailable.
        memory_gb_min: Smallest memory per GPU among them, GB (None when unknown).
        memory_gb_max: Largest memory per GPU among them, GB.
        last_seen_at: When a sync last saw one of them.
        reason: Why the catalogue refuses it today (`ResolutionResult.reason`, resolved now with
            the memory when all its offers agree on it and their form-factor field), or
            "resolves now" when a newer catalogue knows it (`manage.py resolve_gpus` or the
            provider's next sync lists the offers).
        explanation: `reason` as a sentence an operator can act on.
    """

    provider_id: uuid.UUID
    provider: str
    gpu_name_raw: str
    offer_count: int
    available_count: int
    memory_gb_min: int | None
    memory_gb_max: int | None
    last_seen_at: datetime | None
    reason: str
    explanation: str


def _reason_now(
    raw_name: str, memory_gb_min: int | None, memory_gb_max: int | None, interconnect: str | None
) -> tuple[str, str]:
    memory = float(memory_gb_min) if memory_gb_min and memory_gb_min == memory_gb_max else None
    resolution = resolve_facts_cached(GpuFacts((raw_name,), memory, interconnect))
    if resolution.gpu is not None:
        reason = f"resolves now (to {resolution.gpu.gpu_model})"
        return reason, f"{reason}: `manage.py resolve_gpus` or the next sync lists its offers"
    reason = resolution.reason or "no_match"
    return reason, quarantine_explanation(reason) or reason


def quarantined_gpu_names(
    *, provider_id: uuid.UUID | None = None, limit: int = QUARANTINE_VIEW_LIMIT
) -> list[QuarantinedName]:
    """Each unknown GPU string per provider with its offer counts, most offers first.

    `provider_id` keeps one provider's names; at most `limit` rows. One query.
    """
    offers = GPUOffer.objects.filter(gpu_model__isnull=True)
    if provider_id is not None:
        offers = offers.filter(provider_id=provider_id)
    rows = (
        offers.annotate(raw=Coalesce("gpu_name_raw", "gpu_type"))
        .values("provider_id", "provider__name", "raw")
        .annotate(
            offer_count=Count("pk"),
            available_count=Count("pk", filter=~Q(availability_status=Availability.UNAVAILABLE)),
            memory_gb_min=Min("gpu_memory_gb"),
            memory_gb_max=Max("gpu_memory_gb"),
            last_seen_at=Max("last_seen_at"),
            interconnect=Max("interconnect"),
        )
        .order_by("-offer_count", "provider__name", "raw")[:limit]
    )
    result = []
    for row in rows:
        reason, explanation = _reason_now(
            row["raw"], row["memory_gb_min"], row["memory_gb_max"], row["interconnect"]
        )
        result.append(
            QuarantinedName(
                provider_id=row["provider_id"],
                provider=row["provider__name"],
                gpu_name_raw=row["raw"],
                offer_count=row["offer_count"],
                available_count=row["available_count"],
                memory_gb_min=row["memory_gb_min"],
                memory_gb_max=row["memory_gb_max"],
                last_seen_at=row["last_seen_at"],
                reason=reason,
                explanation=explanation,
            )
        )
    return result
