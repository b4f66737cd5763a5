"""Vultr Cloud GPU adapter.

Sources used for the API shape:
- Vultr API v2, https://www.vultr.com/api/#tag/plans/operation/list-plans: ``GET
  /v2/plans?type=vcg`` (public, no key) → ``{"plans": [{id, vcpu_count, ram (MB), disk (GB),
  disk_count, bandwidth, monthly_cost, hourly_cost, type, locations[], gpu_vram_gb,
  gpu_type}], "meta": {"total", "links": {"next", "prev"}}}`` with cursor pagination.
- dstackai/gpuhunt ``providers/vultr.py`` (``gpu_type`` like "NVIDIA_A100"; fractional plans
  whose ``gpu_vram_gb`` is a slice of one card).

``gpu_type`` is a structured token, VENDOR_MODEL[_FORMFACTOR] ("NVIDIA_A100", "AMD_MI300X",
"NVIDIA_A100_SXM"), read by the catalogue grammar like any GPU name; ``gpu_vram_gb`` is the
plan's memory over all its cards. Vultr sells fractional (vGPU) slices of a card as well as
whole cards. A slice is not the GPU its name says (a 4 GB share of an A100 80GB), so slices
are left out on purpose and are not counted as skipped; whole-card plans are offered per
location. The card behind a type is Vultr's fleet fact where we know it
(``FULL_CARD_VRAM_GB``: Vultr's A100s are 80 GB, so a 40 GB "NVIDIA_A100" plan is half a card);
for any other type it is the catalogue's memory size for what the token names that the plan's
memory is a whole multiple of (``NVIDIA_A100_SXM`` with 40 GB: one A100 SXM 40GB).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from apps.gpus.catalogue import default_catalogue
from apps.gpus.query import gpu_query
from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import (
    Credentials,
    FetchResult,
    ProviderOffer,
    RecordError,
    SkippedElement,
    merge_results,
)
from apps.providers.adapters.geography import (
    Location,
    location_fields,
    location_from_region_id,
    parse_location,
)
from apps.providers.adapters.parsing import (
    map_elements,
    parse_records,
    require,
    round_gb,
    to_decimal,
    to_float,
)

#: VRAM of one whole card for each ``gpu_type`` Vultr is known to sell (its fleet, not a
#: limit: other types are read by the catalogue, ``_card_memory``); used to tell whole-card
#: plans (VRAM a multiple of this) from fractional slices and to derive the card count.
FULL_CARD_VRAM_GB: Final[Mapping[str, int]] = {
    "NVIDIA_A16": 16,
    "NVIDIA_A40": 48,
    "NVIDIA_A100": 80,
    "NVIDIA_L40S": 48,
    "NVIDIA_H100": 80,
    "NVIDIA_GH200": 96,
    "NVIDIA_B200": 180,
    "AMD_MI300X": 192,
    "AMD_MI325X": 256,
}

#: Vultr location ids (airport or metro codes) as Vultr's ``GET /v2/regions`` names them
#: ("city", "country"); `geography.parse_location` turns each into country, state and city.
LOCATIONS: Final[Mapping[str, str]] = {
    "ewr": "New Jersey, US", "ord": "Chicago, US", "dfw": "Dallas, US", "sea": "Seattle, US",
    "lax": "Los Angeles, US", "atl": "Atlanta, US", "sjc": "Silicon Valley, California, US",
    "mia": "Miami, US", "hnl": "Honolulu, US", "yto": "Toronto, CA", "mex": "Mexico City, MX",
    "sao": "Sao Paulo, BR", "scl": "Santiago, CL", "ams": "Amsterdam, NL", "lhr": "London, GB",
    "man": "Manchester, GB", "fra": "Frankfurt, DE", "cdg": "Paris, FR", "waw": "Warsaw, PL",
    "mad": "Madrid, ES", "sto": "Stockholm, SE", "tlv": "Tel Aviv, IL",
    "jnb": "Johannesburg, ZA", "nrt": "Tokyo, JP", "itm": "Osaka, JP", "icn": "Seoul, KR",
    "sgp": "Singapore, SG", "bom": "Mumbai, IN", "del": "Delhi NCR, IN", "blr": "Bangalore, IN",
    "syd": "Sydney, AU", "mel": "Melbourne, AU",
}  # fmt: skip

_MAX_PAGES: Final = 20


class VultrAdapter(ProviderAdapter):
    """Vultr Cloud GPU: public plan listing, no key needed, no booking."""

    name = "vultr"
    display_name = "Vultr"
    website_url = "https://www.vultr.com"
    api_base_url = "https://api.vultr.com/v2"
    documentation_url = "https://www.vultr.com/api/#tag/plans"
    requires_credentials = False
    supports_booking = False
    price_source = "api"

    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """`GET /plans?type=vcg`: whole-card plans per location (vGPU slices are left out)."""
        results: list[FetchResult] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            params: dict[str, Any] = {"type": "vcg", "per_page": 500}
            if cursor:
                params["cursor"] = cursor
            payload = await self.request_json(
                "GET", "/plans", credentials=credentials, params=params
            )
            plans = self.expect_list(self.top_level(payload, "plans"), "plans")
            results.append(parse_records(plans, self._parse_plan))
            links = (payload.get("meta") or {}).get("links") or {}
            cursor = links.get("next") or None
            if not cursor:
                break
        return merge_results(results)

    def _parse_plan(self, plan: Mapping[str, Any]) -> Iterator[ProviderOffer | SkippedElement]:
        plan_id = str(require(plan, "id"))
        gpu_type = str(require(plan, "gpu_type"))
        vram = to_float(require(plan, "gpu_vram_gb"), "gpu_vram_gb")
        gpu_name = gpu_type.replace("_", " ")
        card_vram = FULL_CARD_VRAM_GB.get(gpu_type) or _card_memory(gpu_name, vram)
        if card_vram is None:
            raise RecordError(
                f"gpu_type {gpu_type!r} with {vram:g} GB: no catalogue card of that name "
                "divides the plan's memory, so the card count is unknown"
            )
        if vram < card_vram or vram % card_vram:
            return  # fractional vGPU slice, deliberately not offered
        gpu_count = int(vram // card_vram)
        common: dict[str, Any] = {
            "gpu_name_raw": gpu_name,
            "gpu_count": gpu_count,
            "gpu_memory_gb": float(card_vram),
            "cpu_cores": to_float(require(plan, "vcpu_count"), "vcpu_count"),
            "ram_gb": round_gb(to_float(require(plan, "ram"), "ram") / 1024, 1),
            "storage_gb": to_float(require(plan, "disk"), "disk"),
            "storage_type": "NVMe",
            "price_per_hour": to_decimal(require(plan, "hourly_cost"), "hourly_cost"),
            "is_spot": False,
        }
        raw = {"plan": plan_id, "monthly_cost": plan.get("monthly_cost")}
        locations = plan.get("locations")
        if locations is None:
            raise RecordError("missing field 'locations'")
        if not locations:
            yield ProviderOffer(external_id=plan_id, availability="unavailable", raw=raw, **common)
            return

        def offer_at(location: str) -> ProviderOffer:
            return ProviderOffer(
                external_id=f"{plan_id}:{location}",
                region=location,
                availability="available",
                raw=raw,
                **location_fields(vultr_location(location)),
                **common,
            )

        yield from map_elements(locations, "locations", offer_at, valid=_is_location_id)


def _is_location_id(value: Any) -> bool:
    return isinstance(value, str) and value.isalnum()


def vultr_location(location_id: str) -> Location:
    """The place of a Vultr location id ("ewr" -> New Jersey, US); unknown ids by their tokens."""
    known = LOCATIONS.get(location_id.lower())
    return parse_location(known) if known else location_from_region_id(location_id)


def _card_memory(gpu_name: str, plan_vram_gb: float) -> int | None:
    """Memory of one card of ``gpu_name`` for a plan of ``plan_vram_gb`` GB over all cards.

    The catalogue's sizes for what the name means: the plan's memory itself when it is one
    card's size (one card), else the one size it is a whole multiple of; ``None`` when no size
    or several fit, or the name is unknown. A plan smaller than every size is a slice: the
    smallest size is returned so the caller leaves it out.
    """
    models = gpu_query(gpu_name).models
    if not models:
        return None
    sizes = sorted({gpu.vram_gb for gpu in default_catalogue().gpus if gpu.gpu_model in models})
    if plan_vram_gb < sizes[0]:
        return sizes[0]
    if plan_vram_gb in sizes:
        return int(plan_vram_gb)
    multiples = [size for size in sizes if plan_vram_gb % size == 0]
    return multiples[0] if len(multiples) == 1 else None
