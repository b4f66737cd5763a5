"""Lambda Cloud adapter.

Sources used for the API shape:
- Lambda Cloud API reference, https://docs-api.lambda.ai/api/cloud (``GET
  /api/v1/instance-types``, ``POST /api/v1/instance-operations/launch``; bearer or basic auth
  with the API key; success bodies wrapped in ``{"data": ...}``, errors in ``{"error": {code,
  message, suggestion}}``; launch limited to one request per 12 s).
- api-evangelist/lambda ``json-schema/lambda-cloud-api-schema.json`` (InstanceType:
  ``instance_type{name, description, gpu_description, price_cents_per_hour, specs{vcpus,
  memory_gib, storage_gib, gpus}}``, ``regions_with_capacity_available[{name, description}]``).
- dstackai/gpuhunt ``providers/lambdalabs.py`` and zoq/lambdalabs-python ``launch_server.py``.

One offer per region with capacity (``external_id = "<type>:<region>"``). A type with no
capacity anywhere is still listed once, region None and availability "unavailable", so users
see that it exists and at what price.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Final

from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import (
    BookingResult,
    Credentials,
    FetchResult,
    ProviderOffer,
    RecordError,
    SkippedElement,
)
from apps.providers.adapters.geography import (
    Location,
    location_fields,
    location_from_region_id,
    parse_location,
    with_hint,
)
from apps.providers.adapters.http import bearer
from apps.providers.adapters.parsing import (
    cents_to_dollars,
    check_duration,
    interconnect_from_name,
    map_elements,
    parse_records,
    require,
    to_float,
    to_int,
)

_GPU_MEMORY: Final = re.compile(r"\((\d+(?:\.\d+)?)\s*GB", re.IGNORECASE)


class LambdaAdapter(ProviderAdapter):
    """Lambda Cloud: instance types with regional capacity (API key), booking by launch."""

    name = "lambda"
    display_name = "Lambda Cloud"
    website_url = "https://lambda.ai"
    api_base_url = "https://cloud.lambda.ai/api/v1"
    documentation_url = "https://docs-api.lambda.ai/api/cloud"
    requires_credentials = True
    supports_booking = True
    price_source = "api"

    #: Lambda requires an SSH key registered in the tenant's account; the tenant registers
    #: one under this name (documented in the integrations guide).
    ssh_key_names: ClassVar[tuple[str, ...]] = ("gpubroker",)

    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """`GET /instance-types`: an offer per type and region with room (none: one unavailable)."""
        api_key = self.require_api_key(credentials)
        payload = await self.request_json(
            "GET", "/instance-types", credentials=credentials, headers=bearer(api_key)
        )
        types = self.expect_mapping(self.top_level(payload, "data"), "data")
        return parse_records(types.values(), self._parse_type, record_id=_type_name)

    def _parse_type(self, entry: Mapping[str, Any]) -> Iterator[ProviderOffer | SkippedElement]:
        instance_type = require(entry, "instance_type")
        type_name = str(require(instance_type, "name"))
        specs = require(instance_type, "specs")
        gpu_count = to_int(require(specs, "gpus"), "specs.gpus")
        if gpu_count == 0:
            return  # CPU-only types are not GPU offers.
        gpu_description = str(
            instance_type.get("gpu_description") or require(instance_type, "description")
        )
        memory_match = _GPU_MEMORY.search(gpu_description)
        price = cents_to_dollars(
            require(instance_type, "price_cents_per_hour"), "price_cents_per_hour"
        )
        regions = entry.get("regions_with_capacity_available")
        if regions is None:
            raise RecordError("missing field 'regions_with_capacity_available'")
        common: dict[str, Any] = {
            "gpu_name_raw": gpu_description,
            "gpu_other_names": (type_name,),
            "gpu_count": gpu_count,
            "gpu_memory_gb": float(memory_match.group(1)) if memory_match else None,
            "cpu_cores": to_float(require(specs, "vcpus"), "specs.vcpus"),
            "ram_gb": to_float(require(specs, "memory_gib"), "specs.memory_gib"),
            "storage_gb": to_float(require(specs, "storage_gib"), "specs.storage_gib"),
            "storage_type": "NVMe",
            "price_per_hour": price,
            "interconnect": interconnect_from_name(gpu_description)
            or interconnect_from_name(type_name),
            "is_spot": False,
        }
        if not regions:
            yield ProviderOffer(
                external_id=type_name,
                availability="unavailable",
                raw={"instance_type": type_name},
                **common,
            )
            return

        def offer_in(region: Mapping[str, Any]) -> ProviderOffer:
            region_name = str(region["name"]).strip()
            description = region.get("description")
            return ProviderOffer(
                external_id=f"{type_name}:{region_name}",
                region=region_name,
                availability="available",
                raw={"instance_type": type_name, "region_description": description},
                **location_fields(lambda_location(region_name, description)),
                **common,
            )

        yield from map_elements(regions, "regions_with_capacity_available", offer_in, valid=_named)

    async def validate_credentials(self, credentials: Credentials | None) -> bool:
        """Whether Lambda accepts the key (`GET /instance-types` with it)."""
        api_key = self.require_api_key(credentials)
        return await self.probe_auth(
            "GET", "/instance-types", credentials=credentials, headers=bearer(api_key)
        )

    async def book_instance(
        self, offer: ProviderOffer, duration_hours: float, credentials: Credentials | None
    ) -> BookingResult:
        """``POST /instance-operations/launch`` for one instance of the offer's type/region."""
        check_duration(duration_hours)
        api_key = self.require_api_key(credentials)
        if not offer.region:
            raise self.error("offer has no region with capacity", kind="client")
        body = {
            "region_name": offer.region,
            "instance_type_name": offer.raw.get("instance_type")
            or offer.external_id.split(":", 1)[0],
            "ssh_key_names": list(self.ssh_key_names),
            "quantity": 1,
            "name": "gpubroker",
        }
        payload = await self.request_json(
            "POST",
            "/instance-operations/launch",
            credentials=credentials,
            headers=bearer(api_key),
            json_body=body,
        )
        data = self.expect_mapping(self.top_level(payload, "data"), "data")
        instance_ids = data.get("instance_ids")
        if not isinstance(instance_ids, list) or not instance_ids:
            raise self.error("launch returned no instance id", kind="bad_payload")
        return BookingResult(
            provider=self.name,
            external_booking_id=str(instance_ids[0]),
            status="booting",
            price_per_hour=offer.price_per_hour,
            raw={"instance_ids": list(instance_ids)},
        )


def _type_name(entry: Any) -> str:
    return str(entry["instance_type"]["name"])


def _named(region: Any) -> bool:
    name = region.get("name") if isinstance(region, Mapping) else None
    return isinstance(name, str) and bool(name.strip())


def lambda_location(region_name: str, description: Any) -> Location:
    """Lambda describes regions as "Virginia, USA" / "Tokyo, Japan"; ids as "us-east-1"."""
    by_id = location_from_region_id(region_name)
    if isinstance(description, str) and description.strip():
        return with_hint(parse_location(description), by_id)
    return by_id
