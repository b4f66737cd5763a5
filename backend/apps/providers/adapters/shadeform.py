"""Shadeform adapter (a meta-source: one API over many GPU clouds).

Sources used for the API shape:
- https://docs.shadeform.ai/api-reference/instances/instances-types: ``GET
  https://api.shadeform.ai/v1/instances/types`` with header ``X-API-KEY`` →
  ``{"instance_types": [{cloud, shade_instance_type, cloud_instance_type, configuration{
  memory_in_gb, storage_in_gb, vcpus, num_gpus, gpu_type, interconnect, nvlink,
  vram_per_gpu_in_gb, gpu_manufacturer, os_options}, hourly_price (cents), deployment_type,
  availability[{region, available, display_name}], boot_time}]}``.
- harishkannarao/shadeform-ai README (curl usage, ``X-API-KEY`` header) and skypilot's
  ``fetch_shadeform.py`` (price in cents, one row per available region).

Shadeform resells other clouds, so the underlying ``cloud`` is kept in ``external_id`` and
``raw``; one offer per cloud, instance type and region.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

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
    map_elements,
    parse_records,
    require,
    to_float,
    to_int,
)


class ShadeformAdapter(ProviderAdapter):
    """Shadeform: instance types of many clouds through one API (API key), no booking."""

    name = "shadeform"
    display_name = "Shadeform"
    website_url = "https://www.shadeform.ai"
    api_base_url = "https://api.shadeform.ai/v1"
    documentation_url = "https://docs.shadeform.ai/api-reference/instances/instances-types"
    requires_credentials = True
    supports_booking = False
    price_source = "api"

    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """`GET /instances/types`: one offer per underlying cloud, instance type and region."""
        api_key = self.require_api_key(credentials)
        payload = await self.request_json(
            "GET", "/instances/types", credentials=credentials, headers={"X-API-KEY": api_key}
        )
        types = self.expect_list(self.top_level(payload, "instance_types"), "instance_types")
        return parse_records(
            types,
            self._parse_type,
            record_id=lambda t: f"{t.get('cloud')}:{t.get('cloud_instance_type')}",
        )

    async def validate_credentials(self, credentials: Credentials | None) -> bool:
        """Whether Shadeform accepts the key (`GET /instances/types` with it)."""
        api_key = self.require_api_key(credentials)
        return await self.probe_auth(
            "GET", "/instances/types", credentials=credentials, headers={"X-API-KEY": api_key}
        )

    def _parse_type(self, record: Mapping[str, Any]) -> Iterator[ProviderOffer | SkippedElement]:
        cloud = str(require(record, "cloud"))
        instance_type = str(
            record.get("cloud_instance_type") or require(record, "shade_instance_type")
        )
        config = require(record, "configuration")
        gpu_count = to_int(require(config, "num_gpus"), "num_gpus")
        if gpu_count == 0:
            return
        availability = record.get("availability")
        if not isinstance(availability, list):
            raise RecordError("missing field 'availability'")
        common: dict[str, Any] = {
            "gpu_name_raw": str(require(config, "gpu_type")),
            "gpu_count": gpu_count,
            "gpu_memory_gb": to_float(require(config, "vram_per_gpu_in_gb"), "vram_per_gpu"),
            "cpu_cores": to_float(require(config, "vcpus"), "vcpus"),
            "ram_gb": to_float(require(config, "memory_in_gb"), "memory_in_gb"),
            "storage_gb": to_float(require(config, "storage_in_gb"), "storage_in_gb"),
            "price_per_hour": cents_to_dollars(require(record, "hourly_price"), "hourly_price"),
            "interconnect": _interconnect(config),
            "is_spot": False,
        }
        raw = {
            "cloud": cloud,
            "shade_instance_type": record.get("shade_instance_type"),
            "deployment_type": record.get("deployment_type"),
        }

        def offer_in(slot: Mapping[str, Any]) -> ProviderOffer:
            region = str(slot["region"]).strip()
            return ProviderOffer(
                external_id=f"{cloud}:{instance_type}:{region}",
                region=region,
                availability="available" if slot.get("available") else "unavailable",
                raw={**raw, "region_name": slot.get("display_name")},
                **location_fields(location_from_region_id(region)),
                **common,
            )

        yield from map_elements(availability, "availability", offer_in, valid=_has_region)


def _has_region(slot: Any) -> bool:
    region = slot.get("region") if isinstance(slot, Mapping) else None
    return isinstance(region, str) and bool(region.strip())


def _interconnect(config: Mapping[str, Any]) -> str | None:
    """The card's form factor, plus NVLink when PCIe cards are bridged ("PCIe+NVLink").

    The form factor comes first and is never replaced by the bridge: a bridged H100 PCIe is
    still the PCIe part (the catalogue reads the form factor from this field).
    """
    value = str(config.get("interconnect") or "").strip().lower()
    if value.startswith("sxm"):
        return value.upper()
    if value == "pcie":
        return "PCIe+NVLink" if config.get("nvlink") else "PCIe"
    return None
