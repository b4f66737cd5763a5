"""The providers' console: sync now, disable/enable (honoured by ingestion and the listing),
the quarantine view, offer search and filters, the bounded price-history inline, audit rows."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.utils import timezone

from apps.auth_app.audit import audit_chain_verify
from apps.auth_app.models import AuditLog, User
from apps.providers.models import GPUOffer, PriceHistory, Provider, ProviderSyncRun
from apps.providers.services import sync as sync_service
from apps.providers.services.providers import providers_disable
from apps.providers.services.sync import provider_sync
from apps.providers.services.sync_write import sync_failure_record

pytestmark = pytest.mark.django_db

PROVIDERS_URL = "/admin/providers/provider/"
OFFERS_URL = "/admin/providers/gpuoffer/"


def _action(client, action: str, *providers: Provider, capture=None):
    data = {"action": action, "_selected_action": [str(p.pk) for p in providers]}
    if capture is None:
        return client.post(PROVIDERS_URL, data, follow=True)
    with capture(execute=True):
        return client.post(PROVIDERS_URL, data, follow=True)


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _operator() -> User:
    return User.objects.get(email="root@example.com")


@pytest.fixture
def lambda_synced(specs) -> Provider:
    assert provider_sync(provider_name="lambda").status == "ok"
    return Provider.objects.get(name="lambda")


def test_sync_now_runs_the_real_sync_and_records_who_ran_it(staff_client):
    provider = Provider.objects.create(name="lambda", display_name="Lambda")
    response = _action(staff_client, "sync_now", provider)
    assert response.status_code == 200
    stored = GPUOffer.objects.filter(provider=provider).count()
    assert stored > 0
    [message] = _messages(response)
    assert message.startswith(f"lambda: synced, {stored} offers seen ({stored} new")
    run = ProviderSyncRun.objects.get(provider=provider)
    assert run.is_success is True
    audit = AuditLog.objects.get(action="admin.provider_sync")
    assert audit.user_id == _operator().pk
    assert (audit.resource_type, audit.resource_id) == ("providers.provider", str(provider.pk))
    assert audit.details["status"] == "ok"
    assert audit.details["offers_seen"] == stored
    assert audit.details["message"] == message
    assert audit.ip_address == "127.0.0.1"
    entry = LogEntry.objects.get(object_id=str(provider.pk))
    assert entry.user_id == _operator().pk
    assert entry.get_change_message() == message
    assert audit_chain_verify().is_intact


def test_sync_now_reports_a_provider_failure(staff_client, monkeypatch, providers_http):
    providers_http.body("lambda", {"error": "maintenance"}, status=503)
    monkeypatch.setattr(sync_service, "provider_http_client", providers_http.client)
    provider = Provider.objects.create(name="lambda", display_name="Lambda")
    response = _action(staff_client, "sync_now", provider)
    [message] = _messages(response)
    assert message.startswith("lambda: failed: ")
    assert GPUOffer.objects.count() == 0
    assert AuditLog.objects.get(action="admin.provider_sync").details["status"] == "failed"


def test_sync_now_names_a_provider_without_adapter(staff_client):
    ghost = Provider.objects.create(name="ghostcloud", display_name="Ghost")
    response = _action(staff_client, "sync_now", ghost)
    assert _messages(response) == [
        "ghostcloud: no adapter is registered under this name; nothing to sync"
    ]
    assert AuditLog.objects.get(action="admin.provider_sync").details["status"] == (
        "unknown_provider"
    )


def test_disable_hides_offers_and_ingestion_skips_the_provider(
    staff_client,
    client,
    lambda_synced,
    providers_http,
    breakers,
    django_capture_on_commit_callbacks,
    json_logs,
):
    offer = GPUOffer.objects.filter(provider=lambda_synced, gpu_model__isnull=False).first()
    listed = client.get("/api/v2/providers?provider=lambda").json()
    assert listed["total"] > 0  # now cached for the listing TTL

    response = _action(
        staff_client, "disable", lambda_synced, capture=django_capture_on_commit_callbacks
    )
    assert _messages(response) == ["Disabled lambda"]
    lambda_synced.refresh_from_db()
    assert lambda_synced.status == "disabled"

    hidden = client.get("/api/v2/providers?provider=lambda").json()
    assert hidden["total"] == 0
    assert hidden["items"] == []
    assert hidden["warnings"] == ["lambda: disabled by an operator; its offers are not listed"]
    everything = client.get("/api/v2/providers?per_page=100").json()
    assert all(item["provider"] != "lambda" for item in everything["items"])
    assert client.get(f"/api/v2/providers/offers/{offer.pk}").status_code == 404

    runs_before = ProviderSyncRun.objects.count()
    result = provider_sync(
        provider_name="lambda", client=providers_http.client(), breaker_registry=breakers
    )
    assert result.status == "disabled"
    assert providers_http.requests == []  # nothing reached the provider
    assert ProviderSyncRun.objects.count() == runs_before
    lambda_synced.refresh_from_db()
    assert lambda_synced.status == "disabled"
    assert any(
        record["message"] == "provider sync skipped: disabled by an operator"
        and record["provider"] == "lambda"
        for record in json_logs.records
    )
    audit = AuditLog.objects.get(action="admin.provider_disable")
    assert (audit.user_id, audit.resource_id) == (_operator().pk, str(lambda_synced.pk))


def test_enable_lists_the_offers_again_and_ingestion_syncs_it(
    staff_client,
    client,
    lambda_synced,
    providers_http,
    breakers,
    django_capture_on_commit_callbacks,
):
    providers_disable(providers=[lambda_synced])
    response = _action(
        staff_client, "enable", lambda_synced, capture=django_capture_on_commit_callbacks
    )
    assert _messages(response) == ["Enabled lambda"]
    lambda_synced.refresh_from_db()
    assert lambda_synced.status == "active"
    assert client.get("/api/v2/providers?provider=lambda").json()["total"] > 0
    result = provider_sync(
        provider_name="lambda", client=providers_http.client(), breaker_registry=breakers
    )
    assert result.status == "ok"
    assert providers_http.requests
    assert AuditLog.objects.filter(action="admin.provider_enable").count() == 1


def test_disable_and_enable_change_only_what_needs_changing(staff_client, lambda_synced):
    other = Provider.objects.create(name="ghostcloud", display_name="Ghost")
    providers_disable(providers=[other])
    response = _action(staff_client, "disable", lambda_synced, other)
    assert _messages(response) == ["Disabled lambda"]
    assert AuditLog.objects.filter(action="admin.provider_disable").count() == 1
    response = _action(staff_client, "enable", lambda_synced)
    assert _messages(response) == ["Enabled lambda"]
    other.refresh_from_db()
    assert other.status == "disabled"


def test_a_sync_that_ends_after_the_provider_was_disabled_keeps_it_disabled(lambda_synced):
    stale_copy = Provider.objects.get(pk=lambda_synced.pk)  # read before the operator acted
    providers_disable(providers=[lambda_synced])
    sync_failure_record(
        provider=stale_copy,
        kind="server_error",
        message="HTTP 503",
        fetch_latency_ms=12.0,
        now=timezone.now(),
    )
    lambda_synced.refresh_from_db()
    assert lambda_synced.status == "disabled"
    assert lambda_synced.error_count == 1


def test_an_ongoing_successful_sync_keeps_the_provider_disabled(
    lambda_synced, monkeypatch, providers_http, breakers
):
    """The operator disables the provider while its fetch is in flight."""
    fetch = sync_service._fetch

    def disabled_during_fetch(adapter_class, **kwargs):
        Provider.objects.filter(pk=lambda_synced.pk).update(status="disabled")
        return fetch(adapter_class, **kwargs)

    monkeypatch.setattr(sync_service, "_fetch", disabled_during_fetch)
    result = provider_sync(
        provider_name="lambda", client=providers_http.client(), breaker_registry=breakers
    )
    assert result.status == "ok"
    lambda_synced.refresh_from_db()
    assert lambda_synced.status == "disabled"
    assert lambda_synced.last_success_at is not None


def test_the_provider_list_and_page_show_health_and_offer_counts(staff_client, lambda_synced):
    # Every GPU of the Lambda recording resolves; quarantine one as an unknown name would be.
    first = GPUOffer.objects.filter(provider=lambda_synced).order_by("pk").first()
    assert first is not None
    GPUOffer.objects.filter(pk=first.pk).update(gpu_model=None)
    total = GPUOffer.objects.filter(provider=lambda_synced).count()
    quarantined = GPUOffer.objects.filter(provider=lambda_synced, gpu_model__isnull=True).count()
    GPUOffer.objects.filter(provider=lambda_synced).filter(
        pk__in=GPUOffer.objects.filter(provider=lambda_synced).values("pk")[:2]
    ).update(availability_status="unavailable")
    assert quarantined > 0
    page = staff_client.get(PROVIDERS_URL).content.decode()
    assert f'<td class="field-offers_last_sync">{total}</td>' in page
    assert f'<td class="field-quarantined_count">{quarantined}</td>' in page
    assert '<td class="field-breaker_state">closed</td>' in page
    detail = staff_client.get(f"{PROVIDERS_URL}{lambda_synced.pk}/change/").content.decode()
    assert f'<div class="readonly">{total}</div>' in detail
    available = (
        GPUOffer.objects.filter(provider=lambda_synced)
        .exclude(availability_status="unavailable")
        .count()
    )
    assert available < total
    assert f'<div class="readonly">{available}</div>' in detail


def test_editing_a_provider_is_audited(staff_client, lambda_synced):
    url = f"{PROVIDERS_URL}{lambda_synced.pk}/change/"
    runs = ProviderSyncRun.objects.filter(provider=lambda_synced).count()
    response = staff_client.post(
        url,
        {
            "display_name": "Lambda Cloud",
            "sync_interval_seconds": "900",
            "website_url": "",
            "api_base_url": "",
            "documentation_url": "",
            "supported_regions": "",
            "compliance_tags": "soc2",
            "reliability_score": "",
            "sync_runs-TOTAL_FORMS": str(runs),
            "sync_runs-INITIAL_FORMS": str(runs),
            "sync_runs-MIN_NUM_FORMS": "0",
            "sync_runs-MAX_NUM_FORMS": "0",
            **{
                f"sync_runs-{index}-id": str(run_id)
                for index, run_id in enumerate(
                    ProviderSyncRun.objects.filter(provider=lambda_synced)
                    .order_by("-id")
                    .values_list("id", flat=True)
                )
            },
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    lambda_synced.refresh_from_db()
    assert (lambda_synced.sync_interval_seconds, lambda_synced.compliance_tags) == (900, ["soc2"])
    audit = AuditLog.objects.get(action="admin.change")
    assert audit.resource_type == "providers.provider"
    assert audit.user_id == _operator().pk
    assert "Sync interval (s)" in audit.details["message"]
    assert "900" not in audit.details["message"]  # field names, never values


def test_providers_cannot_be_added_or_deleted(staff_client, lambda_synced):
    assert staff_client.get(f"{PROVIDERS_URL}add/").status_code == 403
    assert (
        staff_client.post(f"{PROVIDERS_URL}{lambda_synced.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Provider.objects.filter(pk=lambda_synced.pk).exists()


def _quarantined(provider: Provider, external_id: str, raw: str, **fields) -> GPUOffer:
    return GPUOffer.objects.create(
        provider=provider,
        external_id=external_id,
        gpu_type=raw,
        gpu_name_raw=raw,
        gpu_memory_gb=fields.pop("gpu_memory_gb", 48),
        price_per_hour=Decimal("1.2"),
        region="us-east-1",
        last_seen_at=timezone.now(),
        **fields,
    )


def test_the_quarantine_view_lists_each_unknown_name_with_its_provider_and_count(staff_client):
    lambda_ = Provider.objects.create(name="lambda", display_name="Lambda")
    runpod = Provider.objects.create(name="runpod", display_name="RunPod")
    for index in range(3):
        _quarantined(lambda_, f"q{index}", "Mystery Accelerator X9")
    _quarantined(lambda_, "q9", "Mystery Accelerator X9", availability_status="unavailable")
    _quarantined(runpod, "r1", "Mystery Accelerator X9")
    _quarantined(runpod, "r2", "Quantum Tile 7", gpu_memory_gb=96)
    GPUOffer.objects.create(
        provider=runpod,
        external_id="listed",
        gpu_type="H100 SXM",
        gpu_model="H100 SXM",
        gpu_name_raw="H100 SXM",
        gpu_memory_gb=80,
        price_per_hour=Decimal("2"),
        region="us",
    )
    page = staff_client.get("/admin/providers/quarantinedgpuname/").content.decode()
    rows = page.split('<tr data-provider="')[1:]
    assert [row.split('"')[0] for row in rows] == ["lambda", "runpod", "runpod"]
    assert 'data-name="Mystery Accelerator X9"' in rows[0]
    assert '<td data-count="offers">4</td>' in rows[0]
    assert "<td>3</td>" in rows[0]  # available
    assert "no_match: no catalogue GPU has this name" in rows[0]  # why, for the operator
    assert 'data-name="H100 SXM"' not in page
    only_runpod = staff_client.get(f"/admin/providers/quarantinedgpuname/?provider={runpod.pk}")
    assert only_runpod.content.decode().count('<tr data-provider="runpod"') == 2
    assert 'data-provider="lambda"' not in only_runpod.content.decode()
    offers_link = f"provider__id__exact={lambda_.pk}&amp;quarantined=yes"
    assert offers_link in rows[0]


def test_the_quarantine_view_says_when_nothing_is_quarantined(staff_client):
    page = staff_client.get("/admin/providers/quarantinedgpuname/").content.decode()
    assert 'data-empty="quarantine"' in page


def _listed_ids(page: str) -> list[str]:
    return re.findall(r'<th class="field-external_id"><a [^>]*>([^<]*)</a></th>', page)


@pytest.fixture
def offers_to_search(specs) -> None:
    vast = Provider.objects.create(name="vastai", display_name="Vast.ai")
    lambda_ = Provider.objects.create(name="lambda", display_name="Lambda")
    rows = [
        (vast, "v-100", "H100 SXM", "us-east-1"),
        (vast, "v-200", "RTX 4090", "Quebec, CA"),
        (lambda_, "l-300", "A100 SXM 80GB", "us-west-2"),
        (lambda_, "l-400", "H100 PCIe", "eu-central-1"),
    ]
    for provider, external_id, gpu, region in rows:
        GPUOffer.objects.create(
            provider=provider,
            external_id=external_id,
            gpu_type=gpu,
            gpu_model=gpu,
            gpu_name_raw=f"NVIDIA {gpu}",
            gpu_memory_gb=80,
            price_per_hour=Decimal("2"),
            region=region,
            is_stale=external_id == "l-400",
        )
    _quarantined(lambda_, "l-500", "Mystery Accelerator X9")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("h100", ["l-400", "v-100"]),
        ("nvidia 4090", ["v-200"]),
        ("vast", ["v-100", "v-200"]),
        ("quebec", ["v-200"]),
        ("L-300", ["l-300"]),
        ("lambda h100", ["l-400"]),
        ('"eu-central"', ["l-400"]),
        ("nothing-like-this", []),
    ],
)
def test_offer_search_matches_gpu_provider_region_and_external_id(
    staff_client, offers_to_search, query, expected
):
    response = staff_client.get(OFFERS_URL, {"q": query})
    assert response.status_code == 200
    assert sorted(_listed_ids(response.content.decode())) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"quarantined": "yes"}, ["l-500"]),
        ({"quarantined": "no", "is_stale__exact": "1"}, ["l-400"]),
        ({"availability_status__exact": "available", "q": "vast"}, ["v-100", "v-200"]),
    ],
)
def test_offer_filters(staff_client, offers_to_search, params, expected):
    response = staff_client.get(OFFERS_URL, params)
    assert response.status_code == 200
    assert sorted(_listed_ids(response.content.decode())) == expected


def test_offers_are_read_only(staff_client, offers_to_search):
    offer = GPUOffer.objects.get(external_id="v-100")
    assert staff_client.get(f"{OFFERS_URL}add/").status_code == 403
    response = staff_client.post(f"{OFFERS_URL}{offer.pk}/change/", {"price_per_hour": "0.01"})
    assert response.status_code == 403
    assert staff_client.post(f"{OFFERS_URL}{offer.pk}/delete/", {"post": "yes"}).status_code == 403
    offer.refresh_from_db()
    assert offer.price_per_hour == Decimal("2")


def test_the_offer_page_shows_only_the_latest_price_history(staff_client, offers_to_search):
    offer = GPUOffer.objects.get(external_id="v-100")
    start = timezone.now() - timedelta(days=30)
    PriceHistory.objects.bulk_create(
        PriceHistory(
            offer=offer,
            price_per_hour=Decimal("1.0000") + Decimal(index) / 100,
            availability_status="available",
            recorded_at=start + timedelta(hours=index),
        )
        for index in range(25)
    )
    page = staff_client.get(f"{OFFERS_URL}{offer.pk}/change/").content.decode()
    assert "1.2400" in page  # the newest
    assert "1.0500" in page  # the 20th newest
    assert "1.0400" not in page  # older ones are one link away
    assert f"/admin/providers/pricehistory/?offer={offer.pk}" in page
    full = staff_client.get("/admin/providers/pricehistory/", {"offer": offer.pk})
    assert full.status_code == 200
    assert full.content.decode().count('<td class="field-price_per_hour">') == 25


def test_the_offer_search_can_be_answered_from_its_trigram_index(staff_client, offers_to_search):
    from django.contrib import admin
    from django.db import connection, transaction
    from django.test import RequestFactory

    model_admin = admin.site._registry[GPUOffer]
    found, _ = model_admin.get_search_results(
        RequestFactory().get("/"), GPUOffer.objects.all(), "h100 us-east"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = found.explain()
    assert "offers_search_trgm" in plan
