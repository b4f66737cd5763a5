"""Stale flags and warnings of the listing: provider sync age, breaker, offers gone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.providers.models import GPUOffer, Provider
from apps.providers.tests.selectors.market import offer_make, provider_make

pytestmark = pytest.mark.django_db

URL = "/api/v2/providers"


@pytest.fixture
def api() -> Client:
    return Client()


@pytest.fixture
def offers() -> dict[str, GPUOffer]:
    alpha, beta = provider_make("alpha"), provider_make("beta")
    return {"a": offer_make(alpha, price="1.0000"), "b": offer_make(beta, price="2.0000")}


def _stale_by_provider(body) -> dict[str, bool]:
    return {item["provider"]: item["stale"] for item in body["items"]}


def test_fresh_data_has_no_warnings_key_and_nothing_stale(api, offers):
    body = api.get(URL).json()
    assert "warnings" not in body
    assert _stale_by_provider(body) == {"alpha": False, "beta": False}


def test_sync_older_than_two_intervals_makes_offers_stale_with_a_warning(api, offers):
    last = timezone.now() - timedelta(seconds=601)
    Provider.objects.filter(name="alpha").update(last_success_at=last)
    body = api.get(URL).json()
    assert _stale_by_provider(body) == {"alpha": True, "beta": False}
    assert body["warnings"] == [
        f"alpha: offers are stale (last successful sync {last.isoformat()}, expected every 300 s)"
    ]


def test_sync_within_two_intervals_is_fresh(api, offers):
    Provider.objects.filter(name="alpha").update(
        last_success_at=timezone.now() - timedelta(seconds=590)
    )
    assert _stale_by_provider(api.get(URL).json()) == {"alpha": False, "beta": False}


def test_open_breaker_marks_provider_down_and_its_offers_stale(api, offers):
    Provider.objects.filter(name="beta").update(status="circuit_open", breaker_state="open")
    body = api.get(URL).json()
    assert _stale_by_provider(body) == {"alpha": False, "beta": True}
    assert body["warnings"] == [
        "beta: provider is down (status circuit_open, circuit breaker open); "
        "its offers are the last known ones"
    ]


def test_failed_last_sync_warns_down_but_recent_offers_stay_fresh(api, offers):
    Provider.objects.filter(name="beta").update(status="error", error_count=2)
    body = api.get(URL).json()
    assert _stale_by_provider(body) == {"alpha": False, "beta": False}
    assert body["warnings"][0].startswith("beta: provider is down (status error")


def test_never_synced_provider_is_stale(api, offers):
    Provider.objects.filter(name="alpha").update(last_success_at=None)
    body = api.get(URL).json()
    assert _stale_by_provider(body)["alpha"] is True
    assert body["warnings"] == ["alpha: no successful sync yet; offers may be missing or outdated"]


def test_offer_gone_from_last_sync_is_stale_without_provider_warning(api, offers):
    GPUOffer.objects.filter(pk=offers["a"].pk).update(is_stale=True)
    body = api.get(URL).json()
    assert _stale_by_provider(body) == {"alpha": True, "beta": False}
    assert "warnings" not in body


def test_provider_filter_limits_warnings_to_that_provider(api, offers):
    Provider.objects.filter(name="alpha").update(last_success_at=None)
    body = api.get(f"{URL}?provider=beta").json()
    assert "warnings" not in body
    assert _stale_by_provider(body) == {"beta": False}
