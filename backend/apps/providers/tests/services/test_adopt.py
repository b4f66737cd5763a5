"""`manage.py adopt_v1` / `v1_offers_adopt`: v1's offers get ingestion's canonical GPU."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from apps.providers.models import GPUOffer, Provider

pytestmark = pytest.mark.django_db

# As a v1 row: v1 wrote only the provider's GPU string and its memory; v2's columns are NULL.
V1_OFFERS = [
    ("v1-4090", "RTX 4090", 24, "0.6900"),
    ("v1-a100", "A100 80GB", 80, "1.6400"),
    ("v1-h100x8", "8x H100 SXM5", 80, "23.9200"),
    ("v1-1080", "GTX 1080 Ti", 11, "0.2000"),
]


def _v1_market() -> Provider:
    provider = Provider.objects.create(
        name="runpod", display_name="RunPod", quarantined_names=["Some Earlier Name"]
    )
    for external_id, gpu_type, memory, price in V1_OFFERS:
        GPUOffer.objects.create(
            provider=provider,
            external_id=external_id,
            gpu_type=gpu_type,
            gpu_memory_gb=memory,
            price_per_hour=Decimal(price),
            region="US-TX-3",
        )
    return provider


def _offers() -> dict[str, tuple[Any, ...]]:
    return {
        row[0]: row[1:]
        for row in GPUOffer.objects.values_list(
            "external_id",
            "gpu_type",
            "gpu_model",
            "gpu_name_raw",
            "gpu_memory_gb",
            "gpu_count",
            "price_per_hour",
        )
    }


def test_resolves_v1_offers_as_ingestion_would_and_quarantines_unknown_names() -> None:
    provider = _v1_market()
    ingested = GPUOffer.objects.create(
        provider=provider,
        external_id="synced",
        gpu_type="L40S",
        gpu_model="L40S",
        gpu_name_raw="NVIDIA L40S",
        gpu_count=2,
        gpu_memory_gb=48,
        price_per_hour=Decimal("1.8000"),
        region="US-TX-3",
    )
    out = StringIO()

    call_command("adopt_v1", stdout=out)

    assert out.getvalue().splitlines() == [
        "adopt_v1: 4 v1 offers adopted: 3 listed, 1 quarantined (unknown GPU, not listed)",
        "adopt_v1: quarantined on runpod: GTX 1080 Ti",
    ]
    assert _offers() == {
        "v1-4090": ("RTX 4090", "RTX 4090", "RTX 4090", 24, 1, Decimal("0.6900")),
        # v1 did not say SXM or PCIe: the variant-free model, never a guessed form factor.
        "v1-a100": ("A100 80GB", "A100 80GB", "A100 80GB", 80, 1, Decimal("1.6400")),
        "v1-h100x8": ("H100 SXM", "H100 SXM", "8x H100 SXM5", 80, 8, Decimal("23.9200")),
        "v1-1080": ("GTX 1080 Ti", None, "GTX 1080 Ti", 11, 1, Decimal("0.2000")),
        "synced": ("L40S", "L40S", "NVIDIA L40S", 48, 2, Decimal("1.8000")),
    }
    provider.refresh_from_db()
    assert provider.quarantined_names == ["GTX 1080 Ti", "Some Earlier Name"]
    ingested.refresh_from_db()
    assert ingested.gpu_count == 2


def test_adopted_offers_are_listed_and_the_unknown_one_is_reported() -> None:
    _v1_market()
    call_command("adopt_v1", stdout=StringIO())
    api = Client()

    listing = api.get("/api/v2/providers").json()
    status = api.get("/api/v2/providers/status").json()

    assert listing["total"] == 3
    assert sorted(item["gpu"] for item in listing["items"]) == [
        "A100 80GB",
        "H100 SXM",
        "RTX 4090",
    ]
    (runpod,) = (row for row in status if row["name"] == "runpod")
    assert runpod["quarantined_offer_count"] == 1
    assert runpod["quarantined_names"] == ["GTX 1080 Ti", "Some Earlier Name"]


def test_running_it_again_changes_nothing() -> None:
    provider = _v1_market()
    call_command("adopt_v1", stdout=StringIO())
    before = _offers()
    out = StringIO()

    call_command("adopt_v1", stdout=out)

    assert out.getvalue() == "adopt_v1: no v1 offers left to adopt\n"
    assert _offers() == before
    provider.refresh_from_db()
    assert provider.quarantined_names == ["GTX 1080 Ti", "Some Earlier Name"]
