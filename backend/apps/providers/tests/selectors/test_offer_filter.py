"""The listing's SQL: the GPU substring filter matches the trigram indexes' expression."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from apps.gpus.kpis import gpu_fp32_tflops, gpu_kpi_inputs_reset
from apps.providers.models import GPUOffer
from apps.providers.selectors.offer_terms import gpu_names_matching
from apps.providers.selectors.offers import OfferQuery, offer_filter
from apps.providers.tests.selectors.market import benchmarks_load, offer_make, provider_make

pytestmark = pytest.mark.django_db


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def crowded_market() -> None:
    """Thousands of offers of which few match, analysed, so the planner prefers indexes."""
    provider = provider_make("crowd")
    GPUOffer.objects.bulk_create(
        GPUOffer(
            provider=provider,
            external_id=f"bulk-{index}",
            gpu_type="RTX 3090",
            gpu_model="RTX 3090",
            gpu_name_raw="GeForce RTX 3090",
            gpu_memory_gb=24,
            price_per_hour=Decimal("0.3000"),
            region="us-east-1",
            compliance_tags=["soc2"] if index == 0 else [],
        )
        for index in range(5000)
    )
    offer_make(provider, "H100 SXM", "2.0000")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE gpu_offers")


def test_gpu_filter_becomes_equality_on_indexed_columns(crowded_market):
    # The substring is resolved against the catalogue and the distinct raw names first, so
    # PostgreSQL gets `= ANY(...)` on btree-indexed columns, never a LIKE over every offer.
    plan = _plan(offer_filter(query=OfferQuery(gpu="h100"), provider_ids=None))
    assert "~~" not in plan
    assert "offers_group_price_idx" in plan
    assert "(gpu_model)::text = ANY" in plan


def test_gpu_names_matching_covers_canonical_and_raw_names(crowded_market):
    # "3090" names no catalogue GPU by itself, so it falls back to the substring match.
    models, raw_names = gpu_names_matching("3090")
    assert models == ["RTX 3090", "RTX 3090 Ti"]
    # "GeForce RTX 3090" matches too, but its offers are all RTX 3090s: nothing to add.
    assert raw_names == []
    assert gpu_names_matching("GEFORCE") == ([], ["GeForce RTX 3090"])
    assert gpu_names_matching("no-such-gpu") == ([], [])


def test_compliance_tag_filter_uses_the_gin_index(crowded_market):
    plan = _plan(offer_filter(query=OfferQuery(compliance_tag="soc2"), provider_ids=None))
    assert "offers_compliance_gin" in plan


def test_fp32_figures_prefer_loaded_benchmarks_over_the_catalogue():
    gpu_kpi_inputs_reset()
    assert gpu_fp32_tflops()["H100 SXM"] == 67.0  # the catalogue's datasheet figure
    benchmarks_load()
    assert gpu_fp32_tflops()["H100 SXM"] == 50.0
    assert gpu_fp32_tflops()["L40S"] == 91.6  # catalogue fallback
    gpu_kpi_inputs_reset()
