"""Adapter offers → gpu_offers rows: the GPU identity and v1's column units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.gpus.identity import GpuFacts
from apps.providers.adapters.contract import ProviderOffer
from apps.providers.services.normalise import gpu_identity, offer_row


def _offer(**values: object) -> ProviderOffer:
    fields: dict[str, object] = {
        "external_id": "x-1",
        "gpu_name_raw": "NVIDIA H100 80GB HBM3",
        "gpu_count": 1,
        "price_per_hour": Decimal("2.4900"),
        "gpu_memory_gb": 80.0,
    }
    fields.update(values)
    return ProviderOffer(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hours", "minutes"), [(None, None), (1, 60), (0.1, 6), (0.5, 30), (24, 1440)]
)
def test_min_rental_time_is_stored_in_v1_minutes(hours: float | None, minutes: int | None) -> None:
    assert offer_row(_offer(min_rental_hours=hours)).min_rental_time == minutes


def test_resolved_gpu_gets_the_canonical_name_and_catalogue_vram() -> None:
    gpu = gpu_identity(GpuFacts(("H100 SXM5",), 79.6))
    assert (gpu.gpu_type, gpu.gpu_model, gpu.gpu_memory_gb, gpu.gpu_name_raw) == (
        "H100 SXM",
        "H100 SXM",
        80,
        "H100 SXM5",
    )
    assert gpu.quarantine_reason is None


def test_unknown_gpu_keeps_the_provider_string_and_says_why() -> None:
    gpu = gpu_identity(GpuFacts(("GTX 1080 Ti",), 11.0))
    assert (gpu.gpu_type, gpu.gpu_model, gpu.gpu_memory_gb, gpu.gpu_name_raw) == (
        "GTX 1080 Ti",
        None,
        11,
        "GTX 1080 Ti",
    )
    assert gpu.quarantine_reason == "no_match"


def test_offer_row_and_gpu_identity_agree() -> None:
    row = offer_row(_offer(gpu_name_raw="A100 80GB", gpu_memory_gb=80.0))
    gpu = gpu_identity(GpuFacts(("A100 80GB",), 80.0))
    assert (row.gpu_type, row.gpu_model, row.gpu_memory_gb, row.gpu_name_raw) == (
        gpu.gpu_type,
        gpu.gpu_model,
        gpu.gpu_memory_gb,
        gpu.gpu_name_raw,
    )
