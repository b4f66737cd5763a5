"""Adapter dataclasses → `gpu_offers` rows.

Every provider GPU string is resolved through the shared catalogue; an unresolved one is kept
with `gpu_model = NULL` (quarantined: stored, counted and reported, never listed) rather than
dropped or guessed. Values the v1 columns cannot hold are rejected here, per offer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from apps.gpus.identity import GpuFacts, resolve_facts_cached
from apps.providers.adapters.contract import ProviderOffer
from apps.providers.adapters.geography import macro_region_of

# gpu_offers.price_per_hour is DECIMAL(8,4).
MAX_STORABLE_PRICE = Decimal("9999.9999")
UNSPECIFIED_REGION = "global"


class OfferRejected(ValueError):
    """This offer cannot be stored; ingestion skips and counts it."""


@dataclass(frozen=True, slots=True)
class OfferRow:
    """One row of gpu_offers as ingestion writes it (id and timestamps added by the upsert).

    Every field but `quarantine_reason` is a gpu_offers column of the same name
    (OFFER_COLUMNS); `services.upsert` writes exactly those.
    """

    external_id: str
    gpu_type: str
    gpu_memory_gb: int
    cpu_cores: int | None
    ram_gb: int | None
    storage_gb: int | None
    storage_type: str | None
    price_per_hour: Decimal
    currency: str
    region: str
    availability_status: str
    min_rental_time: int | None
    spot_pricing: bool
    preemptible: bool
    network_speed_gbps: Decimal | None
    gpu_count: int
    gpu_model: str | None
    gpu_name_raw: str
    spot_price_per_hour: Decimal | None
    country: str | None
    interconnect: str | None
    reliability: Decimal | None
    quarantine_reason: str | None
    price_as_of: datetime | None = None
    provider_region: str | None = None
    state: str | None = None
    city: str | None = None
    macro_region: str | None = None


#: OfferRow's fields that are gpu_offers columns (the upsert's per-row columns, id aside).
OFFER_COLUMNS = frozenset(
    name for name in OfferRow.__dataclass_fields__ if name != "quarantine_reason"
)


@dataclass(frozen=True, slots=True)
class GpuIdentity:
    """How one provider GPU string is stored on an offer.

    Resolved: `gpu_type` and `gpu_model` are the catalogue's canonical name and `gpu_memory_gb`
    the catalogue's VRAM per GPU. Quarantined (`gpu_model` None): `gpu_type` is the provider's
    string and `gpu_memory_gb` the reported VRAM (0 when unknown). `gpu_name_raw` is always the
    provider's string; `stated_count` is the GPU count the string states, if any.
    """

    gpu_type: str
    gpu_memory_gb: int
    gpu_model: str | None
    gpu_name_raw: str
    stated_count: int | None
    quarantine_reason: str | None

    def columns(self) -> dict[str, str | int | None]:
        """The gpu_offers columns the resolution decides: gpu_type, gpu_memory_gb, gpu_model."""
        return {
            "gpu_type": self.gpu_type,
            "gpu_memory_gb": self.gpu_memory_gb,
            "gpu_model": self.gpu_model,
        }


@lru_cache(maxsize=8192)
def gpu_identity(facts: GpuFacts) -> GpuIdentity:
    """Resolve what a provider says about a card through the catalogue, clipped to the columns.

    `facts` are the card's names (most specific first), the reported memory of one GPU in GB
    and any form-factor field; `apps.gpus.identity.resolve_facts` decides (never filling in a
    form factor the provider did not state). Memoised per distinct facts, as that resolution
    is (a sync of 50,000 offers sees a few hundred distinct cards).
    """
    resolution = resolve_facts_cached(facts)
    gpu = resolution.gpu
    raw_name = facts.raw_name
    vram_gb = facts.memory_gb
    if gpu is not None:
        memory = round(gpu.vram_gb)
    elif vram_gb is not None and math.isfinite(vram_gb):
        memory = round(vram_gb)
    else:
        memory = 0
    return GpuIdentity(
        gpu_type=(gpu.gpu_model if gpu else raw_name)[:100],
        gpu_memory_gb=memory,
        gpu_model=gpu.gpu_model if gpu else None,
        gpu_name_raw=raw_name[:255],
        stated_count=resolution.stated_count,
        quarantine_reason=None if gpu else resolution.reason,
    )


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def _minutes(hours: float | None) -> int | None:
    # v1's min_rental_time counts whole minutes; rounding first keeps 0.1 h at 6, not 7.
    return None if hours is None else math.ceil(round(hours * 60, 6))


def _clip(text: str | None, length: int) -> str | None:
    return None if text is None else text[:length]


def offer_row(offer: ProviderOffer, *, fetched_at: datetime | None = None) -> OfferRow:
    """Normalise one adapter offer; raises OfferRejected for values v1's columns cannot hold.

    `price_as_of` is the provider's own time for the price when it gave one, else
    `fetched_at` (the sync's time). `provider_region` is the provider's region id as given;
    `region` (v1's column) is that id, else the country, else "global".
    """
    if len(offer.external_id) > 255:
        raise OfferRejected("external_id longer than 255 characters")
    if offer.price_per_hour > MAX_STORABLE_PRICE:
        raise OfferRejected(f"price {offer.price_per_hour} exceeds the storable maximum")
    spot = offer.spot_price_per_hour
    if spot is not None and spot > MAX_STORABLE_PRICE:
        spot = None
    gpu = gpu_identity(offer.gpu_facts)
    network = None
    if offer.network_speed_gbps is not None:
        network = min(Decimal(str(round(offer.network_speed_gbps, 2))), Decimal("999999.99"))
    return OfferRow(
        external_id=offer.external_id,
        gpu_type=gpu.gpu_type,
        gpu_memory_gb=gpu.gpu_memory_gb,
        cpu_cores=_whole(offer.cpu_cores),
        ram_gb=_whole(offer.ram_gb),
        storage_gb=_whole(offer.storage_gb),
        storage_type=_clip(offer.storage_type, 50),
        price_per_hour=offer.price_per_hour,
        currency=offer.currency,
        region=(offer.region or offer.country or UNSPECIFIED_REGION)[:100],
        availability_status=offer.availability,
        min_rental_time=_minutes(offer.min_rental_hours),
        spot_pricing=offer.is_spot,
        preemptible=offer.is_spot,
        network_speed_gbps=network,
        gpu_count=offer.gpu_count,
        gpu_model=gpu.gpu_model,
        gpu_name_raw=gpu.gpu_name_raw,
        spot_price_per_hour=spot,
        country=_clip(offer.country, 64),
        interconnect=_clip(offer.interconnect, 32),
        reliability=(
            None if offer.reliability is None else Decimal(str(round(offer.reliability, 4)))
        ),
        price_as_of=offer.price_as_of or fetched_at,
        provider_region=_clip(offer.region, 100),
        state=_clip(offer.state, 100),
        city=_clip(offer.city, 100),
        macro_region=_clip(offer.macro_region or macro_region_of(offer.country), 32),
        quarantine_reason=gpu.quarantine_reason,
    )
