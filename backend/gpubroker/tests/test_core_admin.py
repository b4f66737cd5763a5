"""gpubroker.core.admin: the bounded count of large changelists and the bounded inline."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.providers.models import GPUOffer, Provider
from gpubroker.core.admin import EstimatedCountPaginator

pytestmark = pytest.mark.django_db


class SmallLimitPaginator(EstimatedCountPaginator):
    exact_count_limit = 5


def _offers(count: int) -> None:
    provider = Provider.objects.create(name="vastai", display_name="Vast.ai")
    GPUOffer.objects.bulk_create(
        GPUOffer(
            provider=provider,
            external_id=f"o-{index}",
            gpu_type="H100 SXM",
            gpu_model="H100 SXM",
            gpu_memory_gb=80,
            price_per_hour=Decimal("2"),
            region="us",
        )
        for index in range(count)
    )


def test_counts_exactly_up_to_the_limit_with_one_bounded_query():
    _offers(5)
    paginator = SmallLimitPaginator(GPUOffer.objects.order_by("pk"), 2)
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == 5
    assert paginator.is_estimated is False
    [query] = queries.captured_queries
    assert "LIMIT 6" in query["sql"]


def test_past_the_limit_takes_the_planner_estimate_and_says_so():
    _offers(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE gpu_offers")
    paginator = SmallLimitPaginator(GPUOffer.objects.order_by("pk"), 2)
    with CaptureQueriesContext(connection) as queries:
        count = paginator.count
    assert paginator.is_estimated is True
    assert count == 40  # ANALYZE saw every row of this small table
    assert len(queries.captured_queries) == 2
    assert queries.captured_queries[1]["sql"].startswith("EXPLAIN")


def test_the_estimate_is_never_below_the_limit():
    _offers(8)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE gpu_offers")
    offers = GPUOffer.objects.filter(gpu_memory_gb=80, region="us").order_by("pk")
    paginator = SmallLimitPaginator(offers, 2)
    assert paginator.count >= 6


def test_the_changelist_says_when_its_count_is_an_estimate(staff_client, monkeypatch):
    _offers(12)
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_limit", 5)
    page = staff_client.get("/admin/providers/gpuoffer/").content.decode()
    assert 'data-count="estimated"' in page
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_limit", 50)
    page = staff_client.get("/admin/providers/gpuoffer/").content.decode()
    assert 'data-count="estimated"' not in page
    assert "12 GPU offers" in page
