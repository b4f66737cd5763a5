"""Listing cache (Redis, 60 s, invalidated by ingestion), Redis down, query budget, DB down."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from apps.providers.cache import listing_cache_invalidate, listing_cache_key
from apps.providers.metrics import LISTING_CACHE_REQUESTS
from apps.providers.models import GPUOffer
from apps.providers.selectors.offers import OfferQuery
from apps.providers.services.sync import provider_sync
from apps.providers.tests.conftest import recorded
from apps.providers.tests.selectors.market import benchmarks_load, offer_make, provider_make
from gpubroker.core.redis import get_redis

pytestmark = pytest.mark.django_db

URL = "/api/v2/providers"


@pytest.fixture
def api() -> Client:
    return Client()


@pytest.fixture
def offer() -> GPUOffer:
    benchmarks_load()
    return offer_make(provider_make("alpha"), "H100 SXM", "2.0000")


def test_second_identical_request_is_served_from_redis_without_queries(
    api, offer, django_assert_num_queries
):
    first = api.get(f"{URL}?gpu=h100&sort=price")
    with django_assert_num_queries(0):
        second = api.get(f"{URL}?sort=price&gpu=H100 ")
    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == "application/json"


def cache_requests(result: str) -> float:
    """`gpubroker_listing_cache_requests_total{result}` of this process."""
    samples = [sample for family in LISTING_CACHE_REQUESTS.collect() for sample in family.samples]
    return next(
        s.value for s in samples if s.name.endswith("_total") and s.labels["result"] == result
    )


def test_the_cache_counts_a_miss_then_a_hit(api, offer):
    before = {result: cache_requests(result) for result in ("hit", "miss")}
    api.get(f"{URL}?gpu=h100&per_page=20")
    assert (cache_requests("miss"), cache_requests("hit")) == (before["miss"] + 1, before["hit"])
    api.get(f"{URL}?per_page=20&gpu=h100")
    assert (cache_requests("miss"), cache_requests("hit")) == (
        before["miss"] + 1,
        before["hit"] + 1,
    )


def test_cache_key_is_the_spec_key_with_a_60_second_ttl(api, offer):
    api.get(f"{URL}?gpu=h100&per_page=10")
    key = listing_cache_key(OfferQuery(gpu="h100", per_page=10).cache_params())
    assert key.startswith("providers:list:")
    assert len(key) == len("providers:list:") + 64
    from django.core.cache import cache

    assert 55 <= get_redis().ttl(cache.make_key(key)) <= 60


def test_different_parameters_miss_the_cache(api, offer, django_assert_num_queries):
    api.get(f"{URL}?gpu=h100")
    with django_assert_num_queries(2):  # providers + page (first page not full: no count)
        body = api.get(f"{URL}?gpu=h100&per_page=50").json()
    assert body["total"] == 1


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ({"model": "mistral-7b"}, {"model": "llama-3.1-70b"}),
        ({"model": "qwen2.5-7b", "precision": "fp8"}, {"model": "qwen2.5-7b", "precision": "int4"}),
        ({"model": "llama-3.1-8b", "precision": "int4"}, {"model": "llama-3.1-8b"}),
    ],
)
def test_each_cost_basis_is_its_own_cached_page(api, offer, first, then):
    # A newcomer got mistral-7b's cost per token for llama-3.1-70b: the key left the basis out.
    cached = api.get(URL, {"gpu": "h100", **first}).json()
    other = api.get(URL, {"gpu": "h100", **then}).json()
    fresh = (listing_cache_invalidate(), api.get(URL, {"gpu": "h100", **then}).json())[1]

    assert other == fresh
    assert other["items"][0]["cost_basis"] != cached["items"][0]["cost_basis"]
    assert other["items"][0]["cost_basis"]["model"] == then["model"]


def test_every_query_parameter_is_in_the_cache_key() -> None:
    fields = OfferQuery.__dataclass_fields__
    base = OfferQuery()
    keys = set()
    for name, field in fields.items():
        value = {"int": 2, "bool": True}.get(str(field.type).split(" | ")[0], "x")
        keys.add(listing_cache_key(OfferQuery(**{name: value}).cache_params()))
    assert listing_cache_key(base.cache_params()) not in keys
    assert len(keys) == len(fields)


def test_cached_page_is_served_until_invalidated(api, offer):
    assert api.get(URL).json()["items"][0]["price_per_hour"] == 2.0
    GPUOffer.objects.filter(pk=offer.pk).update(price_per_hour=Decimal("3.0000"))
    assert api.get(URL).json()["items"][0]["price_per_hour"] == 2.0
    listing_cache_invalidate()
    assert api.get(URL).json()["items"][0]["price_per_hour"] == 3.0


def test_ingested_price_change_shows_on_the_next_request(
    api, providers_http, breakers, django_capture_on_commit_callbacks
):
    def sync():
        with django_capture_on_commit_callbacks(execute=True):
            result = provider_sync(
                provider_name="vastai", client=providers_http.client(), breaker_registry=breakers
            )
        assert result.status == "ok"

    sync()
    body = copy.deepcopy(recorded("vastai"))
    target = body["offers"][3]
    offer = GPUOffer.objects.get(provider__name="vastai", external_id=str(target["id"]))
    url = f"{URL}?provider=vastai&gpu={offer.gpu_type}&per_page=100"
    before = {item["id"]: item["price_per_hour"] for item in api.get(url).json()["items"]}
    assert before[str(offer.id)] == float(offer.price_per_hour)

    target["dph_total"] = float(offer.price_per_hour) + 0.25
    providers_http.body("vastai", body)
    sync()
    after = {item["id"]: item["price_per_hour"] for item in api.get(url).json()["items"]}
    assert after[str(offer.id)] == float(offer.price_per_hour + Decimal("0.25"))
    assert {k: v for k, v in after.items() if k != str(offer.id)} == {
        k: v for k, v in before.items() if k != str(offer.id)
    }


def test_redis_down_serves_from_postgresql_with_a_warning(api, offer, settings, json_logs):
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    for _ in range(2):
        response = api.get(f"{URL}?gpu=h100")
        assert response.status_code == 200
        assert response.json()["total"] == 1
    warnings = [r["message"] for r in json_logs.records if r["level"] == "WARNING"]
    assert any(m.startswith("listing cache read failed, serving from PostgreSQL") for m in warnings)


def test_query_budget_does_not_grow_with_the_page_or_the_data(
    api, offer, django_assert_max_num_queries
):
    provider = offer.provider
    for index in range(150):
        offer_make(provider, "RTX 4090" if index % 2 else "H100 SXM", f"{1 + index / 100:.4f}")
    # providers + GPU KPI map (first use in this process after the reset) + page + count
    with django_assert_max_num_queries(4):
        body = api.get(f"{URL}?per_page=100&page=2&sort=cost_per_token").json()
    assert body["total"] == 151
    assert len(body["items"]) == 51
    with django_assert_max_num_queries(3):
        body = api.get(f"{URL}?per_page=100&sort=-price&gpu=4090").json()
    assert body["total"] == 75


def test_count_is_cached_per_filter_set_across_pages_and_sorts(
    api, offer, django_assert_num_queries
):
    for index in range(30):
        offer_make(offer.provider, "H100 SXM", f"{1 + index / 100:.4f}")
    api.get(f"{URL}?gpu=h100&per_page=10")
    with django_assert_num_queries(2):  # providers + page: the count comes from Redis
        body = api.get(f"{URL}?gpu=h100&per_page=10&page=2&sort=-price").json()
    assert body["total"] == 31


@pytest.mark.django_db(transaction=True)
def test_database_down_is_a_503_envelope(api):
    connection.close()
    real_port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = 1
    try:
        response = api.get(f"{URL}?gpu=h100")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["detail"] == "Database not available"
