"""The providers' Prometheus series, read from PostgreSQL at each scrape (providers/metrics.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.db import DatabaseError
from django.utils import timezone
from prometheus_client import REGISTRY, generate_latest

from apps.providers.metrics import ProviderCollector
from apps.providers.models import GPUOffer, Provider, ProviderSyncRun
from apps.providers.services.providers import providers_disable
from apps.providers.services.sync import provider_sync

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def _offer(provider: Provider, external_id: str, *, gpu_model: str | None, availability: str):
    return GPUOffer.objects.create(
        provider=provider,
        external_id=external_id,
        gpu_type=gpu_model or "Mystery GPU",
        gpu_model=gpu_model,
        gpu_name_raw=gpu_model or "Mystery GPU",
        gpu_memory_gb=80,
        price_per_hour=Decimal("2.5000"),
        region="us-east",
        availability_status=availability,
    )


def test_offer_gauges_count_resolved_offers_by_availability_and_quarantined_apart():
    acme = Provider.objects.create(name="acme", display_name="Acme")
    _offer(acme, "a1", gpu_model="H100 SXM", availability="available")
    _offer(acme, "a2", gpu_model="H100 SXM", availability="available")
    _offer(acme, "a3", gpu_model="A100 SXM4 80GB", availability="limited")
    _offer(acme, "q1", gpu_model=None, availability="available")

    assert sample("gpubroker_offers", provider="acme", availability="available") == 2
    assert sample("gpubroker_offers", provider="acme", availability="limited") == 1
    # Every availability of every provider is a series, zero included (the alerts sum them).
    assert sample("gpubroker_offers", provider="acme", availability="unavailable") == 0
    assert sample("gpubroker_offers_quarantined", provider="acme") == 1

    GPUOffer.objects.filter(external_id="a2").update(availability_status="unavailable")
    assert sample("gpubroker_offers", provider="acme", availability="available") == 1
    assert sample("gpubroker_offers", provider="acme", availability="unavailable") == 1


def test_breaker_state_reads_the_mirror_and_disabled_has_its_own_value():
    now = timezone.now()
    Provider.objects.create(name="shut", display_name="Shut", breaker_state="closed")
    Provider.objects.create(
        name="failing",
        display_name="Failing",
        breaker_state="open",
        breaker_open_until=now + timedelta(seconds=60),
    )
    Provider.objects.create(
        name="trial",
        display_name="Trial",
        breaker_state="open",
        breaker_open_until=now - timedelta(seconds=1),
    )
    assert sample("gpubroker_provider_breaker_state", provider="shut") == 0
    assert sample("gpubroker_provider_breaker_state", provider="failing") == 2
    # Open until a moment already past: the next call is the trial, i.e. half-open.
    assert sample("gpubroker_provider_breaker_state", provider="trial") == 1

    providers_disable(providers=Provider.objects.filter(name="failing"))
    assert sample("gpubroker_provider_breaker_state", provider="failing") == 3
    # A disabled provider is never synced: its age would only grow, so it is not exported.
    assert sample("gpubroker_provider_last_success_age_seconds", provider="failing") is None


def test_last_success_age_is_infinite_before_the_first_success_then_seconds():
    provider = Provider.objects.create(name="acme", display_name="Acme")
    assert sample("gpubroker_provider_last_success_age_seconds", provider="acme") == float("inf")
    provider.last_success_at = timezone.now() - timedelta(seconds=600)
    provider.save(update_fields=["last_success_at"])
    age = sample("gpubroker_provider_last_success_age_seconds", provider="acme")
    assert age is not None
    assert 600 <= age < 700


def test_a_sync_moves_the_outcome_counter_and_the_duration_histogram(providers_http, breakers):
    provider_sync(provider_name="vastai", client=providers_http.client(), breaker_registry=breakers)

    assert sample("gpubroker_syncs_total", provider="vastai", outcome="ok") == 1
    assert sample("gpubroker_syncs_total", provider="vastai", outcome="error") == 0
    assert sample("gpubroker_sync_duration_seconds_count", provider="vastai") == 1
    run = ProviderSyncRun.objects.get(provider__name="vastai")
    assert run.finished_at is not None
    duration = (run.finished_at - run.started_at).total_seconds()
    assert sample("gpubroker_sync_duration_seconds_sum", provider="vastai") == pytest.approx(
        duration
    )
    assert sample("gpubroker_sync_duration_seconds_bucket", provider="vastai", le="+Inf") == 1
    assert sample("gpubroker_provider_breaker_state", provider="vastai") == 0

    providers_http.override("vastai", lambda request: httpx.Response(503, json={}))
    provider_sync(provider_name="vastai", client=providers_http.client(), breaker_registry=breakers)
    assert sample("gpubroker_syncs_total", provider="vastai", outcome="ok") == 1
    assert sample("gpubroker_syncs_total", provider="vastai", outcome="error") == 1
    assert sample("gpubroker_sync_duration_seconds_count", provider="vastai") == 2


def test_refused_attempts_are_counted_apart_and_left_out_of_the_histogram():
    provider = Provider.objects.create(name="acme", display_name="Acme")
    now = timezone.now()
    for kind in ("not_configured", "circuit_open"):
        ProviderSyncRun.objects.create(
            provider=provider, started_at=now, finished_at=now, error_kind=kind
        )
    ProviderSyncRun.objects.create(
        provider=provider,
        started_at=now,
        finished_at=now + timedelta(seconds=3),
        error_kind="server",
    )
    assert sample("gpubroker_syncs_total", provider="acme", outcome="refused") == 2
    assert sample("gpubroker_syncs_total", provider="acme", outcome="error") == 1
    assert sample("gpubroker_sync_duration_seconds_count", provider="acme") == 1
    assert sample("gpubroker_sync_duration_seconds_sum", provider="acme") == 3.0
    assert sample("gpubroker_sync_duration_seconds_bucket", provider="acme", le="2.5") == 0
    assert sample("gpubroker_sync_duration_seconds_bucket", provider="acme", le="5.0") == 1


def test_a_lost_database_leaves_the_provider_series_out_without_failing_the_scrape(monkeypatch):
    Provider.objects.create(name="acme", display_name="Acme")

    def unreachable(**kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("apps.providers.metrics.provider_metrics_read", unreachable)
    assert list(ProviderCollector().collect()) == []
    text = generate_latest(REGISTRY).decode()
    assert "gpubroker_offers{" not in text
    assert "gpubroker_websocket_connections" in text
