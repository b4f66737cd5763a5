"""KPI endpoints against hand-computed aggregates on a fixed dataset written with the ORM.

Per-GPU figures: gpu_benchmarks' 50 TFLOPS fp32 (H100 SXM) and 80 (RTX 4090); tokens/s from
the listing's serving table (Llama 3.1 8B fp16). The market (offers a1, a2, a3, b1) excludes an
unavailable, a quarantined, a stale and a EUR offer.
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from apps.providers.models import PriceHistory, ProviderSyncRun
from apps.providers.tests.selectors.market import (
    benchmarks_load,
    offer_make,
    provider_make,
    serving_tokens_per_second,
)

pytestmark = pytest.mark.django_db

URL = "/api/v2/kpi"


@pytest.fixture
def api() -> Client:
    return Client()


@pytest.fixture
def dataset():
    benchmarks_load()
    alpha = provider_make("alpha")
    beta = provider_make("beta", status="error", breaker_state="open")
    offers = {
        "a1": offer_make(alpha, "H100 SXM", "2.0000", region="us-east-1"),
        "a2": offer_make(alpha, "H100 SXM", "5.0000", gpu_count=2, availability_status="limited"),
        "a3": offer_make(alpha, "RTX 4090", "0.5000", region="eu-west-1"),
        "b1": offer_make(beta, "H100 SXM", "3.0000"),
        # Not in the market:
        "a4": offer_make(alpha, "RTX 4090", "0.1000", availability_status="unavailable"),
        "a5": offer_make(alpha, None, "0.2000"),
        "b2": offer_make(beta, "RTX 4090", "9.0000", is_stale=True),
        "b3": offer_make(beta, "RTX 4090", "0.0500", currency="EUR"),
    }
    now = timezone.now()
    runs = [
        (alpha, True, 10.0, ""),
        (alpha, True, 20.0, ""),
        (alpha, True, 30.0, ""),
        (alpha, False, 40.0, "http_5xx"),
        (beta, True, 100.0, ""),
        (beta, False, None, "circuit_open"),
        (beta, False, 200.0, "network"),
        (beta, False, None, "circuit_open"),
        (beta, False, None, "not_configured"),  # our configuration, not the provider's fault
    ]
    for provider, ok, latency, kind in runs:
        ProviderSyncRun.objects.create(
            provider=provider,
            started_at=now - timedelta(hours=2),
            is_success=ok,
            fetch_latency_ms=latency,
            error_kind=kind,
        )
    ProviderSyncRun.objects.create(  # outside the 7-day window
        provider=alpha, started_at=now - timedelta(days=10), is_success=False, fetch_latency_ms=9e3
    )
    today = datetime.combine(now.date(), time(12), tzinfo=now.tzinfo)
    history = [
        # day -3: per-GPU prices 2.0 and 4.0 / 2 = 2.0 -> mean 2.0
        ("a1", 3, "2.0000", "available"),
        ("a2", 3, "4.0000", "available"),
        ("a1", 2, "2.1000", "available"),  # day -2: 2.1
        ("a1", 1, "2.2000", "available"),  # day -1: 2.2
        ("a3", 1, "2.2000", "unavailable"),  # not a price anyone could pay
        ("a5", 1, "9.0000", "available"),  # quarantined GPU
        ("b3", 1, "9.0000", "available"),  # EUR
        ("a1", 9, "50.0000", "available"),  # older than 7 days
    ]
    for label, days_ago, price, status in history:
        PriceHistory.objects.create(
            offer=offers[label],
            price_per_hour=Decimal(price),
            availability_status=status,
            recorded_at=today - timedelta(days=days_ago),
        )
    return offers


def test_overview(api, dataset):
    body = api.get(f"{URL}/overview").json()
    body.pop("generated_at")
    assert body == {
        # The mean over a1, a2, a3, b1 of price / (tokens/s x 3600).
        "cost_per_token": pytest.approx(
            (
                2.0 / serving_tokens_per_second("H100 SXM")
                + 5.0 / serving_tokens_per_second("H100 SXM", 2)
                + 0.5 / serving_tokens_per_second("RTX 4090")
                + 3.0 / serving_tokens_per_second("H100 SXM")
            )
            / 3600
            / 4,
            rel=1e-9,
        ),
        "uptime_pct": 50.0,  # 4 successes of 8 attempts (not_configured and old runs left out)
        "avg_latency_ms": pytest.approx((10 + 20 + 30 + 40 + 100 + 200) / 6, rel=1e-12),
        "active_providers": 1,  # beta is in error with its breaker open
        "total_offers": 4,
        # Per GPU-hour: (2 + 5/2 + 0.5 + 3) / 4, not the instances' (2 + 5 + 0.5 + 3) / 4.
        "avg_price_per_hour": 2.0,
    }


def test_gpu_kpis_all_providers(api, dataset):
    body = api.get(f"{URL}/gpu/H100 SXM").json()
    h100 = serving_tokens_per_second("H100 SXM")
    assert body == {
        "gpu_type": "H100 SXM",
        "gpu_models": ["H100 SXM"],
        "provider": None,
        "offer_count": 3,
        # Per GPU-hour, so the 2-GPU a2 (5.0) counts at 2.5: (2 + 5/2 + 3) / 3.
        "avg_price_per_hour": 2.5,
        "min_price_per_hour": 2.0,
        "max_price_per_hour": 3.0,
        "avg_price_per_gpu_hour": 2.5,
        "tokens_per_second_per_gpu": pytest.approx(h100, rel=1e-12),
        "cost_per_token": pytest.approx(2.5 / (h100 * 3600), rel=1e-12),
        "cost_per_gflop": pytest.approx(2.5 / (50 * 1000 * 3600), rel=1e-12),
    }


def test_gpu_kpis_by_alias_and_provider(api, dataset):
    # "h100" is the family: every H100 variant counts (the dataset's are all SXM).
    body = api.get(f"{URL}/gpu/h100?provider=ALPHA").json()
    assert (body["gpu_type"], body["provider"], body["offer_count"]) == ("H100", "alpha", 2)
    assert body["gpu_models"] == ["H100 80GB", "H100 NVL", "H100 PCIe", "H100 SXM"]
    assert body["avg_price_per_hour"] == 2.25  # per GPU: (2 + 5/2) / 2
    assert body["avg_price_per_gpu_hour"] == 2.25
    h100 = serving_tokens_per_second("H100 SXM")
    assert body["cost_per_token"] == pytest.approx(2.25 / (h100 * 3600), rel=1e-12)


def test_gpu_without_market_offers_has_zero_count_and_null_prices(api, dataset):
    body = api.get(f"{URL}/gpu/L40S").json()
    assert (body["offer_count"], body["avg_price_per_hour"], body["cost_per_token"]) == (
        0,
        None,
        None,
    )


@pytest.mark.parametrize(
    "path", ["/gpu/NoSuchGPU", "/gpu/H100?provider=nosuch", "/provider/nosuch"]
)
def test_unknown_gpu_or_provider_is_404(api, dataset, path):
    response = api.get(f"{URL}{path}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_provider_kpis(api, dataset):
    body = api.get(f"{URL}/provider/alpha").json()
    assert body["provider"] == "alpha"
    assert body["total_offers"] == 3
    assert body["gpu_models"] == 2
    # Per GPU-hour: 2, 5/2 = 2.5 and 0.5; mean 5/3.
    assert body["avg_price_per_hour"] == pytest.approx(5 / 3, rel=1e-9)
    assert (body["min_price_per_hour"], body["max_price_per_hour"]) == (0.5, 2.5)
    # sample variance ((1/3)^2 + (5/6)^2 + (7/6)^2) / 2 = 13/12
    assert body["price_volatility"] == pytest.approx(math.sqrt(13 / 12) / (5 / 3), rel=1e-9)
    assert body["uptime_percentage"] == 75.0
    assert body["avg_latency_ms"] == 25.0
    assert body["sync_attempts"] == 4
    assert (body["status"], body["stale"]) == ("active", False)


def test_provider_kpis_of_a_down_provider(api, dataset):
    body = api.get(f"{URL}/provider/beta").json()
    assert body["total_offers"] == 1
    assert body["price_volatility"] is None  # one price: no sample deviation
    assert body["uptime_percentage"] == 25.0
    assert body["avg_latency_ms"] == 150.0
    assert (body["breaker_state"], body["stale"]) == ("open", True)


def test_market_insights(api, dataset):
    body = api.get(f"{URL}/insights/market").json()
    assert body["total_providers"] == 2
    assert body["total_offers"] == 4
    assert body["avg_market_price"] == 2.0  # per GPU-hour
    assert body["cheapest_gpu_offer"]["id"] == str(dataset["a3"].id)
    assert body["cheapest_gpu_offer"]["price_per_hour"] == 0.5
    # Dearest per GPU-hour: b1 at 3.0, not the 2-GPU a2 at 5.0 (2.5 per GPU).
    assert body["most_expensive_gpu_offer"] == {
        "id": str(dataset["b1"].id),
        "provider": "beta",
        "gpu": "H100 SXM",
        "gpu_count": 1,
        "price_per_hour": 3.0,
        "price_per_gpu_hour": 3.0,
        "region": "us-east-1",
        "availability": "available",
    }
    trend = body["price_trend_7d"]
    assert [(d["avg_price_per_gpu_hour"], d["observations"]) for d in trend["daily"]] == [
        (2.0, 2),
        (2.1, 1),
        (2.2, 1),
    ]
    assert trend["direction"] == "up"
    assert trend["percent_change"] == pytest.approx(10.0, rel=1e-9)
    assert trend["slope_per_day"] == pytest.approx(0.1, rel=1e-9)


def test_empty_market(api, db):
    body = api.get(f"{URL}/insights/market").json()
    assert body["total_offers"] == 0
    assert body["cheapest_gpu_offer"] is None
    assert body["price_trend_7d"] == {
        "direction": None,
        "percent_change": None,
        "slope_per_day": None,
        "daily": [],
    }
    overview = api.get(f"{URL}/overview").json()
    assert (overview["uptime_pct"], overview["cost_per_token"], overview["total_offers"]) == (
        None,
        None,
        0,
    )


def test_kpi_queries_are_bounded(api, dataset, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        assert api.get(f"{URL}/insights/market").status_code == 200
    with django_assert_max_num_queries(3):
        assert api.get(f"{URL}/overview").status_code == 200
