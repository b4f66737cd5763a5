"""TensorDock marketplace adapter.

Sources used for the API shape:
- TensorDock Marketplace API (Postman collection linked from https://docs.tensordock.com,
  documenter.getpostman.com/view/20973002/2s8YzMYRDc): ``GET
  https://marketplace.tensordock.com/api/v0/client/deploy/hostnodes`` (public) →
  ``{"success": true, "hostnodes": {<id>: {location{country, region, city}, specs{cpu{amount,
  price}, ram{amount, price}, storage{amount, price}, gpu{<model>: {amount, price, vram}}},
  networking{receive, send}, status{online}}}}``.
- dstackai/gpuhunt ``providers/tensordock.py`` (per-resource hourly prices; GPU model ids like
  "geforcertx4090-pcie-24gb").

TensorDock prices each resource separately and lets the renter pick quantities. The adapter
lists two standard configurations per host and GPU model: one GPU with its proportional share
of the host's vCPUs and RAM, and (when the host has several) all of its GPUs with all vCPUs and
RAM; both with a 100 GB disk. The hourly price is the sum of the documented per-unit prices.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import (
    Credentials,
    FetchResult,
    ProviderOffer,
    RecordError,
    SkippedElement,
)
from apps.providers.adapters.geography import location_fields, parse_location
from apps.providers.adapters.parsing import (
    interconnect_from_name,
    parse_records,
    require,
    to_decimal,
    to_float,
    to_int,
)

STANDARD_DISK_GB: Final = 100


class TensorDockAdapter(ProviderAdapter):
    """TensorDock marketplace: public host-node listing, no key needed, no booking."""

    name = "tensordock"
    display_name = "TensorDock"
    website_url = "https://tensordock.com"
    api_base_url = "https://marketplace.tensordock.com/api/v0"
    documentation_url = "https://documenter.getpostman.com/view/20973002/2s8YzMYRDc"
    requires_credentials = False
    supports_booking = False
    price_source = "api"

    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """`GET /client/deploy/hostnodes`: one-GPU and all-GPU configurations per host and GPU."""
        payload = await self.request_json(
            "GET", "/client/deploy/hostnodes", credentials=credentials
        )
        hostnodes = self.expect_mapping(self.top_level(payload, "hostnodes"), "hostnodes")
        return parse_records(
            hostnodes.items(), self._parse_hostnode, record_id=lambda item: item[0]
        )

    def _parse_hostnode(
        self, item: tuple[str, Mapping[str, Any]]
    ) -> Iterator[ProviderOffer | SkippedElement]:
        host_id, node = item
        specs = require(node, "specs")
        location = require(node, "location")
        cpu, ram, storage = require(specs, "cpu"), require(specs, "ram"), require(specs, "storage")
        host_cpus = to_int(require(cpu, "amount"), "cpu.amount")
        host_ram = to_int(require(ram, "amount"), "ram.amount")
        disk = min(STANDARD_DISK_GB, to_int(require(storage, "amount"), "storage.amount"))
        cpu_price = to_decimal(require(cpu, "price"), "cpu.price")
        ram_price = to_decimal(require(ram, "price"), "ram.price")
        storage_price = Decimal(str(require(storage, "price")))
        online = bool((node.get("status") or {}).get("online", True))
        parts = [str(location.get(key) or "").strip() for key in ("city", "region")]
        region = ", ".join(part for part in parts if part) or None
        place = location_fields(parse_location(region, country_hint=location.get("country")))
        receive = (node.get("networking") or {}).get("receive")
        gpus: dict[str, Mapping[str, Any]] = {}
        for model, gpu in require(specs, "gpu").items():
            if str(model).strip() and isinstance(gpu, Mapping) and gpu:
                gpus[str(model).strip()] = gpu
            else:
                yield SkippedElement("empty element in specs.gpu")
        if not gpus:
            raise RecordError("host lists no GPU")
        total_gpus = sum(to_int(require(g, "amount"), "gpu.amount") for g in gpus.values())
        for model, gpu in gpus.items():
            amount = to_int(require(gpu, "amount"), "gpu.amount")
            gpu_price = to_decimal(require(gpu, "price"), "gpu.price")
            counts = sorted({1, amount}) if amount > 0 else [1]
            for count in counts:
                share = count / max(total_gpus, 1)
                cpus = max(1, int(host_cpus * share)) if count < total_gpus else host_cpus
                memory = max(2, int(host_ram * share)) if count < total_gpus else host_ram
                price = (
                    gpu_price * count + cpu_price * cpus + ram_price * memory + storage_price * disk
                )
                yield ProviderOffer(
                    external_id=f"{host_id}:{model}:{count}",
                    gpu_name_raw=model,
                    gpu_count=count,
                    gpu_memory_gb=to_float(require(gpu, "vram"), "gpu.vram"),
                    cpu_cores=float(cpus),
                    ram_gb=float(memory),
                    storage_gb=float(disk),
                    storage_type="NVMe",
                    price_per_hour=to_decimal(price, "price"),
                    region=region,
                    **place,
                    availability="available" if online and amount >= count else "unavailable",
                    interconnect=interconnect_from_name(model),
                    network_speed_gbps=None
                    if receive is None
                    else to_float(receive, "receive") / 1000,
                    is_spot=False,
                    raw={"hostnode": host_id, "gpu_model": model, "gpus_free": amount},
                )
