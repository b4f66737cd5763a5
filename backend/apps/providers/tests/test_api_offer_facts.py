"""Issue 12 through the read API: places, spot prices, prices per GPU and the time a price was
true, in the listing, one offer, its history and /providers/status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.providers.models import GPUOffer, PriceHistory, ProviderSyncRun
from apps.providers.tests.selectors.market import benchmarks_load, offer_make, provider_make

pytestmark = pytest.mark.django_db

URL = "/api/v2/providers"
LIST_DATE = datetime(2024, 7, 28, tzinfo=UTC)  # the CoreWeave list of the issue


@pytest.fixture
def api() -> Client:
    return Client()


@pytest.fixture
def market() -> dict[str, GPUOffer]:
    benchmarks_load()
    now = timezone.now()
    vast = provider_make("vastai")
    runpod = provider_make("runpod")
    tensordock = provider_make("tensordock")
    coreweave = provider_make("coreweave", price_source="manual")
    fresh = now - timedelta(seconds=60)
    return {
        "ca": offer_make(
            vast,
            "H100 SXM",
            "2.0000",
            region="California, US",
            provider_region="California, US",
            country="US",
            state="California",
            macro_region="North America",
            spot_price_per_hour=Decimal("1.5000"),
            price_as_of=fresh,
        ),
        "la": offer_make(
            tensordock,
            "RTX 4090",
            "4.0000",
            gpu_count=8,
            region="Los Angeles, California",
            provider_region="Los Angeles, California",
            country="US",
            state="California",
            city="Los Angeles",
            macro_region="North America",
            price_as_of=fresh,
        ),
        "si": offer_make(
            vast,
            "RTX 4090",
            "0.3000",
            region="Slovenia, SI",
            provider_region="Slovenia, SI",
            country="SI",
            macro_region="Europe",
            price_as_of=fresh,
        ),
        "tx": offer_make(
            runpod,
            "H100 SXM",
            "19.1200",
            gpu_count=8,
            region="US-TX-3",
            provider_region="US-TX-3",
            country="US",
            state="Texas",
            city="Dallas",
            macro_region="North America",
            spot_price_per_hour=Decimal("12.4000"),
            price_as_of=fresh,
        ),
        "cw": offer_make(
            coreweave,
            "H100 SXM",
            "49.2400",
            gpu_count=8,
            region="US-EAST-04",
            provider_region="US-EAST-04",
            country="US",
            macro_region="North America",
            price_as_of=LIST_DATE,
        ),
        "global": offer_make(runpod, "RTX 4090", "0.6900", region="global", country=None),
    }


def ids(api: Client, query: str) -> list[str]:
    response = api.get(f"{URL}?{query}&per_page=100")
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def labels(market: dict[str, GPUOffer], *names: str) -> list[str]:
    return [str(market[name].id) for name in names]


# ---- kind 8: the region filter ----

REGION_QUERIES = [
    ("California", {"ca", "la"}),  # the example: a state, two spellings of it
    ("california", {"ca", "la"}),
    ("Los Angeles", {"la"}),
    ("SI", {"si"}),  # kind 2's example: an ISO code
    ("Slovenia", {"si"}),
    ("SVN", {"si"}),
    ("Europe", {"si"}),
    ("North America", {"ca", "la", "tx", "cw"}),
    ("US", {"ca", "la", "tx", "cw"}),
    ("United States", {"ca", "la", "tx", "cw"}),
    ("Texas", {"tx"}),
    ("Dallas", {"tx"}),
    ("US-TX-3", {"tx"}),  # the provider's own id
    ("us-east-04", {"cw"}),
    ("global", {"global"}),  # v1's region column as before
    ("Narnia", set()),
]


@pytest.mark.parametrize(("region", "expected"), REGION_QUERIES)
def test_region_filter_accepts_country_macro_region_state_city_or_provider_id(
    api, market, region, expected
):
    assert set(ids(api, f"region={region}")) == {str(market[name].id) for name in expected}


# ---- kind 9: spot ----


def test_spot_offers_are_listed_filterable_and_sortable(api, market):
    assert set(ids(api, "spot=true")) == set(labels(market, "ca", "tx"))
    assert set(ids(api, "spot=false")) == set(labels(market, "la", "si", "cw", "global"))
    assert ids(api, "sort=spot_price")[:2] == labels(market, "ca", "tx")
    # Per GPU: ca 1.50 / 1 = 1.50, tx 12.40 / 8 = 1.55.
    assert ids(api, "sort=spot_price_per_gpu")[:2] == labels(market, "ca", "tx")
    item = next(i for i in api.get(f"{URL}?spot=true&sort=spot_price").json()["items"])
    assert (item["spot"], item["spot_price_per_hour"], item["spot_price_per_gpu_hour"]) == (
        True,
        1.5,
        1.5,
    )
    runpod = api.get(f"{URL}?region=US-TX-3").json()["items"][0]
    assert (runpod["spot_price_per_hour"], runpod["spot_price_per_gpu_hour"]) == (12.4, 1.55)


# ---- kind 10: price per GPU ----


def test_listing_sorts_and_filters_by_price_per_gpu(api, market):
    # Per GPU-hour: si 0.30, la 0.50, global 0.69, ca 2.00, tx 2.39, cw 6.155.
    assert ids(api, "sort=price_per_gpu") == labels(market, "si", "la", "global", "ca", "tx", "cw")
    assert ids(api, "sort=-price_per_gpu") == labels(market, "cw", "tx", "ca", "global", "la", "si")
    # Instance prices rank the 8-GPU TensorDock offer (4.00) above the 1-GPU H100 (2.00).
    assert ids(api, "sort=price")[:4] == labels(market, "si", "global", "ca", "la")
    assert set(ids(api, "price_per_gpu_max=1")) == set(labels(market, "si", "la", "global"))
    assert set(ids(api, "price_per_gpu_min=2.39&price_per_gpu_max=2.39")) == set(
        labels(market, "tx")
    )
    item = api.get(f"{URL}?region=US-TX-3").json()["items"][0]
    assert (item["price_per_hour"], item["price_per_gpu_hour"]) == (19.12, 2.39)


@pytest.mark.parametrize(
    "query",
    ["price_per_gpu_min=2&price_per_gpu_max=1", "price_per_gpu_min=-1", "sort=price_per_token"],
)
def test_bad_per_gpu_parameters_are_422(api, market, query):
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


# ---- kind 5: the time a price was true ----


def test_dated_manual_price_is_stale_and_shows_its_date(api, market):
    items = {item["id"]: item for item in api.get(f"{URL}?per_page=100").json()["items"]}
    coreweave = items[str(market["cw"].id)]
    assert coreweave["stale"] is True
    assert datetime.fromisoformat(coreweave["price_as_of"]) == LIST_DATE
    vast = items[str(market["ca"].id)]
    assert vast["stale"] is False
    assert abs(datetime.fromisoformat(vast["price_as_of"]) - market["ca"].price_as_of) < timedelta(
        milliseconds=1
    )


@pytest.mark.parametrize(
    ("provider", "age", "stale"),
    [
        ("vastai", timedelta(minutes=29), False),  # marketplaces: 30 minutes
        ("vastai", timedelta(minutes=31), True),
        ("coreweave", timedelta(days=29), False),  # manual lists: 30 days
        ("coreweave", timedelta(days=31), True),
    ],
)
def test_a_price_is_stale_past_its_providers_budget(api, market, provider, age, stale):
    offer = market["ca"] if provider == "vastai" else market["cw"]
    GPUOffer.objects.filter(pk=offer.pk).update(price_as_of=timezone.now() - age)

    item = api.get(f"{URL}/offers/{offer.id}").json()

    assert item["stale"] is stale


def test_the_budget_is_a_setting_per_provider(api, market, settings):
    settings.PROVIDER_PRICE_MAX_AGE_SECONDS = {"coreweave": 10 * 365 * 24 * 3600}

    item = api.get(f"{URL}/offers/{market['cw'].id}").json()

    assert item["stale"] is False
    assert item["provider_freshness"]["price_max_age_seconds"] == 10 * 365 * 24 * 3600


def test_offer_detail_carries_the_place_and_prices(api, market):
    body = api.get(f"{URL}/offers/{market['la'].id}").json()

    assert {key: body[key] for key in ("country", "state", "city", "macro_region")} == {
        "country": "US",
        "state": "California",
        "city": "Los Angeles",
        "macro_region": "North America",
    }
    assert body["provider_region"] == "Los Angeles, California"
    assert (body["price_per_hour"], body["price_per_gpu_hour"]) == (4.0, 0.5)
    as_of = market["la"].price_as_of
    assert datetime.fromisoformat(body["price_as_of"]) == as_of.replace(
        microsecond=as_of.microsecond // 1000 * 1000
    )  # JSON carries milliseconds


def test_status_shows_price_dates_budgets_and_last_skips(api, market):
    ProviderSyncRun.objects.create(
        provider=market["ca"].provider,
        is_success=True,
        offers_seen=2,
        offers_skipped=1,
        elements_skipped=2,
        skip_reasons={"empty element in locations": 2, "missing field 'gpu_name'": 1},
    )

    rows = {row["name"]: row for row in api.get(f"{URL}/status").json()}

    coreweave = rows["coreweave"]
    assert datetime.fromisoformat(coreweave["oldest_price_as_of"]) == LIST_DATE
    assert coreweave["price_max_age_seconds"] == 30 * 24 * 3600
    assert coreweave["last_sync"] is None
    vast = rows["vastai"]
    assert vast["price_max_age_seconds"] == 30 * 60
    assert vast["last_sync"]["elements_skipped"] == 2
    assert vast["last_sync"]["offers_skipped"] == 1
    assert vast["last_sync"]["skip_reasons"] == {
        "empty element in locations": 2,
        "missing field 'gpu_name'": 1,
    }


def test_history_has_spot_points_and_statistics(api, market):
    offer = market["tx"]
    now = timezone.now()
    rows: list[tuple[int, str, Any]] = [
        (3, "19.1200", "12.4000"),
        (2, "19.1200", "11.2000"),
        (1, "20.0000", None),
    ]
    for hours_ago, price, spot in rows:
        PriceHistory.objects.create(
            offer=offer,
            price_per_hour=Decimal(price),
            spot_price_per_hour=None if spot is None else Decimal(spot),
            availability_status="available",
            recorded_at=now - timedelta(hours=hours_ago),
        )

    body = api.get(f"{URL}/offers/{offer.id}/history?window=24h").json()

    assert [point["spot_price_per_hour"] for point in body["points"]] == [12.4, 11.2, None]
    assert body["spot_statistics"]["count"] == 2
    assert body["spot_statistics"]["min"] == 11.2
    assert body["statistics"]["count"] == 3
