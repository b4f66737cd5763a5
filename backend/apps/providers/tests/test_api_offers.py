"""GET /providers/offers/{id}, /offers/{id}/history and /providers/status."""

from __future__ import annotations

import math
from datetime import timedelta
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

URL = "/api/v2/providers"


@pytest.fixture
def api() -> Client:
    return Client()


@pytest.fixture
def offer():
    benchmarks_load()
    return offer_make(
        provider_make("alpha"),
        "RTX 4090",
        "0.8000",
        gpu_count=2,
        gpu_memory_gb=24,
        external_id="x1",
    )


def test_offer_detail_has_kpis_and_provider_freshness(api, offer):
    body = api.get(f"{URL}/offers/{offer.id}").json()
    assert body["id"] == str(offer.id)
    assert body["name"] == "2x RTX 4090"
    assert body["price_per_hour"] == 0.8
    assert body["external_id"] == "x1"
    tokens = serving_tokens_per_second("RTX 4090", 2)  # Llama 3.1 8B fp16, both GPUs
    assert body["kpis"] == {
        "tokens_per_second": pytest.approx(tokens, rel=1e-12),
        "cost_per_token": pytest.approx(0.8 / (tokens * 3600), rel=1e-12),
        "cost_per_million_tokens": pytest.approx(0.8e6 / (tokens * 3600), rel=1e-12),
        "cost_per_gflop": 0.8 / (160 * 1000 * 3600),
        "cost_per_tflop_hour": 0.8 / 160,
    }
    assert body["cost_per_token"] == body["kpis"]["cost_per_token"]
    assert body["cost_basis"]["model"] == "llama-3.1-8b"
    freshness = body["provider_freshness"]
    assert (freshness["name"], freshness["stale"], freshness["down"]) == ("alpha", False, False)
    assert 29 <= freshness["freshness_seconds"] < 40


def test_unknown_offer_is_404_and_bad_id_is_422(api, offer):
    missing = api.get(f"{URL}/offers/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    bad = api.get(f"{URL}/offers/not-a-uuid")
    assert bad.status_code == 422
    assert "offer_id" in bad.json()["error"]["details"]["fields"]


def test_quarantined_offer_is_not_found(api, offer):
    hidden = offer_make(offer.provider, None, "0.1000")
    assert api.get(f"{URL}/offers/{hidden.id}").status_code == 404
    assert api.get(f"{URL}/offers/{hidden.id}/history").status_code == 404


@pytest.fixture
def history(offer):
    now = timezone.now()
    for age, price in [
        (timedelta(days=40), "3.0000"),
        (timedelta(days=10), "2.5000"),
        (timedelta(days=3), "2.0000"),
        (timedelta(hours=1), "2.4000"),
    ]:
        PriceHistory.objects.create(
            offer=offer,
            price_per_hour=Decimal(price),
            availability_status="available",
            recorded_at=now - age,
        )
    return offer


def _prices(body):
    return [point["price_per_hour"] for point in body["points"]]


def test_history_7d_carries_in_the_price_at_window_start(api, history):
    body = api.get(f"{URL}/offers/{history.id}/history?window=7d").json()
    assert body["window"] == "7d"
    assert _prices(body) == [2.5, 2.0, 2.4]
    assert body["points"][0]["timestamp"] == body["start"]
    assert body["min"] == 2.0
    assert body["max"] == 2.5
    assert body["mean"] == pytest.approx(6.9 / 3, rel=1e-12)
    assert body["p50"] == 2.4
    assert body["p95"] == pytest.approx(2.49, rel=1e-12)
    assert body["volatility"] == pytest.approx(math.sqrt(0.07) / 2.3, rel=1e-9)
    assert body["statistics"]["count"] == 3


def test_history_windows(api, history):
    day = api.get(f"{URL}/offers/{history.id}/history?window=24h").json()
    assert _prices(day) == [2.0, 2.4]
    month = api.get(f"{URL}/offers/{history.id}/history?window=30d").json()
    assert _prices(month) == [3.0, 2.5, 2.0, 2.4]
    assert api.get(f"{URL}/offers/{history.id}/history").json()["window"] == "24h"


def test_history_without_rows_has_null_statistics(api, offer):
    body = api.get(f"{URL}/offers/{offer.id}/history?window=7d").json()
    assert body["points"] == []
    assert (body["min"], body["mean"], body["volatility"]) == (None, None, None)


def test_history_bad_window_is_422(api, offer):
    response = api.get(f"{URL}/offers/{offer.id}/history?window=1y")
    assert response.status_code == 422
    assert "window" in response.json()["error"]["details"]["fields"]


def test_status_reports_freshness_counts_uptime_and_latency(api, offer):
    beta = provider_make(
        "beta",
        status="circuit_open",
        breaker_state="open",
        error_count=3,
        quarantined_names=["Mystery"],
    )
    offer_make(beta, None, "0.1000")
    offer_make(beta, "H100 SXM", "2.0000")
    now = timezone.now()
    runs = [
        (offer.provider, True, 10.0, ""),
        (offer.provider, True, 30.0, ""),
        (beta, True, 100.0, ""),
        (beta, False, 300.0, "network"),
        (beta, False, None, "circuit_open"),
        (beta, False, None, "not_configured"),
    ]
    for provider, ok, latency, kind in runs:
        ProviderSyncRun.objects.create(
            provider=provider,
            started_at=now - timedelta(hours=1),
            is_success=ok,
            fetch_latency_ms=latency,
            error_kind=kind,
        )
    ProviderSyncRun.objects.create(
        provider=beta, started_at=now - timedelta(days=8), is_success=True
    )
    rows = {row["name"]: row for row in api.get(f"{URL}/status").json()}
    assert list(rows) == ["alpha", "beta"]
    alpha, beta_row = rows["alpha"], rows["beta"]
    assert (
        alpha["offer_count"],
        alpha["listed_offer_count"],
        alpha["quarantined_offer_count"],
    ) == (1, 1, 0)
    assert (alpha["uptime_pct"], alpha["avg_fetch_latency_ms"], alpha["sync_attempts_7d"]) == (
        100.0,
        20.0,
        2,
    )
    assert (alpha["stale"], alpha["down"]) == (False, False)
    assert (
        beta_row["offer_count"],
        beta_row["listed_offer_count"],
        beta_row["quarantined_offer_count"],
    ) == (2, 1, 1)
    assert beta_row["uptime_pct"] == pytest.approx(100 / 3, rel=1e-12)
    assert beta_row["avg_fetch_latency_ms"] == 200.0
    assert beta_row["sync_attempts_7d"] == 3
    assert (beta_row["breaker_state"], beta_row["down"], beta_row["error_count"]) == (
        "open",
        True,
        3,
    )
    assert beta_row["quarantined_names"] == ["Mystery"]


def test_provider_without_sync_runs_has_null_uptime(api, offer):
    row = api.get(f"{URL}/status").json()[0]
    assert (row["uptime_pct"], row["avg_fetch_latency_ms"], row["sync_attempts_7d"]) == (
        None,
        None,
        0,
    )


def test_status_shows_when_each_provider_is_synced_next(api, offer):
    alpha = offer.provider
    half_open = timezone.now() + timedelta(minutes=5)
    provider_make("beta", breaker_state="open", breaker_open_until=half_open)
    provider_make("gamma", status="disabled")
    rows = {row["name"]: row for row in api.get(f"{URL}/status").json()}

    def parsed(value: str) -> object:
        return timezone.datetime.fromisoformat(value.replace("Z", "+00:00"))

    def to_ms(moment):  # the JSON carries milliseconds
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    # One interval (the row's 300 s) after the last attempt.
    expected = alpha.last_sync_at + timedelta(seconds=300)
    assert parsed(rows["alpha"]["next_sync_at"]) == to_ms(expected)
    assert rows["alpha"]["sync_interval_seconds"] == 300
    # Open breaker: not before its half-open time, though the interval has long run out.
    assert parsed(rows["beta"]["next_sync_at"]) == to_ms(half_open)
    assert rows["gamma"]["next_sync_at"] is None
