"""RunPod adapter (GraphQL API).

Sources used for the API shape:
- RunPod GraphQL API, ``POST https://api.runpod.io/graphql`` with the API key as a bearer
  token; ``gpuTypes`` with ``securePrice``/``communityPrice``/``secureSpotPrice``/
  ``communitySpotPrice`` and ``lowestPrice(input: {gpuCount: 1}) { minimumBidPrice
  uninterruptablePrice stockStatus minVcpu minMemory }``; pods are launched with the
  ``podFindAndDeployOnDemand`` mutation (docs.runpod.io "GraphQL API spec", runpod-python's
  ``runpod/api/ctl_commands.py``).
- dstackai/gpuhunt ``src/gpuhunt/providers/runpod.py`` (field names, ``stockStatus`` values,
  prices being per GPU).
- github.com/runpod/docs ``references/gpu-types.mdx`` (GPU ids such as "NVIDIA H100 80GB HBM3").

Prices in ``gpuTypes`` are per GPU-hour for a one-GPU pod, so each GPU type yields up to two
kinds of offer with ``gpu_count=1``: Secure Cloud and Community Cloud. The spot
("interruptible") price is the ``spot_price_per_hour`` of the same offer; both prices cover the
GPU with its share of vCPUs, RAM and container disk (network volumes are billed apart).
Secure Cloud runs in named datacenters (``myself.datacenters``: ids such as "US-TX-3",
"EU-RO-1", "CA-MTL-1", each with the GPU types it has in stock): where that answer lists a
GPU type, Secure Cloud yields one offer per datacenter, placed by the datacenter's id and
``location``. Without it (no answer, or the type in no datacenter) and for Community Cloud
(hosts worldwide), the offer has no region. The cloud type is part of ``external_id`` and
``raw``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Final

from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import (
    AdapterError,
    Availability,
    BookingResult,
    Credentials,
    FetchResult,
    ProviderOffer,
    SkippedElement,
    merge_results,
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
    check_duration,
    interconnect_from_name,
    parse_records,
    require,
    to_decimal,
    to_float,
    to_optional_float,
)

GPU_TYPES_QUERY: Final = """
query GpuTypes {
  gpuTypes {
    id
    displayName
    manufacturer
    memoryInGb
    maxGpuCount
    secureCloud
    communityCloud
    securePrice
    communityPrice
    secureSpotPrice
    communitySpotPrice
    lowestPrice(input: {gpuCount: 1}) {
      minimumBidPrice
      uninterruptablePrice
      minVcpu
      minMemory
      stockStatus
    }
  }
}
""".strip()

DEPLOY_MUTATION: Final = """
mutation Deploy($input: PodFindAndDeployOnDemandInput!) {
  podFindAndDeployOnDemand(input: $input) {
    id
    desiredStatus
    costPerHr
    machineId
  }
}
""".strip()

VALIDATE_QUERY: Final = "query Myself { myself { id } }"

#: Secure Cloud datacenters and the GPU types each has in stock (an account-scoped read).
DATACENTERS_QUERY: Final = """
query DataCenters {
  myself {
    datacenters {
      id
      name
      location
      gpuAvailability {
        gpuTypeId
        available
        stockStatus
      }
    }
  }
}
""".strip()

#: RunPod's stock levels; an absent status means the type cannot be deployed now.
_STOCK: Final[Mapping[str, Availability]] = {
    "High": "available",
    "Medium": "available",
    "Low": "limited",
}

_CLOUDS: Final = (
    # (cloud type, flag, on-demand price key, spot price key)
    ("secure", "secureCloud", "securePrice", "secureSpotPrice"),
    ("community", "communityCloud", "communityPrice", "communitySpotPrice"),
)


class RunPodAdapter(ProviderAdapter):
    """RunPod: GPU types with on-demand and spot prices over GraphQL (API key), booking."""

    name = "runpod"
    display_name = "RunPod"
    website_url = "https://www.runpod.io"
    api_base_url = "https://api.runpod.io"
    documentation_url = "https://docs.runpod.io/sdks/graphql/manage-pods"
    requires_credentials = True
    supports_booking = True
    price_source = "api"

    default_image: ClassVar[str] = "runpod/pytorch:2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04"
    container_disk_gb: ClassVar[int] = 40

    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """`POST /graphql` (gpuTypes): a Secure and a Community Cloud one-GPU offer per GPU type."""
        data = await self._graphql({"query": GPU_TYPES_QUERY}, credentials)
        gpu_types = self.expect_list(self.top_level(data, "gpuTypes"), "gpuTypes")
        datacenters = await self._datacenters(credentials)
        return merge_results(
            [
                parse_records(
                    gpu_types, lambda record: self._parse_gpu_type(record, datacenters.by_gpu)
                ),
                datacenters.skipped,
            ]
        )

    async def _datacenters(self, credentials: Credentials | None) -> _Datacenters:
        """Secure Cloud datacenters by GPU type id; empty when RunPod does not answer.

        The placement read is optional: a non-retryable failure (no such field for this key,
        a recording without it) leaves the offers without a region instead of failing the sync.
        """
        try:
            data = await self._graphql({"query": DATACENTERS_QUERY}, credentials)
        except AdapterError as exc:
            if exc.retryable:
                raise
            return _Datacenters({}, FetchResult(offers=()))
        myself = data.get("myself") if isinstance(data, Mapping) else None
        entries = myself.get("datacenters") if isinstance(myself, Mapping) else None
        by_gpu: dict[str, list[_Datacenter]] = {}
        skipped = parse_records(
            entries if isinstance(entries, list) else [],
            lambda entry: _datacenter_entry(entry, by_gpu),
        )
        return _Datacenters(by_gpu, skipped)

    def _parse_gpu_type(
        self, gpu_type: Mapping[str, Any], datacenters: Mapping[str, list[_Datacenter]]
    ) -> Iterator[ProviderOffer]:
        gpu_id = str(require(gpu_type, "id"))
        display_name = str(require(gpu_type, "displayName"))
        memory = to_float(require(gpu_type, "memoryInGb"), "memoryInGb")
        lowest = gpu_type.get("lowestPrice") or {}
        availability = _STOCK.get(lowest.get("stockStatus") or "", "unavailable")
        for cloud, flag, price_key, spot_key in _CLOUDS:
            if not gpu_type.get(flag):
                continue
            price = gpu_type.get(price_key)
            # A null or zero price means the type is not sold in this cloud; not an error.
            if price is None or to_decimal(price, price_key) == 0:
                continue
            spot = gpu_type.get(spot_key)
            spot_price = to_decimal(spot, spot_key) if spot else None
            offer = ProviderOffer(
                external_id=f"{gpu_id}:{cloud}",
                # The id is the nvidia-smi name ("NVIDIA A100 80GB PCIe"); the display name
                # ("A100 80GB") may leave out the form factor.
                gpu_name_raw=gpu_id,
                gpu_other_names=(display_name,),
                gpu_count=1,
                gpu_memory_gb=memory,
                cpu_cores=to_optional_float(lowest.get("minVcpu"), "minVcpu"),
                ram_gb=to_optional_float(lowest.get("minMemory"), "minMemory"),
                price_per_hour=to_decimal(price, price_key),
                spot_price_per_hour=spot_price if spot_price else None,
                availability=availability,
                interconnect=interconnect_from_name(gpu_id) or interconnect_from_name(display_name),
                reliability=None,
                is_spot=False,
                raw={
                    "gpu_type_id": gpu_id,
                    "display_name": display_name,
                    "cloud_type": cloud.upper(),
                    "stock_status": lowest.get("stockStatus"),
                    "max_gpu_count": gpu_type.get("maxGpuCount"),
                    "manufacturer": gpu_type.get("manufacturer"),
                },
            )
            placed = datacenters.get(gpu_id, []) if cloud == "secure" else []
            if not placed:
                yield offer
            for datacenter in placed:
                yield replace(
                    offer,
                    external_id=f"{gpu_id}:{cloud}:{datacenter.id}",
                    region=datacenter.id,
                    availability=datacenter.availability,
                    raw={**offer.raw, "data_center_id": datacenter.id},
                    **location_fields(datacenter.location),
                )

    async def validate_credentials(self, credentials: Credentials | None) -> bool:
        """Whether RunPod accepts the key (a GraphQL query with it)."""
        try:
            data = await self._graphql({"query": VALIDATE_QUERY}, credentials)
        except AdapterError as exc:
            if exc.kind in ("auth", "config"):
                return False
            raise
        myself = data.get("myself") if isinstance(data, Mapping) else None
        return bool(myself and myself.get("id"))

    async def book_instance(
        self, offer: ProviderOffer, duration_hours: float, credentials: Credentials | None
    ) -> BookingResult:
        """Deploy an on-demand pod of the offer's GPU type in the offer's cloud."""
        check_duration(duration_hours)
        gpu_type_id = offer.raw.get("gpu_type_id") or offer.external_id.rsplit(":", 1)[0]
        cloud_type = offer.raw.get("cloud_type") or offer.external_id.rsplit(":", 1)[-1].upper()
        pod_input: dict[str, Any] = {
            "cloudType": cloud_type,
            "gpuCount": offer.gpu_count,
            "gpuTypeId": gpu_type_id,
            "name": "gpubroker",
            "imageName": self.default_image,
            "containerDiskInGb": self.container_disk_gb,
            "volumeInGb": 0,
            "supportPublicIp": True,
            "startSsh": True,
            "ports": "22/tcp",
        }
        if offer.cpu_cores:
            pod_input["minVcpuCount"] = int(offer.cpu_cores)
        if offer.ram_gb:
            pod_input["minMemoryInGb"] = int(offer.ram_gb)
        data = await self._graphql(
            {"query": DEPLOY_MUTATION, "variables": {"input": pod_input}}, credentials
        )
        pod = data.get("podFindAndDeployOnDemand") if isinstance(data, Mapping) else None
        if not isinstance(pod, Mapping) or not pod.get("id"):
            raise self.error("deploy returned no pod", kind="bad_payload")
        cost = pod.get("costPerHr")
        return BookingResult(
            provider=self.name,
            external_booking_id=str(pod["id"]),
            status=str(pod.get("desiredStatus") or "RUNNING").lower(),
            price_per_hour=to_decimal(cost, "costPerHr")
            if cost is not None
            else offer.price_per_hour,
            raw={key: pod.get(key) for key in ("id", "desiredStatus", "costPerHr", "machineId")},
        )

    async def _graphql(
        self, document: Mapping[str, Any], credentials: Credentials | None
    ) -> Mapping[str, Any]:
        """POST a GraphQL document and return its ``data``.

        GraphQL reports failures in an ``errors`` array with HTTP 200; those map to ``auth``
        when they are about the key and ``client`` otherwise (neither is retryable).
        """
        api_key = self.require_api_key(credentials)
        payload = await self.request_json(
            "POST", "/graphql", credentials=credentials, headers=bearer(api_key), json_body=document
        )
        body = self.expect_mapping(payload, "GraphQL response")
        errors = body.get("errors")
        if errors:
            message = "; ".join(
                str(error.get("message", error)) if isinstance(error, Mapping) else str(error)
                for error in (errors if isinstance(errors, list) else [errors])
            )[:300]
            lowered = message.lower()
            kind = "auth" if "unauthori" in lowered or "api key" in lowered else "client"
            raise self.error(f"GraphQL error: {message}", kind=kind, secrets=(api_key,))
        return self.expect_mapping(self.top_level(body, "data"), "data")


@dataclass(frozen=True, slots=True)
class _Datacenter:
    id: str
    location: Location
    availability: Availability


@dataclass(frozen=True, slots=True)
class _Datacenters:
    by_gpu: Mapping[str, list[_Datacenter]]
    skipped: FetchResult


def _datacenter_entry(entry: Any, by_gpu: dict[str, list[_Datacenter]]) -> Iterator[SkippedElement]:
    """Index one ``myself.datacenters`` entry by the GPU types it has; skip a malformed one."""
    dc_id = entry.get("id") if isinstance(entry, Mapping) else None
    if not isinstance(dc_id, str) or not dc_id.strip():
        yield SkippedElement("malformed element in datacenters")
        return
    dc_id = dc_id.strip()
    by_id = location_from_region_id(dc_id)
    described = entry.get("location")
    place = with_hint(parse_location(described), by_id) if isinstance(described, str) else by_id
    for stock in entry.get("gpuAvailability") or ():
        gpu_id = stock.get("gpuTypeId") if isinstance(stock, Mapping) else None
        if not isinstance(gpu_id, str) or not gpu_id:
            yield SkippedElement("malformed element in gpuAvailability")
            continue
        if stock.get("available") is False:
            continue
        level = _STOCK.get(stock.get("stockStatus") or "", "unavailable")
        by_gpu.setdefault(gpu_id, []).append(_Datacenter(dc_id, place, level))
