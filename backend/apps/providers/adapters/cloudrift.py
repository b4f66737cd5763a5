"""CloudRift adapter.

Sources used for the API shape:
- CloudRift API, https://api.cloudrift.ai (docs at https://docs.cloudrift.ai): ``POST
  /api/v1/instance-types/list`` with a versioned envelope ``{"version": "2025-03-21", "data":
  {"selector": {"ByServiceAndLocation": {"services": ["vm"]}}}}``; the listing needs no key.
  The answer is ``{"data": {"instance_types": [{brand_short, variants: [{name, cpu_count, dram,
  disk, gpu_count, vram, cost_per_hour, nodes_per_dc{dc: nodes}}]}]}}``.
- dstackai/gpuhunt ``providers/cloudrift.py`` (``cost_per_hour`` in cents; ``dram``, ``disk``
  and per-GPU ``vram`` in bytes).

One offer per variant and datacenter; a datacenter with zero free nodes is "unavailable".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import (
    Credentials,
    FetchResult,
    ProviderOffer,
    RecordError,
    SkippedElement,
)
from apps.providers.adapters.geography import location_fields, location_from_region_id
from apps.providers.adapters.parsing import (
    cents_to_dollars,
    interconnect_from_name,
    map_elements,
    parse_records,
    require,
    round_gb,
    to_float,
    to_int,
)

API_VERSION: Final = "2025-03-21"
_GIB: Final = 1024**3


class CloudRiftAdapter(ProviderAdapter):
    """CloudRift: public instance-type listing, no key needed, no booking."""

    name = "cloudrift"
    display_name = "CloudRift"
    website_url = "https://www.cloudrift.ai"
    api_base_url = "https://api.cloudrift.ai/api/v1"
    documentation_url = "https://docs.cloudrift.ai"
    requires_credentials = False
    supports_booking = False
    price_source = "api"

    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """`POST /instance-types/list`: one offer per variant and datacenter (full: unavailable)."""
        body = {
            "version": API_VERSION,
            "data": {"selector": {"ByServiceAndLocation": {"services": ["vm"]}}},
        }
        payload = await self.request_json(
            "POST", "/instance-types/list", credentials=credentials, json_body=body
        )
        types = self.expect_list(self.top_level(payload, "data", "instance_types"), "types")
        # Each variant is one raw record: a bad variant must not take its siblings down.
        variants = [
            (instance_type, variant)
            for instance_type in types
            if isinstance(instance_type, Mapping)
            for variant in (instance_type.get("variants") or [])
        ]
        return parse_records(
            variants,
            self._parse_variant,
            record_id=lambda pair: pair[1].get("name", "variant"),
        )

    def _parse_variant(
        self, pair: tuple[Mapping[str, Any], Mapping[str, Any]]
    ) -> Iterator[ProviderOffer | SkippedElement]:
        instance_type, variant = pair
        variant_name = str(require(variant, "name"))
        gpu_count = to_int(require(variant, "gpu_count"), "gpu_count")
        if gpu_count == 0:
            return
        nodes_per_dc = variant.get("nodes_per_dc")
        if not isinstance(nodes_per_dc, Mapping):
            raise RecordError("missing field 'nodes_per_dc'")
        common: dict[str, Any] = {
            "gpu_name_raw": str(require(instance_type, "brand_short")),
            "gpu_count": gpu_count,
            "gpu_memory_gb": round_gb(to_float(require(variant, "vram"), "vram") / _GIB, 1),
            "cpu_cores": to_float(require(variant, "cpu_count"), "cpu_count"),
            "ram_gb": round_gb(to_float(require(variant, "dram"), "dram") / _GIB, 1),
            "storage_gb": round_gb(to_float(require(variant, "disk"), "disk") / _GIB, 1),
            "storage_type": "NVMe",
            "price_per_hour": cents_to_dollars(require(variant, "cost_per_hour"), "cost_per_hour"),
            "interconnect": interconnect_from_name(str(instance_type.get("brand_short"))),
            "is_spot": False,
        }
        if not nodes_per_dc:
            yield ProviderOffer(
                external_id=variant_name,
                availability="unavailable",
                raw={"variant": variant_name},
                **common,
            )
            return

        def offer_in(item: tuple[str, Any]) -> ProviderOffer:
            datacenter, nodes = item
            free_nodes = to_int(nodes, "nodes_per_dc")
            return ProviderOffer(
                external_id=f"{variant_name}:{datacenter}",
                region=datacenter,
                availability="available" if free_nodes > 0 else "unavailable",
                raw={"variant": variant_name, "free_nodes": free_nodes},
                **location_fields(location_from_region_id(datacenter)),
                **common,
            )

        yield from map_elements(
            sorted((str(dc).strip(), nodes) for dc, nodes in nodes_per_dc.items()),
            "nodes_per_dc",
            offer_in,
            valid=_datacenter_entry,
        )


def _datacenter_entry(item: tuple[str, Any]) -> bool:
    """A datacenter id that is not blank and a free-node count that is a whole number >= 0."""
    name, nodes = item
    return bool(name) and isinstance(nodes, int) and not isinstance(nodes, bool) and nodes >= 0
