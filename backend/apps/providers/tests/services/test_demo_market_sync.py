"""The demo market through `provider_sync`: replayed rounds change prices, publish updates and
leave a simulated week of history; without it (and in live mode) replay changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from apps.providers.models import GPUOffer, PriceHistory, ProviderSyncRun
from apps.providers.services.demo_market import price_quantum
from apps.providers.services.sync import provider_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_market(settings):
    settings.GPUBROKER_PROVIDER_MODE = "replay"
    settings.GPUBROKER_DEMO_MARKET = True
    settings.GPUBROKER_DEMO_MARKET_SEED = 1


def _sync(name, providers_http, breakers):
    return provider_sync(
        provider_name=name, client=providers_http.client(), breaker_registry=breakers
    )


def test_two_demo_rounds_change_prices_and_publish_updates(
    demo_market,
    providers_http,
    breakers,
    django_capture_on_commit_callbacks,
    price_updates,
    json_logs,
):
    first = _sync("vastai", providers_http, breakers)
    recorded = dict(GPUOffer.objects.values_list("id", "price_per_hour"))
    assert first.demo_round == 0
    assert first.offers_inserted == len(recorded) == 400
    price_updates()

    with django_capture_on_commit_callbacks(execute=True):
        second = _sync("vastai", providers_http, breakers)

    assert second.status == "ok"
    assert second.demo_round == 1
    assert 0 < second.offers_changed < second.offers_seen * 0.15
    updates = price_updates()
    assert len(updates) == second.offers_changed
    assert all(u["old_price"] != u["new_price"] or u["availability_status"] for u in updates)
    changed = {u["offer_id"] for u in updates}
    for offer in GPUOffer.objects.filter(id__in=changed):
        base = recorded[offer.id]
        assert abs(offer.price_per_hour / base - 1) <= Decimal("0.12")
        assert offer.price_per_hour == offer.price_per_hour.quantize(price_quantum(base))
        # Vast.ai publishes an interruptible price for every offer; it moves with on-demand.
        assert offer.spot_price_per_hour is not None
    moved = [u for u in updates if u["old_price"] != u["new_price"]]
    assert moved
    assert all(
        GPUOffer.objects.get(id=u["offer_id"]).price_per_hour == Decimal(str(u["new_price"]))
        for u in moved
    )
    synced = [r for r in json_logs.records if r["message"] == "provider synced"]
    assert [(r["demo_market"], r["demo_round"]) for r in synced] == [(True, 0), (True, 1)]
    assert synced[1]["offers_changed"] == second.offers_changed


def test_a_third_round_keeps_moving(demo_market, providers_http, breakers):
    _sync("lambda", providers_http, breakers)
    changes = [_sync("lambda", providers_http, breakers).offers_changed for _ in range(6)]
    # 35 offers, ~5 % of them per round plus availability flips: most rounds move something.
    assert sum(changes) > 0
    assert ProviderSyncRun.objects.filter(is_success=True).count() == 7


def test_first_load_backfills_a_week_of_simulated_history(demo_market, providers_http, breakers):
    before = timezone.now()
    _sync("lambda", providers_http, breakers)
    offers = GPUOffer.objects.filter(provider__name="lambda")
    history = PriceHistory.objects.filter(offer__in=offers)
    oldest = history.order_by("recorded_at").first()
    assert oldest is not None
    assert before - timedelta(days=7, minutes=1) <= oldest.recorded_at < before - timedelta(days=6)
    for offer in offers:
        points = list(offer.price_history.order_by("recorded_at").values_list("price_per_hour"))
        # The walk's start, its changes, and the real first observation at the sync.
        assert len(points) >= 2
        assert points[-1][0] == offer.price_per_hour
    # A second round backfills nothing more (only first sightings get a simulated past).
    count = history.count()
    second = _sync("lambda", providers_http, breakers)
    assert history.count() == count + second.offers_changed


def test_history_and_trend_are_not_empty_after_a_demo_load(
    demo_market, providers_http, breakers, client: Client
):
    _sync("vastai", providers_http, breakers)
    offer = GPUOffer.objects.filter(gpu_model__isnull=False).order_by("id").first()
    assert offer is not None

    history = client.get(f"/api/v2/providers/offers/{offer.id}/history?window=7d").json()
    assert len(history["points"]) >= 2
    market = client.get("/api/v2/kpi/insights/market").json()
    assert len(market["price_trend_7d"]["daily"]) >= 7
    assert market["price_trend_7d"]["direction"] in {"up", "down", "flat"}


def test_without_the_demo_market_replay_changes_nothing(settings, providers_http, breakers):
    settings.GPUBROKER_DEMO_MARKET = False
    _sync("lambda", providers_http, breakers)
    second = _sync("lambda", providers_http, breakers)
    assert second.offers_changed == 0
    assert second.demo_round is None
    assert PriceHistory.objects.count() == second.offers_seen


def test_live_mode_never_drifts_even_when_asked(settings, providers_http, breakers, json_logs):
    settings.GPUBROKER_DEMO_MARKET = True
    settings.GPUBROKER_PROVIDER_MODE = "live"
    settings.PROVIDER_API_KEYS = {**settings.PROVIDER_API_KEYS, "lambda": "live-key"}
    _sync("lambda", providers_http, breakers)
    second = _sync("lambda", providers_http, breakers)
    assert second.offers_changed == 0
    assert second.demo_round is None
    assert not [r for r in json_logs.records if r.get("demo_market")]
