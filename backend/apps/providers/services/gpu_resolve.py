"""Re-resolving stored offers' GPUs against the current catalogue.

Ingestion resolves each offer's card when it writes it; an offer written by an older catalogue
or older resolution rules keeps its old answer until its provider is synced again (and forever
for a provider that is no longer synced). `offers_gpu_resolve` gives every stored offer the GPU
the current rules give it - from the provider's name, the memory and the form-factor field kept
on the row - so an upgraded database lists correct models at once: migration
`providers.0012_gpu_identity` runs it through `manage.py resolve_gpus`, and an operator runs
the command after changing `apps/gpus/data/gpus.json`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction

from apps.gpus.identity import GpuFacts
from apps.providers.cache import listing_cache_invalidate
from apps.providers.models import GPUOffer, Provider
from apps.providers.services.normalise import gpu_identity
from apps.providers.services.sync import QUARANTINE_SAMPLE
from gpubroker.core.events import after_commit

_FIELDS = ("gpu_type", "gpu_memory_gb", "gpu_model")
_BATCH = 1000


@dataclass(frozen=True)
class GpuResolveReport:
    """What one run changed: offers examined, offers whose GPU changed, and the changes.

    `changes` maps (old model or None, new model or None) to how many offers moved that way.
    """

    offers_examined: int
    offers_changed: int
    changes: dict[tuple[str | None, str | None], int]


def offers_gpu_resolve() -> GpuResolveReport:
    """Give every offer ingestion wrote (`gpu_name_raw` set) the GPU the current rules give it.

    Facts per offer: `gpu_name_raw`, `gpu_memory_gb` (the reported memory for a quarantined
    row, the catalogue's for a resolved one - either agrees with its name) and `interconnect`.
    Only `gpu_type`, `gpu_memory_gb` and `gpu_model` change; prices, history and counts stay.
    The providers' `quarantined_names` are recomputed for the providers touched. Idempotent.
    """
    with transaction.atomic():
        rows = list(
            GPUOffer.objects.select_for_update()
            .filter(gpu_name_raw__isnull=False)
            .values_list(
                "id", "provider_id", "gpu_name_raw", "gpu_memory_gb", "interconnect", "gpu_model"
            )
        )
        updates: list[GPUOffer] = []
        changes: dict[tuple[str | None, str | None], int] = {}
        touched: set[uuid.UUID] = set()
        for offer_id, provider_id, raw, memory, interconnect, old_model in rows:
            facts = GpuFacts((raw or "",), float(memory) if memory else None, interconnect)
            gpu = gpu_identity(facts)
            if gpu.gpu_model == old_model:
                continue
            updates.append(GPUOffer(id=offer_id, **gpu.columns()))
            key = (old_model, gpu.gpu_model)
            changes[key] = changes.get(key, 0) + 1
            touched.add(provider_id)
        GPUOffer.objects.bulk_update(updates, fields=_FIELDS, batch_size=_BATCH)
        for provider_id in touched:
            names = (
                GPUOffer.objects.filter(provider_id=provider_id, gpu_model__isnull=True)
                .exclude(gpu_name_raw__isnull=True)
                .order_by("gpu_name_raw")
                .values_list("gpu_name_raw", flat=True)
                .distinct()[:QUARANTINE_SAMPLE]
            )
            Provider.objects.filter(pk=provider_id).update(quarantined_names=list(names))
        if updates:
            after_commit(listing_cache_invalidate)
    return GpuResolveReport(
        offers_examined=len(rows),
        offers_changed=len(updates),
        changes=dict(sorted(changes.items(), key=lambda item: (-item[1], str(item[0])))),
    )
