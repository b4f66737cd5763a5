"""The listing's SQL: the GPU substring filter matches the trigram indexes' expression."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from apps.providers.models import GPUOffer
from apps.providers.selectors import OfferQuery, gpu_kpi_inputs, gpu_kpi_inputs_reset, offer_filter
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


def test_gpu_filter_is_the_expression_of_both_trigram_indexes():
    # PostgreSQL prints both in its normalised form: equal text means the index applies (the
    # planner still picks by cost; bench/listing.py shows the plan at 100,000 offers).
    plan = _plan(offer_filter(query=OfferQuery(gpu="h100"), provider_ids=None))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
            "('offers_gpu_type_trgm', 'offers_gpu_raw_trgm') ORDER BY indexname"
        )
        definitions = dict(cursor.fetchall())
    for column, index in (
        ("gpu_name_raw", "offers_gpu_raw_trgm"),
        ("gpu_type", "offers_gpu_type_trgm"),
    ):
        expression = f"upper(({column})::text)"
        assert f"{expression} gin_trgm_ops" in definitions[index]
        assert f"{expression} ~~ '%H100%'::text" in plan


def test_compliance_tag_filter_uses_the_gin_index(crowded_market):
    plan = _plan(offer_filter(query=OfferQuery(compliance_tag="soc2"), provider_ids=None))
    assert "offers_compliance_gin" in plan


def test_kpi_inputs_prefer_loaded_benchmarks_over_the_catalogue():
    gpu_kpi_inputs_reset()
    catalogue_h100 = gpu_kpi_inputs()["H100 SXM"]
    assert catalogue_h100.tokens_per_second is not None
    benchmarks_load()
    assert gpu_kpi_inputs()["H100 SXM"].tokens_per_second == 100.0
    assert gpu_kpi_inputs()["H100 SXM"].tflops_fp32 == 50.0
    assert gpu_kpi_inputs()["L40S"].tokens_per_second is not None  # catalogue fallback
    gpu_kpi_inputs_reset()
