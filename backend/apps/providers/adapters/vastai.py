"""Vast.ai marketplace adapter.

Sources used for the API shape:
- https://vast.ai/developers/api — endpoint table: ``GET /api/v0/bundles/`` searches offers,
  ``PUT /api/v0/asks/{id}/`` creates an instance from an offer; bearer-token auth.
- https://docs.vast.ai/api-reference/overview-and-quickstart and the open-source CLI
  (github.com/vast-ai/vast-python, ``vast.py search offers`` / ``create instance``).
- dstackai/gpuhunt ``src/gpuhunt/providers/vastai.py`` (POST of the filter document to
  ``/bundles/``; ``gpu_ram``/``cpu_ram`` in MB; ``geolocation`` as "City, CC").

Search needs no key. Each bundle is one machine offer: ``dph_total`` is the on-demand $/h of the
whole bundle (all ``num_gpus``): the host's GPU rate ``dph_base`` plus the storage of the
bundle's disk (``storage_total_cost``, i.e. ``dph_total - dph_base``). ``min_bid`` is the
interruptible floor of the GPU rate alone, so the spot price adds the same storage charge:
``min_bid + (dph_total - dph_base)``; both prices then cover GPUs, CPU, RAM and disk, and
neither covers bandwidth (``inet_up_cost``/``inet_down_cost``, per GB). ``inet_down`` is
Mbit/s. ``geolocation`` is "Region, CC" or "Country, CC".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final

from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import (
    BookingResult,
    Credentials,
    FetchResult,
    ProviderOffer,
    RecordError,
)
from apps.providers.adapters.geography import location_fields, parse_location
from apps.providers.adapters.http import bearer
from apps.providers.adapters.parsing import (
    check_duration,
    interconnect_from_name,
    parse_records,
    require,
    round_gb,
    to_decimal,
    to_float,
    to_int,
    to_optional_float,
)

#: The search document: rentable machines, cheapest first. Vast caps results at ``limit``.
SEARCH_QUERY: Final[Mapping[str, Any]] = {
    "rentable": {"eq": True},
    "rented": {"eq": False},
    "external": {"eq": False},
    "type": "on-demand",
    "order": [["dph_total", "asc"]],
    "limit": 3000,
}

_RAW_KEYS: Final = (
    "id",
    "machine_id",
    "host_id",
    "verification",
    "dph_base",
    "min_bid",
    "duration",
    "cuda_max_good",
    "geolocation",
    "hosting_type",
)


class VastAiAdapter(ProviderAdapter):
    """Vast.ai marketplace: public offer search (`POST /bundles/`), booking by accepting an ask."""

    name = "vastai"
    display_name = "Vast.ai"
    website_url = "https://vast.ai"
    api_base_url = "https://console.vast.ai/api/v0"
    documentation_url = "https://docs.vast.ai/api-reference/overview-and-quickstart"
    requires_credentials = False
    supports_booking = True
    price_source = "api"

    #: Container started on booking; the tenant replaces it over SSH afterwards.
    default_image: ClassVar[str] = "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime"
    default_disk_gb: ClassVar[float] = 32.0

    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """`POST /bundles/`: one offer per machine bundle, `min_bid` as its spot price."""
        headers = bearer(credentials.api_key) if credentials and credentials.api_key else {}
        payload = await self.request_json(
            "POST", "/bundles/", credentials=credentials, headers=headers, json_body=SEARCH_QUERY
        )
        bundles = self.expect_list(self.top_level(payload, "offers"), "offers")
        return parse_records(bundles, self._parse_bundle)

    def _parse_bundle(self, bundle: Mapping[str, Any]) -> Iterator[ProviderOffer]:
        gpu_name = str(require(bundle, "gpu_name"))
        gpu_count = to_int(require(bundle, "num_gpus"), "num_gpus")
        geolocation = bundle.get("geolocation")
        region = (geolocation.strip() or None) if isinstance(geolocation, str) else None
        inet_down = to_optional_float(bundle.get("inet_down"), "inet_down")
        price = to_decimal(require(bundle, "dph_total"), "dph_total")
        is_free = bool(bundle.get("rentable", True)) and not bundle.get("rented", False)
        interconnect = interconnect_from_name(gpu_name)
        if interconnect is None and (to_optional_float(bundle.get("bw_nvlink"), "bw_nvlink") or 0):
            interconnect = "NVLink"
        yield ProviderOffer(
            external_id=str(to_int(require(bundle, "id"), "id")),
            gpu_name_raw=gpu_name,
            gpu_count=gpu_count,
            # gpu_ram is per GPU, in MB (MiB in practice: a 24 GB card reports 24576).
            gpu_memory_gb=round_gb(to_float(require(bundle, "gpu_ram"), "gpu_ram") / 1024, 1),
            cpu_cores=to_optional_float(bundle.get("cpu_cores_effective"), "cpu_cores_effective"),
            ram_gb=_ram_share_gb(bundle),
            storage_gb=to_optional_float(bundle.get("disk_space"), "disk_space"),
            storage_type=None,
            price_per_hour=price,
            spot_price_per_hour=_spot_price(bundle, price),
            region=region,
            **location_fields(parse_location(region)),
            availability="available" if is_free else "unavailable",
            interconnect=interconnect,
            network_speed_gbps=None if inet_down is None else round(inet_down / 1000, 3),
            reliability=to_optional_float(bundle.get("reliability2"), "reliability2"),
            is_spot=False,
            raw={key: bundle[key] for key in _RAW_KEYS if key in bundle},
        )

    async def validate_credentials(self, credentials: Credentials | None) -> bool:
        """Search works without a key, so a key is checked against ``/users/current/``."""
        api_key = self.require_api_key(credentials)
        return await self.probe_auth(
            "GET", "/users/current/", credentials=credentials, headers=bearer(api_key)
        )

    async def book_instance(
        self, offer: ProviderOffer, duration_hours: float, credentials: Credentials | None
    ) -> BookingResult:
        """Accept the ask: ``PUT /asks/{offer id}/``.

        Vast bills per second, so the duration only has to be valid; the tenant destroys the
        instance when done. Raises AdapterError as `request_json` does.
        """
        check_duration(duration_hours)
        api_key = self.require_api_key(credentials)
        disk = min(offer.storage_gb or self.default_disk_gb, self.default_disk_gb)
        body = {
            "client_id": "me",
            "image": self.default_image,
            "disk": disk,
            "runtype": "ssh",
            "label": "gpubroker",
        }
        payload = await self.request_json(
            "PUT",
            f"/asks/{offer.external_id}/",
            credentials=credentials,
            headers=bearer(api_key),
            json_body=body,
        )
        answer = self.expect_mapping(payload, "booking response")
        if not answer.get("success") or answer.get("new_contract") is None:
            reason = answer.get("msg") or answer.get("error") or "no contract created"
            raise self.error(f"booking refused: {reason}", kind="client", secrets=(api_key,))
        return BookingResult(
            provider=self.name,
            external_booking_id=str(answer["new_contract"]),
            status="provisioning",
            price_per_hour=offer.price_per_hour,
            raw={"new_contract": answer["new_contract"], "success": True},
        )


def _spot_price(bundle: Mapping[str, Any], on_demand: Decimal) -> Decimal | None:
    """The interruptible price of the bundle covering what `dph_total` covers, USD/hour.

    ``min_bid`` prices the GPUs alone (the bid side of ``dph_base``); the storage that
    ``dph_total`` adds (``dph_total - dph_base``, else ``storage_total_cost``) is added so both
    prices are comparable. None when the bundle has no ``min_bid``.
    """
    min_bid = bundle.get("min_bid")
    if min_bid is None:
        return None
    base = bundle.get("dph_base")
    if base is not None:
        extras = on_demand - to_decimal(base, "dph_base")
    else:
        extras = to_decimal(bundle.get("storage_total_cost") or 0, "storage_total_cost")
    if extras < 0:
        raise RecordError(f"dph_base exceeds dph_total ({base} > {on_demand})")
    return to_decimal(to_decimal(min_bid, "min_bid") + extras, "min_bid")


def _ram_share_gb(bundle: Mapping[str, Any]) -> float | None:
    """The RAM that comes with the offer, in GB.

    ``cpu_ram`` is the whole host's RAM (MB); an offer gets the share matching its effective
    cores, as the Vast console shows it.
    """
    cpu_ram = to_optional_float(bundle.get("cpu_ram"), "cpu_ram")
    if cpu_ram is None:
        return None
    cores = to_optional_float(bundle.get("cpu_cores"), "cpu_cores")
    effective = to_optional_float(bundle.get("cpu_cores_effective"), "cpu_cores_effective")
    if cores and effective and effective < cores:
        cpu_ram = cpu_ram * effective / cores
    if cpu_ram < 0:
        raise RecordError(f"cpu_ram is negative: {cpu_ram}")
    return round_gb(cpu_ram / 1024, 1)
