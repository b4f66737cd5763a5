"""A provider's interval in force and its next sync (selectors/status.py), no query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.test import override_settings

from apps.providers.models import Provider
from apps.providers.selectors.status import next_sync_at, provider_freshness, sync_interval_for

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def provider(**fields) -> Provider:
    return Provider(**{"name": "vastai", "display_name": "Vast.ai", "created_at": T0, **fields})


@override_settings(GPUBROKER_DEMO_MARKET=False)
def test_the_cadence_comes_from_the_settings_per_provider() -> None:
    # The shipped defaults: marketplaces 2 min, neoclouds 15 min, price lists daily.
    assert sync_interval_for(provider(name="vastai")) == 120
    assert sync_interval_for(provider(name="runpod")) == 120
    assert sync_interval_for(provider(name="tensordock")) == 120
    assert sync_interval_for(provider(name="lambda")) == 900
    assert sync_interval_for(provider(name="coreweave")) == 86_400


@override_settings(
    GPUBROKER_DEMO_MARKET=False,
    PROVIDER_SYNC_INTERVALS={"vastai": 60},
    PROVIDER_SYNC_INTERVAL_SECONDS=300,
)
def test_an_operator_value_wins_and_an_unlisted_provider_gets_the_default() -> None:
    assert sync_interval_for(provider(name="vastai")) == 60
    assert sync_interval_for(provider(name="vastai", sync_interval_seconds=45)) == 45
    assert sync_interval_for(provider(name="newcloud")) == 300


@override_settings(
    GPUBROKER_DEMO_MARKET=True,
    GPUBROKER_PROVIDER_MODE="replay",
    GPUBROKER_DEMO_MARKET_INTERVAL_SECONDS=20,
)
def test_the_demo_market_syncs_every_provider_every_round() -> None:
    assert sync_interval_for(provider(name="coreweave")) == 20


def test_next_sync_is_one_interval_after_the_last_attempt() -> None:
    synced = provider(last_sync_at=T0 + timedelta(minutes=10))
    assert next_sync_at(synced, interval_seconds=120) == T0 + timedelta(minutes=12)


def test_a_provider_never_attempted_is_due_since_its_registration() -> None:
    assert next_sync_at(provider(), interval_seconds=120) == T0


def test_an_open_breaker_pushes_the_next_sync_to_its_half_open_time() -> None:
    half_open = T0 + timedelta(minutes=30)
    failing = provider(last_sync_at=T0, breaker_state="open", breaker_open_until=half_open)
    assert next_sync_at(failing, interval_seconds=120) == half_open
    # A breaker that reopens sooner than the interval does not bring the sync forward.
    brief = provider(
        last_sync_at=T0, breaker_state="open", breaker_open_until=T0 + timedelta(seconds=30)
    )
    assert next_sync_at(brief, interval_seconds=120) == T0 + timedelta(minutes=2)


def test_a_disabled_provider_has_no_next_sync() -> None:
    assert next_sync_at(provider(status="disabled", last_sync_at=T0), interval_seconds=120) is None


@override_settings(GPUBROKER_DEMO_MARKET=False)
def test_freshness_carries_the_interval_and_the_next_sync() -> None:
    row = provider(name="lambda", last_sync_at=T0, last_success_at=T0)
    freshness = provider_freshness(row, T0 + timedelta(minutes=1))
    assert freshness.sync_interval_seconds == 900
    assert freshness.next_sync_at == T0 + timedelta(minutes=15)
    assert freshness.is_stale is False
