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
offers with ``gpu_count=1``: Secure Cloud and Community Cloud. The spot ("interruptible") price
is the ``spot_price_per_hour`` of the same offer. RunPod does not tie these prices to a region,
so ``region`` is None; the cloud type is part of ``external_id`` and ``raw``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Final

from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import (
    AdapterError,
    Availability,
    BookingResult,
    Credentials,
    FetchResult,
    ProviderOffer,
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
        return parse_records(gpu_types, self._parse_gpu_type)

    def _parse_gpu_type(self, gpu_type: Mapping[str, Any]) -> Iterator[ProviderOffer]:
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
            yield ProviderOffer(
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
