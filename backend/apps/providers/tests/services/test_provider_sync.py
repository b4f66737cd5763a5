"""Ingestion against recorded provider responses, real PostgreSQL and real Redis."""

from __future__ import annotations

import copy
from decimal import Decimal

import httpx
import psycopg
import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from apps.providers.cache import LISTING_PREFIX
from apps.providers.events import EXTRA_KEYS
from apps.providers.models import GPUOffer, PriceHistory, Provider, ProviderSyncRun
from apps.providers.services.sync import _lock_key, provider_sync, providers_sync_all
from apps.providers.services.upsert import GONE_SQL
from apps.providers.tests.conftest import recorded

pytestmark = pytest.mark.django_db


def _sync(name, providers_http, breakers):
    return provider_sync(
        provider_name=name, client=providers_http.client(), breaker_registry=breakers
    )


def test_replayed_demo_market_fills_the_catalogue(
    django_capture_on_commit_callbacks, price_updates
):
    with django_capture_on_commit_callbacks(execute=True):
        results = providers_sync_all()
    assert {r.status for r in results} == {"ok"}
    assert len(results) >= 8
    total = GPUOffer.objects.count()
    assert total >= 500
    assert total == sum(r.offers_seen for r in results)
    # First sighting writes one history row per offer and publishes one event per offer.
    assert PriceHistory.objects.count() == total
    events = price_updates()
    assert len(events) == total
    assert set(events[0]) == {
        "offer_id",
        "provider",
        "gpu",
        "region",
        "old_price",
        "new_price",
        "availability_status",
        "timestamp",
        *EXTRA_KEYS,
    }
    assert all(event["old_price"] is None for event in events)
    assert Provider.objects.filter(last_success_at__isnull=False).count() == len(results)
    assert ProviderSyncRun.objects.filter(is_success=True).count() == len(results)


def test_vast_offer_is_mapped_with_canonical_gpu(providers_http, breakers):
    result = _sync("vastai", providers_http, breakers)
    bundle = recorded("vastai")["offers"][0]
    offer = GPUOffer.objects.get(provider__name="vastai", external_id=str(bundle["id"]))
    assert offer.gpu_name_raw == bundle["gpu_name"]
    assert offer.gpu_count == bundle["num_gpus"]
    assert offer.price_per_hour == Decimal(str(bundle["dph_total"])).quantize(Decimal("0.0001"))
    assert offer.gpu_model is not None
    assert offer.gpu_type == offer.gpu_model
    assert offer.is_stale is False
    assert result.offers_seen == len(recorded("vastai")["offers"])


def test_resync_without_changes_writes_no_history_and_no_events(
    providers_http, breakers, django_capture_on_commit_callbacks, price_updates
):
    _sync("lambda", providers_http, breakers)
    history_before = PriceHistory.objects.count()
    price_updates()
    with django_capture_on_commit_callbacks(execute=True):
        second = _sync("lambda", providers_http, breakers)
    assert second.status == "ok"
    assert second.offers_changed == 0
    assert PriceHistory.objects.count() == history_before
    assert price_updates() == []


def test_price_change_writes_one_history_row_publishes_and_invalidates_cache(
    providers_http, breakers, django_capture_on_commit_callbacks, price_updates
):
    _sync("vastai", providers_http, breakers)
    body = copy.deepcopy(recorded("vastai"))
    target = body["offers"][3]
    old_price = Decimal(str(target["dph_total"])).quantize(Decimal("0.0001"))
    target["dph_total"] = float(old_price) + 0.25
    providers_http.body("vastai", body)
    cache.set(LISTING_PREFIX + "abc", {"total": 1}, 60)
    price_updates()
    with django_capture_on_commit_callbacks(execute=True):
        result = _sync("vastai", providers_http, breakers)
    assert result.offers_changed == 1
    offer = GPUOffer.objects.get(provider__name="vastai", external_id=str(target["id"]))
    assert offer.price_per_hour == old_price + Decimal("0.25")
    prices = list(
        PriceHistory.objects.filter(offer=offer)
        .order_by("recorded_at")
        .values_list("price_per_hour", flat=True)
    )
    assert prices == [old_price, old_price + Decimal("0.25")]
    events = price_updates()
    assert len(events) == 1
    assert events[0]["offer_id"] == str(offer.id)
    assert events[0]["old_price"] == float(old_price)
    assert events[0]["new_price"] == float(old_price + Decimal("0.25"))
    assert cache.get(LISTING_PREFIX + "abc") is None


def test_offer_missing_from_a_successful_sync_is_kept_unavailable_and_stale(
    providers_http, breakers
):
    _sync("vastai", providers_http, breakers)
    body = copy.deepcopy(recorded("vastai"))
    gone = body["offers"].pop(0)
    providers_http.body("vastai", body)
    result = _sync("vastai", providers_http, breakers)
    assert result.offers_gone == 1
    offer = GPUOffer.objects.get(provider__name="vastai", external_id=str(gone["id"]))
    assert offer.availability_status == "unavailable"
    assert offer.is_stale is True
    last = PriceHistory.objects.filter(offer=offer).order_by("-recorded_at").first()
    assert last is not None
    assert last.availability_status == "unavailable"
    # Seen again later: available and fresh again.
    providers_http.overrides.clear()
    _sync("vastai", providers_http, breakers)
    offer.refresh_from_db()
    assert offer.is_stale is False
    assert offer.availability_status != "unavailable"


@pytest.mark.parametrize(
    ("responder", "kind"),
    [
        (lambda request: httpx.Response(500, json={"error": "boom"}), "server"),
        (lambda request: httpx.Response(200, text="<html>maintenance</html>"), "bad_payload"),
        (lambda request: httpx.Response(200, text='{"offers": [{"id": 1, "gpu_na'), "bad_payload"),
        (lambda request: httpx.Response(200, json={"unexpected": []}), "bad_payload"),
    ],
    ids=["http-500", "html", "truncated-json", "schema-change"],
)
def test_provider_fault_keeps_last_good_offers(providers_http, breakers, responder, kind):
    _sync("vastai", providers_http, breakers)
    before = dict(
        GPUOffer.objects.filter(provider__name="vastai").values_list("id", "price_per_hour")
    )
    history_before = PriceHistory.objects.count()
    providers_http.override("vastai", responder)
    result = _sync("vastai", providers_http, breakers)
    assert result.status == "failed"
    after = dict(
        GPUOffer.objects.filter(provider__name="vastai").values_list("id", "price_per_hour")
    )
    assert after == before
    assert PriceHistory.objects.count() == history_before
    provider = Provider.objects.get(name="vastai")
    assert provider.error_count == 1
    assert provider.status == "error"
    failed_run = ProviderSyncRun.objects.filter(provider=provider, is_success=False).get()
    assert failed_run.error_kind == kind


def test_timeout_is_a_retryable_failure(providers_http, breakers):
    def timeout(request):
        raise httpx.ReadTimeout("read timed out", request=request)

    providers_http.override("vultr", timeout)
    result = _sync("vultr", providers_http, breakers)
    assert result.status == "failed"
    assert ProviderSyncRun.objects.get(provider__name="vultr").error_kind == "timeout"
    assert GPUOffer.objects.filter(provider__name="vultr").count() == 0


def test_bad_records_are_skipped_and_counted(providers_http, breakers):
    body = copy.deepcopy(recorded("vastai"))
    total = len(body["offers"])
    del body["offers"][0]["gpu_name"]
    body["offers"][1]["dph_total"] = -1.0
    body["offers"][2]["dph_total"] = 99999.0
    providers_http.body("vastai", body)
    result = _sync("vastai", providers_http, breakers)
    assert result.status == "ok"
    assert result.offers_skipped == 3
    assert GPUOffer.objects.filter(provider__name="vastai").count() == total - 3
    assert ProviderSyncRun.objects.get(provider__name="vastai").offers_skipped == 3


def test_ten_thousand_offers_are_stored_in_one_batch(providers_http, breakers):
    body = copy.deepcopy(recorded("vastai"))
    template = body["offers"]
    body["offers"] = [dict(template[i % len(template)], id=10_000_000 + i) for i in range(10_000)]
    providers_http.body("vastai", body)
    result = _sync("vastai", providers_http, breakers)
    assert result.status == "ok"
    assert result.offers_seen == 10_000
    assert GPUOffer.objects.filter(provider__name="vastai").count() == 10_000
    assert PriceHistory.objects.filter(offer__provider__name="vastai").count() == 10_000


def _staged_rows_read(node):
    """How many rows of the staged batch (`offers_in`) a plan's nodes read, over all loops."""
    own = 0
    if node.get("Relation Name") == "offers_in":
        per_loop = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        own = per_loop * node["Actual Loops"]
    return own + sum(_staged_rows_read(child) for child in node.get("Plans", ()))


def test_gone_offers_are_found_without_rescanning_the_batch_per_offer(providers_http, breakers):
    # Statistics taken while the provider had no offers (as autovacuum leaves them on a fresh
    # database): the planner expects one vastai offer and once put the staged batch on the
    # inner side of a nested loop, reading 10,000 x 5,000 rows (a statement timeout in CI).
    assert _sync("runpod", providers_http, breakers).status == "ok"
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE gpu_offers")
    body = copy.deepcopy(recorded("vastai"))
    template = body["offers"]
    body["offers"] = [dict(template[i % len(template)], id=20_000_000 + i) for i in range(10_000)]
    providers_http.body("vastai", body)
    assert _sync("vastai", providers_http, breakers).status == "ok"
    provider_id = Provider.objects.get(name="vastai").id
    # The sync's savepoint leaves its staged batch in the test's transaction: ask the plan of
    # the same statement over it (nothing is gone, so it changes nothing).
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + GONE_SQL,
            {"provider_id": provider_id, "now": timezone.now()},
        )
        (plan,) = cursor.fetchone()[0]
    assert _staged_rows_read(plan["Plan"]) <= 2 * 10_000
    assert GPUOffer.objects.filter(provider=provider_id, is_stale=True).count() == 0


def test_unresolvable_gpu_is_quarantined_not_dropped(providers_http, breakers):
    body = copy.deepcopy(recorded("vastai"))
    body["offers"][0]["gpu_name"] = "RTX 3060 Laptop"
    providers_http.body("vastai", body)
    result = _sync("vastai", providers_http, breakers)
    offer = GPUOffer.objects.get(provider__name="vastai", external_id=str(body["offers"][0]["id"]))
    assert offer.gpu_model is None
    assert offer.gpu_name_raw == "RTX 3060 Laptop"
    assert "RTX 3060 Laptop" in Provider.objects.get(name="vastai").quarantined_names
    assert result.offers_quarantined >= 1


def test_circuit_opens_after_five_outages_and_stops_calling(providers_http, breakers):
    first = _sync("runpod", providers_http, breakers)
    providers_http.override("runpod", lambda request: httpx.Response(503, text="overloaded"))
    statuses = [_sync("runpod", providers_http, breakers).status for _ in range(5)]
    assert statuses == ["failed"] * 5
    calls_before = len(providers_http.requests)
    sixth = _sync("runpod", providers_http, breakers)
    assert sixth.status == "circuit_open"
    assert len(providers_http.requests) == calls_before
    provider = Provider.objects.get(name="runpod")
    assert provider.breaker_state == "open"
    assert provider.breaker_open_until is not None
    assert provider.status == "circuit_open"
    # The last good offers stay listed while the circuit is open.
    assert GPUOffer.objects.filter(provider=provider).count() == first.offers_seen


def test_bad_credentials_do_not_trip_the_breaker(providers_http, breakers):
    providers_http.override(
        "lambda", lambda request: httpx.Response(401, json={"error": "bad key"})
    )
    for _ in range(6):
        assert _sync("lambda", providers_http, breakers).status == "failed"
    assert breakers.get("lambda").snapshot().state == "closed"


def test_provider_locked_by_another_process_is_skipped(providers_http, breakers):
    params = dict(connection.get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold", "options"):
        params.pop(key, None)
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [_lock_key("vultr")])
        result = _sync("vultr", providers_http, breakers)
        assert result.status == "locked"
        assert providers_http.requests == []
    assert GPUOffer.objects.filter(provider__name="vultr").count() == 0
