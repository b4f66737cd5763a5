"""Reads behind the providers' Prometheus series (`apps/providers/metrics.py`).

Everything comes from PostgreSQL at scrape time, in three aggregate queries, so every web
process reports the same values and the ingest process (which serves no HTTP) needs no
endpoint of its own: provider rows (breaker, status, last success), offer counts per provider
and availability, and the sync-run counts and duration buckets per provider and outcome.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.db.models import (
    Case,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
    When,
)

from apps.providers.models import LISTED, Availability, GPUOffer, Provider, ProviderSyncRun

# Bucket upper bounds of the sync duration histogram, in seconds (fetch to commit).
SYNC_DURATION_BUCKETS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# Sync-run `error_kind`s of attempts that never called the provider (`services/sync.py`).
REFUSED_KINDS = ("circuit_open", "not_configured")
SYNC_OUTCOMES = ("ok", "error", "refused")

# `gpubroker_provider_breaker_state`: the breaker's states, plus one value for a provider an
# operator disabled (never synced, so its mirrored breaker says nothing).
BREAKER_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2, "disabled": 3}


@dataclass(frozen=True)
class ProviderHealth:
    """One provider's state for the gauges: breaker value and seconds since its last success."""

    name: str
    breaker_state: int
    #: None for a disabled provider (not exported); inf when it never succeeded.
    last_success_age_seconds: float | None


@dataclass
class SyncRunCounts:
    """Sync attempts of one provider by outcome, and the duration histogram of those that ran.

    `duration_buckets[i]` counts attempts (outcome ok or error) that took at most
    `SYNC_DURATION_BUCKETS[i]` seconds; `duration_count` and `duration_sum_seconds` cover the
    same attempts.
    """

    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SYNC_OUTCOMES, 0))
    duration_buckets: list[int] = field(default_factory=lambda: [0] * len(SYNC_DURATION_BUCKETS))
    duration_count: int = 0
    duration_sum_seconds: float = 0.0


@dataclass(frozen=True)
class ProviderMetrics:
    """Everything the providers' collector exports, read at one moment."""

    providers: list[ProviderHealth]
    #: (provider, availability) → resolved offers; every provider has every availability.
    offers: dict[tuple[str, str], int]
    #: provider → offers whose GPU name did not resolve (quarantined).
    quarantined: dict[str, int]
    sync_runs: dict[str, SyncRunCounts]


def breaker_state_value(provider: Provider, now: datetime) -> int:
    """The gauge value of a provider's breaker: 0 closed, 1 half-open, 2 open, 3 disabled.

    An "open" mirror whose `breaker_open_until` has passed reads as half-open: the next call
    is the breaker's trial.
    """
    if provider.is_disabled:
        return BREAKER_STATE_VALUES["disabled"]
    state = provider.breaker_state
    if state == "open" and provider.breaker_open_until and provider.breaker_open_until <= now:
        state = "half_open"
    return BREAKER_STATE_VALUES.get(state, BREAKER_STATE_VALUES["closed"])


def _sync_run_counts(names: dict[Any, str]) -> dict[str, SyncRunCounts]:
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    outcome = Case(
        When(is_success=True, then=Value("ok")),
        When(error_kind__in=REFUSED_KINDS, then=Value("refused")),
        default=Value("error"),
        output_field=CharField(),
    )
    buckets = {
        f"le_{index}": Count("id", filter=Q(duration__lte=timedelta(seconds=bound)))
        for index, bound in enumerate(SYNC_DURATION_BUCKETS)
    }
    rows = cast(
        Iterable[dict[str, Any]],
        ProviderSyncRun.objects.annotate(outcome=outcome, duration=duration)
        .values("provider_id", "outcome")
        .annotate(
            runs=Count("id"),
            timed=Count("id", filter=Q(finished_at__isnull=False)),
            total=Sum("duration"),
            **buckets,
        )
        .order_by(),
    )
    counts: dict[str, SyncRunCounts] = defaultdict(SyncRunCounts)
    for row in rows:
        name = names.get(row["provider_id"])
        if name is None:
            continue
        entry = counts[name]
        entry.outcomes[row["outcome"]] = row["runs"]
        if row["outcome"] == "refused":
            continue
        for index in range(len(SYNC_DURATION_BUCKETS)):
            entry.duration_buckets[index] += row[f"le_{index}"]
        entry.duration_count += row["timed"]
        entry.duration_sum_seconds += row["total"].total_seconds() if row["total"] else 0.0
    return {name: counts[name] for name in names.values()}


def provider_metrics_read(*, now: datetime) -> ProviderMetrics:
    """The providers' gauges and sync counts at `now` (three aggregate queries).

    Offers: stored offers whose GPU resolved, per provider and availability (a disabled
    provider's included, though it is not listed); quarantined: those whose GPU did not.
    Sync runs: every recorded attempt since the table began (the counters only grow); an attempt
    skipped because another process held the lock, or because the provider is disabled, leaves
    no row and is not counted.

    Raises:
        django.db.DatabaseError: PostgreSQL is unreachable (the collector reports nothing then).
    """
    providers = list(Provider.objects.order_by("name"))
    names = {provider.id: provider.name for provider in providers}
    health = [
        ProviderHealth(
            name=provider.name,
            breaker_state=breaker_state_value(provider, now),
            last_success_age_seconds=None
            if provider.is_disabled
            else (
                max(0.0, (now - provider.last_success_at).total_seconds())
                if provider.last_success_at
                else float("inf")
            ),
        )
        for provider in providers
    ]
    offers = {
        (provider.name, availability): 0
        for provider in providers
        for availability in Availability.values
    }
    quarantined = dict.fromkeys(names.values(), 0)
    rows = (
        GPUOffer.objects.values("provider_id", "availability_status")
        .annotate(listed=Count("id", filter=LISTED), unresolved=Count("id", filter=~LISTED))
        .order_by()
    )
    for row in rows:
        name = names[row["provider_id"]]
        key = (name, row["availability_status"])
        offers[key] = offers.get(key, 0) + row["listed"]
        quarantined[name] += row["unresolved"]
    return ProviderMetrics(
        providers=health, offers=offers, quarantined=quarantined, sync_runs=_sync_run_counts(names)
    )
