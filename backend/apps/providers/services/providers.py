"""Operator switches on providers: disable (ingestion skips it, its offers are not listed), enable.

A disabled provider has `status = PROVIDER_DISABLED`. `provider_sync` refuses it before any
fetch (result status "disabled", no sync-run row, so uptime figures are not touched), the
write of a sync already under way never overwrites the status (`sync_write`), and
`offers_listed()` leaves its offers out, so the listing, one offer, its history, the KPIs, the
WebSocket snapshot and booking all stop showing them at once. The offers themselves are kept:
enabling the provider lists them again (flagged stale until its next successful sync).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from apps.providers.cache import listing_cache_invalidate
from apps.providers.models import PROVIDER_ACTIVE, PROVIDER_DISABLED, Provider
from gpubroker.core.events import after_commit


def _status_set(
    providers: Iterable[Provider], *, status: str, only_disabled: bool
) -> list[Provider]:
    """Set `status` on the providers that are (only_disabled) or are not disabled, locked."""
    with transaction.atomic():
        rows = Provider.objects.select_for_update().filter(pk__in=[p.pk for p in providers])
        if only_disabled:
            rows = rows.filter(status=PROVIDER_DISABLED)
        else:
            rows = rows.exclude(status=PROVIDER_DISABLED)
        changed = list(rows.order_by("name"))
        if changed:
            Provider.objects.filter(pk__in=[p.pk for p in changed]).update(
                status=status, updated_at=timezone.now()
            )
            after_commit(listing_cache_invalidate)
    for provider in changed:
        provider.status = status
    return changed


def providers_disable(*, providers: Iterable[Provider]) -> list[Provider]:
    """Disable the given providers; returns those that were not disabled already (by name).

    Their offers leave the listing as soon as this commits (the listing cache is dropped after
    commit); ingestion skips them from its next attempt on.
    """
    return _status_set(providers, status=PROVIDER_DISABLED, only_disabled=False)


def providers_enable(*, providers: Iterable[Provider]) -> list[Provider]:
    """Enable the given disabled providers (status back to "active"); returns those enabled.

    Ingestion syncs them again from its next round; their offers are listed at once, flagged
    stale until that sync succeeds. Providers that were not disabled are left as they are.
    """
    return _status_set(providers, status=PROVIDER_ACTIVE, only_disabled=True)
