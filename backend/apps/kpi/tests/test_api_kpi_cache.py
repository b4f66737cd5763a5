"""KPI answers are cached beside the listing's pages and dropped with them by ingestion."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from apps.kpi import schemas
from apps.kpi.selectors import kpi_overview
from apps.providers.cache import listing_cache_invalidate
from apps.providers.models import GPUOffer
from apps.providers.tests.selectors.market import provider_make

pytestmark = pytest.mark.django_db

URL = "/api/v2/kpi"
ROUTES = [
    "/overview",
    "/insights/market",
    "/gpu/H100 SXM",
    "/gpu/h100?provider=alpha",
    "/provider/alpha",
]


@pytest.mark.parametrize("route", ROUTES)
def test_a_repeated_kpi_request_is_served_from_redis_without_queries(
    api, offer, route, django_assert_num_queries
):
    first = api.get(URL + route)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        second = api.get(URL + route)
    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == "application/json"


def test_the_cached_body_is_what_ninja_would_render(api, offer):
    body = api.get(f"{URL}/overview").json()
    expected = schemas.OverviewOut.model_validate(kpi_overview()).model_dump(mode="json")
    assert set(body) == set(expected)
    assert body["total_offers"] == expected["total_offers"] == 1
    assert body["avg_price_per_hour"] == expected["avg_price_per_hour"] == 2.0
    # Datetimes as Ninja writes them (isoformat), not pydantic's "Z" form.
    assert "T" in body["generated_at"]
    assert json.loads(api.get(f"{URL}/overview").content) == body


def test_kpis_are_cached_until_ingestion_invalidates_the_listing(api, offer):
    assert api.get(f"{URL}/overview").json()["avg_price_per_hour"] == 2.0
    GPUOffer.objects.filter(pk=offer.pk).update(price_per_hour=Decimal("3.0000"))
    assert api.get(f"{URL}/overview").json()["avg_price_per_hour"] == 2.0
    listing_cache_invalidate()
    assert api.get(f"{URL}/overview").json()["avg_price_per_hour"] == 3.0


@pytest.mark.parametrize("route", ["/gpu/NoSuchGPU", "/provider/nobody"])
def test_not_found_is_not_cached(api, offer, route):
    assert api.get(URL + route).status_code == 404
    provider_make("nobody")
    if route.startswith("/provider"):
        assert api.get(URL + route).status_code == 200
    else:
        assert api.get(URL + route).json()["error"]["code"] == "NOT_FOUND"
