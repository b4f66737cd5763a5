"""Adopting v1's offers: give each the canonical GPU ingestion would give it, so it is listed.

v1 stored a provider's free-text GPU name in `gpu_type` and nothing else; v2 lists only offers
with a canonical `gpu_model`. `v1_offers_adopt` resolves those names with the ingestion's own
normalisation (`normalise.gpu_identity`, the shared catalogue), right after
`migrate --fake-initial` (migration providers.0007 runs it through `manage.py adopt_v1`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction

from apps.gpus.identity import GpuFacts
from apps.providers.cache import listing_cache_invalidate
from apps.providers.models import GPUOffer, Provider
from apps.providers.services.normalise import gpu_identity
from apps.providers.services.sync import QUARANTINE_SAMPLE
from gpubroker.core.events import after_commit

_RESOLVED_FIELDS = ("gpu_type", "gpu_memory_gb", "gpu_model", "gpu_name_raw", "gpu_count")


@dataclass(frozen=True)
class AdoptionReport:
    """What one run did.

    Offers now listed, offers quarantined, and the quarantined GPU names per provider name
    (sorted).
    """

    offers_listed: int
    offers_quarantined: int
    quarantined_names: Mapping[str, list[str]]

    @property
    def offers_adopted(self) -> int:
        """Every v1 offer the run resolved, listed or quarantined."""
        return self.offers_listed + self.offers_quarantined


def v1_offers_adopt() -> AdoptionReport:
    """Resolve the GPU of every offer no v2 ingestion has written, as ingestion would.

    Those are the rows with `gpu_name_raw` NULL: ingestion always sets it, v1 never had it.
    Each row's `gpu_type` (v1's provider string) is resolved with its `gpu_memory_gb` as the
    VRAM per GPU. Resolved: `gpu_type`/`gpu_model` become the canonical name, `gpu_memory_gb` the
    catalogue's VRAM. Unresolved: quarantined as ingestion does it (`gpu_model` NULL, so never
    listed; the name joins its provider's `quarantined_names`, shown by `/providers/status`).
    Either way the v1 string is kept in `gpu_name_raw` and `gpu_count` is the count the string
    states, else 1 (a v1 offer is one GPU: v1 had no count). Prices and every other column stay.

    Idempotent: a second run finds no such row and changes nothing. Reads and writes only the
    columns it names, so it is safe to call from a migration (providers.0007).
    """
    with transaction.atomic():
        rows = list(
            GPUOffer.objects.select_for_update()
            .filter(gpu_name_raw__isnull=True)
            .values_list("id", "provider_id", "gpu_type", "gpu_memory_gb")
        )
        updates = []
        quarantined: dict[uuid.UUID, set[str]] = {}
        for offer_id, provider_id, gpu_type, gpu_memory_gb in rows:
            gpu = gpu_identity(GpuFacts((gpu_type,), gpu_memory_gb))
            updates.append(
                GPUOffer(
                    id=offer_id,
                    **gpu.columns(),
                    gpu_name_raw=gpu.gpu_name_raw,
                    gpu_count=gpu.stated_count or 1,
                )
            )
            if gpu.gpu_model is None:
                quarantined.setdefault(provider_id, set()).add(gpu.gpu_name_raw)
        GPUOffer.objects.bulk_update(updates, fields=_RESOLVED_FIELDS, batch_size=1000)
        names_by_provider: dict[str, list[str]] = {}
        for provider in Provider.objects.select_for_update().filter(pk__in=list(quarantined)):
            names = sorted(quarantined[provider.pk])
            names_by_provider[provider.name] = names
            merged = sorted(set(provider.quarantined_names) | set(names))
            Provider.objects.filter(pk=provider.pk).update(
                quarantined_names=merged[:QUARANTINE_SAMPLE]
            )
        if updates:
            after_commit(listing_cache_invalidate)
    offers_quarantined = sum(1 for update in updates if update.gpu_model is None)
    return AdoptionReport(
        offers_listed=len(updates) - offers_quarantined,
        offers_quarantined=offers_quarantined,
        quarantined_names=dict(sorted(names_by_provider.items())),
    )
