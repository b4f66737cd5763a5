"""Prometheus series of the marketplace (names fixed by the metrics contract, docs/operations.md).

Read from PostgreSQL at scrape time by `ProviderCollector` (the same values in every web
process, whichever process wrote them):

- `gpubroker_offers{provider, availability}`: offers whose GPU resolved.
- `gpubroker_offers_quarantined{provider}`: offers whose GPU name did not resolve.
- `gpubroker_syncs_total{provider, outcome}`: recorded sync attempts, ok | error | refused.
- `gpubroker_sync_duration_seconds{provider}`: histogram of attempts that called the provider.
- `gpubroker_provider_breaker_state{provider}`: 0 closed, 1 half-open, 2 open, 3 disabled.
- `gpubroker_provider_last_success_age_seconds{provider}`: +Inf before the first success; not
  exported for a disabled provider.

Counted in the process that serves the listing:

- `gpubroker_listing_cache_requests_total{result}`: hit | miss of the listing's page cache.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from django.db import DatabaseError
from django.utils import timezone
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from apps.providers.selectors.metrics import (
    SYNC_DURATION_BUCKETS,
    ProviderMetrics,
    provider_metrics_read,
)

logger = logging.getLogger(__name__)

LISTING_CACHE_REQUESTS = Counter(
    "gpubroker_listing_cache_requests",
    "Offer listing pages asked of the Redis cache, by result (hit, miss).",
    ["result"],
)
for _result in ("hit", "miss"):
    LISTING_CACHE_REQUESTS.labels(result=_result)


def _families(data: ProviderMetrics) -> Iterator[Metric]:
    offers = GaugeMetricFamily(
        "gpubroker_offers",
        "Offers whose GPU resolved, by provider and availability.",
        labels=["provider", "availability"],
    )
    for (provider, availability), count in sorted(data.offers.items()):
        offers.add_metric([provider, availability], count)
    yield offers
    quarantined = GaugeMetricFamily(
        "gpubroker_offers_quarantined",
        "Offers whose GPU name the catalogue does not resolve, by provider.",
        labels=["provider"],
    )
    for provider, count in sorted(data.quarantined.items()):
        quarantined.add_metric([provider], count)
    yield quarantined
    breaker = GaugeMetricFamily(
        "gpubroker_provider_breaker_state",
        "Circuit breaker of each provider: 0 closed, 1 half-open, 2 open, 3 disabled.",
        labels=["provider"],
    )
    age = GaugeMetricFamily(
        "gpubroker_provider_last_success_age_seconds",
        "Seconds since the provider's last successful sync (+Inf before the first).",
        labels=["provider"],
    )
    for health in data.providers:
        breaker.add_metric([health.name], health.breaker_state)
        if health.last_success_age_seconds is not None:
            age.add_metric([health.name], health.last_success_age_seconds)
    yield breaker
    yield age
    syncs = CounterMetricFamily(
        "gpubroker_syncs",
        "Recorded provider sync attempts by outcome (ok, error, refused).",
        labels=["provider", "outcome"],
    )
    duration = HistogramMetricFamily(
        "gpubroker_sync_duration_seconds",
        "Seconds of one provider sync that called the provider, fetch to commit.",
        labels=["provider"],
    )
    for provider, counts in sorted(data.sync_runs.items()):
        for outcome, count in counts.outcomes.items():
            syncs.add_metric([provider, outcome], count)
        buckets = [
            (str(bound), count)
            for bound, count in zip(SYNC_DURATION_BUCKETS, counts.duration_buckets, strict=True)
        ]
        buckets.append(("+Inf", sum(counts.outcomes[o] for o in ("ok", "error"))))
        duration.add_metric([provider], buckets, counts.duration_sum_seconds)
    yield syncs
    yield duration


class ProviderCollector(Collector):
    """The database-derived provider series, read at each scrape (three queries).

    With PostgreSQL down the scrape still answers: these series are left out and one warning
    is logged (the request metrics and `up` carry on).
    """

    def collect(self) -> Iterable[Metric]:
        """Read the providers' state now and yield the metric families."""
        try:
            data = provider_metrics_read(now=timezone.now())
        except DatabaseError as exc:
            logger.warning(
                "provider metrics skipped: database unavailable",
                extra={"error": exc.__class__.__name__},
            )
            return []
        return list(_families(data))

    def describe(self) -> Iterable[Metric]:
        """Nothing: registering must not query the database (the names are dynamic enough)."""
        return []


_collector: ProviderCollector | None = None


def provider_collector_register() -> None:
    """Add `ProviderCollector` to the default registry once per process (AppConfig.ready)."""
    global _collector
    if _collector is None:
        _collector = ProviderCollector()
        REGISTRY.register(_collector)
