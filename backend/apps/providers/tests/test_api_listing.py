"""GET /api/v2/providers against real PostgreSQL and Redis: filters, sorts, pages, items."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.gpus.kpis import CostBasis, offer_kpis, serving_table
from apps.providers.models import GPUOffer
from apps.providers.tests.selectors.market import (
    benchmarks_load,
    offer_make,
    provider_make,
    serving_tokens_per_second,
)

pytestmark = pytest.mark.django_db

URL = "/api/v2/providers"


@pytest.fixture
def api() -> Client:
    return Client()


@pytest.fixture
def market() -> dict[str, GPUOffer]:
    benchmarks_load()
    alpha, beta, gamma = provider_make("alpha"), provider_make("beta"), provider_make("gamma")
    return {
        "o1": offer_make(
            alpha,
            "H100 SXM",
            "2.0000",
            external_id="o1",
            gpu_name_raw="NVIDIA H100 80GB HBM3",
            compliance_tags=["soc2"],
        ),
        "o2": offer_make(
            alpha,
            "H100 PCIe",
            "1.5000",
            external_id="o2",
            gpu_name_raw="H100 PCIe",
            gpu_count=2,
            region="eu-west-1",
            country="DE",
            availability_status="limited",
            compliance_tags=["soc2", "gdpr"],
            spot_pricing=True,
        ),
        "o3": offer_make(
            beta,
            "RTX 4090",
            "0.4000",
            external_id="o3",
            gpu_name_raw="GeForce RTX 4090",
            gpu_memory_gb=24,
            region="Oregon, US",
            spot_pricing=True,
        ),
        "o4": offer_make(
            beta,
            "RTX 4090",
            "0.4000",
            external_id="o4",
            gpu_memory_gb=24,
            gpu_count=4,
            region="eu-west-1",
            country="DE",
            availability_status="unavailable",
        ),
        "o5": offer_make(
            gamma,
            "A100 SXM 80GB",
            "1.2000",
            external_id="o5",
            gpu_count=8,
            compliance_tags=["hipaa"],
        ),
        "o6": offer_make(
            gamma,
            "L40S",
            "0.9000",
            external_id="o6",
            gpu_memory_gb=48,
            region="ap-south-1",
            country="IN",
        ),
        # Quarantined: stored but never listed, whatever the filter.
        "q1": offer_make(gamma, None, "0.1000", external_id="q1", gpu_name_raw="Mystery GPU X1"),
    }


def _get(api: Client, query: str = "") -> Any:
    response = api.get(f"{URL}?{query}" if query else URL)
    assert response.status_code == 200, response.content
    return response.json()


def _labels(body: Any, market: dict[str, GPUOffer]) -> list[str]:
    by_id = {str(offer.id): label for label, offer in market.items()}
    return [by_id[item["id"]] for item in body["items"]]


def _by_price_then_id(labels: list[str], market: dict[str, GPUOffer]) -> list[str]:
    return sorted(labels, key=lambda label: (market[label].price_per_hour, market[label].id))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"o1", "o2", "o3", "o4", "o5", "o6"}),
        ("gpu=h100", {"o1", "o2"}),
        ("gpu=hbm3", {"o1"}),
        ("gpu_type=GEFORCE", {"o3"}),
        ("gpu=sxm", {"o1", "o5"}),
        ("gpu=mystery", set()),
        ("gpu=100%25", set()),
        ("region=EU-WEST-1", {"o2", "o4"}),
        ("region=us", {"o1", "o3", "o5"}),
        ("provider=BETA", {"o3", "o4"}),
        ("provider=nosuch", set()),
        ("availability=limited", {"o2"}),
        ("availability=unavailable", {"o4"}),
        ("availability=available", {"o1", "o3", "o5", "o6"}),
        ("compliance_tag=soc2", {"o1", "o2"}),
        ("compliance_tag=gdpr", {"o2"}),
        ("compliance_tag=iso27001", set()),
        ("gpu_memory_min=48", {"o1", "o2", "o5", "o6"}),
        ("gpu_memory_max=24", {"o3", "o4"}),
        ("price_min=1.2", {"o1", "o2", "o5"}),
        ("max_price=0.9", {"o3", "o4", "o6"}),
        ("gpu_count_min=2", {"o2", "o4", "o5"}),
        ("gpu_memory_total_min=96", {"o2", "o4", "o5"}),
        ("gpu_memory_total_min=80", {"o1", "o2", "o4", "o5"}),
        ("gpu_memory_total_min=641", set()),
        ("spot=true", {"o2", "o3"}),
        ("spot=false", {"o1", "o4", "o5", "o6"}),
        ("gpu=", {"o1", "o2", "o3", "o4", "o5", "o6"}),
        ("unknown_parameter=whatever", {"o1", "o2", "o3", "o4", "o5", "o6"}),
    ],
)
def test_each_filter_alone(api, market, query, expected):
    body = _get(api, query)
    assert set(_labels(body, market)) == expected
    assert body["total"] == len(expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("gpu=h100&spot=true&region=eu-west-1", ["o2"]),
        ("gpu=4090&availability=available&max_price=0.5", ["o3"]),
        ("price_min=0.5&max_price=1.5&gpu_memory_min=48&provider=gamma", ["o6", "o5"]),
        ("gpu=h100&gpu_type=pcie", ["o2"]),
        ("compliance_tag=soc2&gpu_count_min=2&availability=limited", ["o2"]),
        ("gpu=4090&spot=false&gpu_count_min=2&region=de", ["o4"]),
        ("gpu=h100&provider=beta", []),
    ],
)
def test_filters_combine_with_and(api, market, query, expected):
    body = _get(api, query)
    assert _labels(body, market) == expected
    assert body["total"] == len(expected)


def test_unknown_parameters_are_ignored_and_named_in_the_warnings(api, market):
    # A newcomer's typo (max_prize) listed every offer without a word.
    typo = api.get(URL, {"gpu": "H100", "max_prize": "2", "colour": "red"})
    plain = api.get(URL, {"gpu": "H100"})
    again = api.get(URL, {"gpu": "H100", "max_prize": "2", "colour": "red"})  # from the cache

    assert typo.status_code == 200
    assert typo.json()["items"] == plain.json()["items"]
    expected = (
        "Unknown parameters ignored: 'colour', 'max_prize' (the listing's parameters: /api/v2/docs)"
    )
    assert expected in typo.json()["warnings"]
    assert again.json() == typo.json()
    assert expected not in (plain.json().get("warnings") or [])


def test_an_unknown_provider_lists_nothing_and_names_the_providers(api, market):
    body = api.get(URL, {"provider": "nonexistent"}).json()

    assert (body["total"], body["items"]) == (0, [])
    (warning,) = [w for w in body["warnings"] if "nonexistent" in w]
    assert warning.startswith("No provider is called 'nonexistent'; the providers: ")
    for name in {offer.provider.name for offer in market.values()}:
        assert name in warning


def test_item_has_v1_keys_then_v2_fields_with_exact_values(api, market):
    body = _get(api, "gpu=hbm3")
    offer = market["o1"]
    h100 = serving_tokens_per_second("H100 SXM")
    layout, replicas = serving_table()["H100 SXM"].best_for(1)
    assert replicas == 1
    # Batched serving: far below v1's 7B batch-1 figure for an H100 at 2 USD/h (~3.9e-6).
    assert 2.0 / (h100 * 3600) < 2.0 / (143.6 * 3600) / 10
    assert body == {
        "total": 1,
        "items": [
            {
                "id": str(offer.id),
                "provider": "alpha",
                "name": "H100 SXM",
                "gpu": "H100 SXM",
                "gpu_memory_gb": 80,
                "price_per_hour": 2.0,
                "currency": "USD",
                "availability": "available",
                "region": "us-east-1",
                "tags": ["soc2"],
                "last_updated": body["items"][0]["last_updated"],
                "gpu_count": 1,
                "cpu_cores": None,
                "ram_gb": None,
                "storage_gb": None,
                "spot": False,
                "price_per_gpu_hour": 2.0,
                "spot_price_per_hour": None,
                "spot_price_per_gpu_hour": None,
                # No provider time and no fetch time stored: the row's last update.
                "price_as_of": body["items"][0]["last_updated"],
                "provider_region": None,
                "country": "US",
                "macro_region": None,
                "state": None,
                "city": None,
                # Llama 3.1 8B fp16 on one H100 at its serving batch; 50 TFLOPS fp32.
                "cost_per_token": pytest.approx(2.0 / (h100 * 3600), rel=1e-12),
                "cost_per_gflop": 2.0 / (50 * 1000 * 3600),
                "stale": False,
                "cost_per_million_tokens": pytest.approx(2.0e6 / (h100 * 3600), rel=1e-12),
                "cost_reason": None,
                "cost_basis": {
                    "model": "llama-3.1-8b",
                    "precision": "fp16",
                    "batch": layout.serving_batch,
                    "prompt_tokens": 500,
                    "output_tokens": 200,
                },
            }
        ],
    }
    assert datetime.fromisoformat(body["items"][0]["last_updated"]) == offer.updated_at


def test_multi_gpu_offer_runs_the_best_layout_as_replicas(api, market):
    item = _get(api, "provider=beta&gpu_count_min=4")["items"][0]
    assert item["name"] == "4x RTX 4090"
    tokens = serving_tokens_per_second("RTX 4090", 4)
    layout, replicas = serving_table()["RTX 4090"].best_for(4)
    assert replicas * layout.gpus_per_replica <= 4
    assert item["cost_per_token"] == pytest.approx(0.4 / (tokens * 3600), rel=1e-12)
    assert item["cost_basis"]["batch"] == layout.serving_batch
    assert item["cost_per_gflop"] == pytest.approx(0.4 / (80 * 4 * 1000 * 3600), rel=1e-12)


def test_free_offer_gives_null_kpis_with_a_reason(api, market):
    offer_make(market["o1"].provider, "H100 SXM", "0.0000", external_id="free")
    item = _get(api, "max_price=0")["items"][0]
    assert item["cost_per_token"] is None
    assert item["cost_per_million_tokens"] is None
    assert item["cost_reason"] == "no price"
    assert item["cost_per_gflop"] is None


def test_model_and_precision_price_that_model_per_offer(api, market):
    body = _get(api, "model=meta-llama/Llama-3.3-70B-Instruct&gpu=h100")
    items = {item["id"]: item for item in body["items"]}
    one_h100 = items[str(market["o1"].id)]
    # 141 GB of fp16 weights over 75.3 GB usable per H100: tensor parallel over 2.
    assert one_h100["cost_per_million_tokens"] is None
    assert one_h100["cost_per_token"] is None
    assert one_h100["cost_reason"] == "needs 2 x H100 SXM per replica; the offer has 1"
    assert one_h100["cost_basis"] == {
        "model": "llama-3.3-70b",
        "precision": "fp16",
        "batch": None,
        "prompt_tokens": 500,
        "output_tokens": 200,
    }
    two_pcie = items[str(market["o2"].id)]
    basis = CostBasis(model="llama-3.3-70b", precision="fp16")
    tokens = serving_tokens_per_second("H100 PCIe", 2, basis)
    assert two_pcie["cost_per_million_tokens"] == pytest.approx(1.5e6 / (tokens * 3600))
    assert two_pcie["cost_per_token"] == pytest.approx(1.5 / (tokens * 3600))
    assert two_pcie["cost_reason"] is None
    # In fp8 (70.6 GB) one H100 holds it, with room for the KV cache of short requests.
    fp8 = _get(api, "model=llama-3.3-70b&precision=FP8&gpu=hbm3")["items"][0]
    assert fp8["cost_basis"]["precision"] == "fp8"
    tokens = serving_tokens_per_second("H100 SXM", 1, CostBasis("llama-3.3-70b", "fp8"))
    assert fp8["cost_per_million_tokens"] == pytest.approx(2.0e6 / (tokens * 3600))


def test_cheapest_place_to_serve_a_model_in_one_call(api, market):
    body = _get(api, "model=llama-3.3-70b&sort=cost_per_million_tokens")
    costs = [item["cost_per_million_tokens"] for item in body["items"]]
    known = [cost for cost in costs if cost is not None]
    assert known == sorted(known)
    assert costs[len(known) :] == [None] * (len(costs) - len(known))
    assert len(known) >= 2  # the 2 x H100 PCIe and the 8 x A100 offers hold it
    basis = CostBasis(model="llama-3.3-70b", precision="fp16")
    expected = sorted(
        (
            offer_kpis(
                price_per_hour=o.price_per_hour,
                gpu_model=o.gpu_model,
                gpu_count=o.gpu_count,
                basis=basis,
            ).cost_per_million_tokens,
            o.id,
        )
        for o in GPUOffer.objects.filter(gpu_model__isnull=False)
        if offer_kpis(
            price_per_hour=o.price_per_hour,
            gpu_model=o.gpu_model,
            gpu_count=o.gpu_count,
            basis=basis,
        ).cost_per_million_tokens
        is not None
    )
    assert [item["id"] for item in body["items"][: len(known)]] == [str(i) for _, i in expected]
    assert known == pytest.approx([cost for cost, _ in expected], rel=1e-9)


def test_a_model_known_only_by_its_size_is_estimated(api, market):
    item = _get(api, "model=my-finetune-13b&gpu=hbm3")["items"][0]
    assert item["cost_basis"]["model"] == "my-finetune-13b"
    assert item["cost_per_million_tokens"] is not None


def test_model_listing_costs_a_bounded_number_of_queries(
    api, market, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        _get(api, "model=qwen2.5-72b&precision=int4&sort=cost_per_token&per_page=100")


def test_default_sort_is_price_with_id_tie_break(api, market):
    labels = _labels(_get(api), market)
    assert labels == _by_price_then_id(list(labels), market)
    assert labels[2:] == ["o6", "o5", "o2", "o1"]
    assert labels[:2] == sorted(["o3", "o4"], key=lambda label: market[label].id)


def test_descending_price_keeps_id_ascending_on_ties(api, market):
    labels = _labels(_get(api, "sort=-price"), market)
    assert labels[:4] == ["o1", "o2", "o5", "o6"]
    assert labels[4:] == sorted(["o3", "o4"], key=lambda label: market[label].id)


def test_gpu_memory_sort_puts_most_memory_first(api, market):
    labels = _labels(_get(api, "sort=gpu_memory"), market)
    by_id = lambda group: sorted(group, key=lambda label: market[label].id)  # noqa: E731
    assert labels == [*by_id(["o1", "o2", "o5"]), "o6", *by_id(["o3", "o4"])]


def test_updated_sort_puts_most_recent_first(api, market):
    now = timezone.now()
    for minutes, label in enumerate(["o4", "o2", "o6", "o1", "o3", "o5"]):
        GPUOffer.objects.filter(pk=market[label].pk).update(
            updated_at=now - timedelta(minutes=minutes)
        )
    assert _labels(_get(api, "sort=updated"), market) == ["o4", "o2", "o6", "o1", "o3", "o5"]


def test_cost_per_token_sort_is_done_in_sql_and_matches_the_items(api, market):
    offer_make(market["o1"].provider, "H100 SXM", "0.0000", external_id="free")
    body = _get(api, "sort=cost_per_token")
    costs = [item["cost_per_token"] for item in body["items"]]
    known = [cost for cost in costs if cost is not None]
    assert known == sorted(known)
    assert costs[len(known) :] == [None]
    expected = sorted(
        (
            offer_kpis(
                price_per_hour=o.price_per_hour, gpu_model=o.gpu_model, gpu_count=o.gpu_count
            ).cost_per_token,
            o.id,
        )
        for o in GPUOffer.objects.filter(gpu_model__isnull=False, price_per_hour__gt=0)
    )
    assert [item["id"] for item in body["items"][: len(known)]] == [str(i) for _, i in expected]


@pytest.fixture
def many_offers(market) -> list[GPUOffer]:
    provider = market["o1"].provider
    GPUOffer.objects.all().delete()
    return [offer_make(provider, "RTX 4090", f"{1 + index / 100:.4f}") for index in range(25)]


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("per_page=10", 10),
        ("per_page=10&page=2", 10),
        ("per_page=10&page=3", 5),
        ("per_page=10&page=4", 0),
        ("per_page=10&page=999999", 0),
        ("per_page=20", 20),
        ("per_page=20&page=2", 5),
        ("per_page=50", 25),
        ("per_page=100", 25),
        ("", 20),
    ],
)
def test_pagination_edges_keep_the_total(api, many_offers, query, count):
    body = _get(api, query)
    assert body["total"] == 25
    assert len(body["items"]) == count


def test_pages_do_not_overlap_and_cover_everything(api, many_offers):
    seen = [
        item["id"] for page in (1, 2, 3) for item in _get(api, f"per_page=10&page={page}")["items"]
    ]
    assert seen == [str(o.id) for o in sorted(many_offers, key=lambda o: (o.price_per_hour, o.id))]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=30", "per_page"),
        ("per_page=0", "per_page"),
        ("per_page=ten", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=two", "page"),
        ("sort=cheapest", "sort"),
        ("sort=-gpu_memory", "sort"),
        ("availability=busy", "availability"),
        ("spot=maybe", "spot"),
        ("gpu_memory_min=-1", "gpu_memory_min"),
        ("gpu_memory_min=80GB", "gpu_memory_min"),
        ("gpu_memory_max=1.5", "gpu_memory_max"),
        ("price_min=-0.5", "price_min"),
        ("price_min=cheap", "price_min"),
        ("max_price=NaN", "max_price"),
        ("max_price=inf", "max_price"),
        ("max_price=1e12", "max_price"),
        ("gpu_count_min=0", "gpu_count_min"),
        ("gpu_memory_total_min=-1", "gpu_memory_total_min"),
        ("gpu_memory_total_min=1.5", "gpu_memory_total_min"),
        ("gpu_memory_min=100&gpu_memory_max=50", "gpu_memory_max"),
        ("price_min=3&max_price=1", "max_price"),
        ("gpu=" + "x" * 101, "gpu"),
        ("region=" + "x" * 101, "region"),
        ("model=gpt-5", "model"),
        ("model=" + "x" * 101, "model"),
        ("model=huge-5000b", "model"),
        ("precision=fp64", "precision"),
        ("sort=cost_per_billion_tokens", "sort"),
    ],
)
def test_bad_values_are_422_envelopes_naming_the_field(api, market, query, field):
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert field in body["error"]["details"]["fields"]
    assert body["detail"] == body["error"]["message"]
    assert response["X-Trace-Id"] == body["error"]["trace_id"]


def test_decimal_price_bounds_are_inclusive_and_exact(api, market):
    GPUOffer.objects.filter(pk=market["o6"].pk).update(price_per_hour=Decimal("0.9001"))
    assert set(_labels(_get(api, "max_price=0.9001"), market)) == {"o3", "o4", "o6"}
    assert set(_labels(_get(api, "max_price=0.9000"), market)) == {"o3", "o4"}
