"""Each adapter parses its recorded response into exact, expected offers."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from apps.providers.adapters.contract import FetchResult, ProviderOffer
from apps.providers.adapters.registry import default_registry
from apps.providers.adapters.replay import RECORDINGS_DIR, build_client, replay_credentials

#: Offers each recording yields (the demo market depends on these numbers).
EXPECTED_COUNTS = {
    "vastai": 400,
    "runpod": 44,  # Secure Cloud offers per datacenter (datacenters.json)
    "lambda": 35,
    "verda": 72,
    "vultr": 46,
    "cloudrift": 21,
    "tensordock": 34,
    "shadeform": 30,
    "paperspace": 24,
    "coreweave": 19,
}


async def fetch(name: str) -> FetchResult:
    async with build_client("replay", RECORDINGS_DIR) as client:
        adapter = default_registry.get_adapter(name)(client)
        return await adapter.fetch_offers(replay_credentials(name))


def by_id(result: FetchResult) -> dict[str, ProviderOffer]:
    return {offer.external_id: offer for offer in result.offers}


@pytest.mark.asyncio
@pytest.mark.parametrize(("name", "count"), sorted(EXPECTED_COUNTS.items()))
async def test_recording_yields_expected_offer_count(name: str, count: int) -> None:
    result = await fetch(name)

    assert len(result.offers) == count
    assert result.skipped == 0
    assert len({offer.external_id for offer in result.offers}) == count


def test_recordings_form_a_demo_market_of_500_offers_over_8_http_providers() -> None:
    http_counts = {
        name: count
        for name, count in EXPECTED_COUNTS.items()
        if default_registry.get_adapter(name).price_source == "api"
    }
    assert len(http_counts) >= 8
    assert sum(http_counts.values()) >= 500


@pytest.mark.asyncio
async def test_vastai_bundle_maps_units_and_prices() -> None:
    offers = by_id(await fetch("vastai"))

    offer = offers["24000000"]
    assert offer.gpu_name_raw == "A100 PCIE"
    assert offer.gpu_count == 8
    assert offer.gpu_memory_gb == 40.0  # 40960 MB
    assert offer.cpu_cores == 128.0
    assert offer.ram_gb == 256.0  # 262144 MB, whole host (all cores effective)
    assert offer.storage_gb == 2000.0
    assert offer.price_per_hour == Decimal("5.5822")  # dph_total 5.582159
    # min_bid 2.504542 plus the storage dph_total adds to dph_base (5.5822 - 5.2912 = 0.2910)
    assert offer.spot_price_per_hour == Decimal("2.7955")
    assert offer.region == "Vietnam, VN"
    assert offer.country == "VN"
    assert offer.interconnect == "PCIe"
    assert offer.network_speed_gbps == 3.405  # inet_down 3404.8 Mbit/s
    assert offer.reliability == 0.9075
    assert offer.availability == "available"
    assert offer.is_spot is False

    second = offers["24000037"]
    assert (second.gpu_name_raw, second.gpu_count, second.gpu_memory_gb) == ("L40", 4, 45.0)
    assert second.price_per_hour == Decimal("2.1165")
    assert second.country == "US"
    assert second.ram_gb == 128.0


@pytest.mark.asyncio
async def test_runpod_gpu_type_gives_secure_and_community_offers() -> None:
    offers = by_id(await fetch("runpod"))

    secure = offers["NVIDIA H100 80GB HBM3:secure:US-TX-3"]
    assert (secure.region, secure.country, secure.state, secure.city) == (
        "US-TX-3",
        "US",
        "Texas",
        "Dallas",
    )
    assert secure.macro_region == "North America"
    assert offers["NVIDIA H100 80GB HBM3:secure:EU-RO-1"].country == "RO"
    assert secure.gpu_name_raw == "NVIDIA H100 80GB HBM3"  # the id: the most specific name
    assert secure.gpu_other_names == ("H100 SXM",)  # the display name
    assert secure.gpu_count == 1
    assert secure.gpu_memory_gb == 80.0
    assert secure.price_per_hour == Decimal("2.6900")
    assert secure.spot_price_per_hour == Decimal("1.7500")
    assert secure.cpu_cores == 24.0
    assert secure.ram_gb == 125.0
    assert secure.availability == "available"  # stockStatus High
    assert secure.interconnect == "SXM"
    assert secure.raw["cloud_type"] == "SECURE"
    community = offers["NVIDIA H100 80GB HBM3:community"]
    assert community.price_per_hour == Decimal("2.3900")
    assert community.spot_price_per_hour == Decimal("1.5500")
    assert community.region is None  # Community Cloud hosts are worldwide

    nvl = offers["NVIDIA H100 NVL:secure:EUR-IS-1"]
    assert nvl.availability == "limited"  # stockStatus Low
    assert nvl.interconnect == "NVL"
    assert "NVIDIA H100 NVL:community" not in offers  # communityCloud false
    assert offers["Tesla V100-SXM2-32GB:secure"].availability == "unavailable"  # no stock
    assert offers["NVIDIA B200:secure:EUR-IS-1"].spot_price_per_hour is None
    assert not any(key.startswith("unknown") for key in offers)


@pytest.mark.asyncio
async def test_lambda_offers_one_per_region_and_lists_sold_out_types() -> None:
    offers = by_id(await fetch("lambda"))

    sxm = offers["gpu_8x_h100_sxm5:europe-central-1"]
    assert sxm.gpu_name_raw == "H100 (80 GB SXM5)"
    assert sxm.gpu_count == 8
    assert sxm.gpu_memory_gb == 80.0
    assert sxm.price_per_hour == Decimal("23.9200")  # 2392 cents
    assert (sxm.cpu_cores, sxm.ram_gb, sxm.storage_gb) == (208.0, 1800.0, 22000.0)
    assert sxm.region == "europe-central-1"
    assert sxm.country == "DE"
    assert sxm.interconnect == "SXM5"
    assert offers["gpu_1x_a100:asia-northeast-1"].country == "JP"
    assert offers["gpu_1x_a100:asia-northeast-1"].interconnect == "PCIe"

    sold_out = offers["gpu_2x_h100_sxm5"]
    assert sold_out.region is None
    assert sold_out.availability == "unavailable"
    assert sold_out.price_per_hour == Decimal("6.3800")
    assert not any(key.startswith("cpu_") for key in offers)


@pytest.mark.asyncio
async def test_verda_types_are_offered_in_every_location_with_availability() -> None:
    offers = by_id(await fetch("verda"))

    h100 = offers["8H100.80S.176V:FIN-01"]
    assert h100.gpu_name_raw == "H100 SXM5 80GB"
    assert h100.gpu_count == 8
    assert h100.gpu_memory_gb == 80.0  # 640 GB total / 8
    assert h100.price_per_hour == Decimal("21.2000")
    assert h100.spot_price_per_hour == Decimal("8.4800")
    assert h100.availability == "available"
    assert h100.country == "FI"
    assert h100.interconnect == "SXM5"
    assert offers["8H100.80S.176V:FIN-02"].availability == "unavailable"
    assert offers["1H100.80S.30V:ICE-01"].country == "IS"
    assert offers["1H100.80S.30V:ICE-01"].availability == "available"
    assert not any(key.startswith("CPU.") for key in offers)


@pytest.mark.asyncio
async def test_vultr_whole_card_plans_per_location_and_slices_left_out() -> None:
    offers = by_id(await fetch("vultr"))

    a100 = offers["vcg-a100-96c-960g-640vram:sjc"]
    assert a100.gpu_name_raw == "NVIDIA A100"
    assert a100.gpu_count == 8
    assert a100.gpu_memory_gb == 80.0
    assert a100.price_per_hour == Decimal("19.1780")
    assert (a100.cpu_cores, a100.ram_gb, a100.storage_gb) == (96.0, 960.0, 11200.0)
    assert a100.country == "US"
    assert offers["vcg-l40s-16c-180g-48vram:fra"].country == "DE"
    assert offers["vcg-gh200-72c-480g-96vram"].availability == "unavailable"
    assert not any(key.startswith("vcg-a100-1c-6g-4vram") for key in offers)


@pytest.mark.asyncio
async def test_cloudrift_variants_per_datacenter() -> None:
    offers = by_id(await fetch("cloudrift"))

    rtx = offers["rtx49-30-200-2000-nr-4:us-east-nc-nr-1"]
    assert rtx.gpu_name_raw == "NVIDIA GeForce RTX 4090"
    assert rtx.gpu_count == 4
    assert rtx.gpu_memory_gb == 24.0
    assert rtx.price_per_hour == Decimal("1.5600")  # 156 cents
    assert (rtx.cpu_cores, rtx.ram_gb, rtx.storage_gb) == (30.0, 200.0, 2000.0)
    assert rtx.country == "US"
    assert rtx.availability == "available"
    sweden = offers["rtx49-7-50-500-nr-1:eu-north-se-1"]
    assert (sweden.country, sweden.availability) == ("SE", "unavailable")
    assert offers["h100-26-225-2000-sxm-1"].availability == "unavailable"


@pytest.mark.asyncio
async def test_tensordock_prices_sum_per_resource_rates() -> None:
    offers = by_id(await fetch("tensordock"))

    offer = offers["e8e25d94-81e7-436f-a099-6f031600a35a:geforcertx3090-pcie-24gb:1"]
    # 0.20 GPU + 16 vCPU x 0.003 + 512 GB x 0.002 + 100 GB x 0.00005
    assert offer.price_per_hour == Decimal("1.2770")
    assert (offer.gpu_count, offer.gpu_memory_gb) == (1, 24.0)
    assert offer.region == "New York City, New York"
    assert offer.country == "US"
    assert offer.network_speed_gbps == 10.0
    assert offer.availability == "available"
    assert offer.interconnect == "PCIe"


@pytest.mark.asyncio
async def test_shadeform_offers_per_cloud_and_region() -> None:
    offers = by_id(await fetch("shadeform"))

    offer = offers["datacrunch:1H100.80S.30V:helsinki-finland-2"]
    assert offer.gpu_name_raw == "H100"
    assert offer.price_per_hour == Decimal("2.6500")  # 265 cents
    assert offer.country == "FI"
    assert offer.interconnect == "SXM5"
    assert offer.raw["cloud"] == "datacrunch"
    assert offers["lambdalabs:gpu_1x_h100_sxm5:us-west-1"].availability == "unavailable"
    assert offers["hyperstack:n3-A100x1:norway-1"].country == "NO"
    assert offers["hyperstack:n3-A100x1:norway-1"].interconnect == "PCIe"


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["paperspace", "coreweave"])
async def test_manual_price_lists_make_no_http_call(name: str) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected HTTP call {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        adapter = default_registry.get_adapter(name)(client)
        result = await adapter.fetch_offers(None)

    assert adapter.price_source == "manual"
    assert len(result.offers) == EXPECTED_COUNTS[name]
    assert all(offer.raw["as_of"] == "2026-11-26" for offer in result.offers)
    assert all(offer.raw["source"] for offer in result.offers)


@pytest.mark.asyncio
async def test_manual_price_list_values() -> None:
    paperspace = by_id(await fetch("paperspace"))
    coreweave = by_id(await fetch("coreweave"))

    a100 = paperspace["A100-80G:AMS1"]
    assert (a100.gpu_name_raw, a100.gpu_count, a100.gpu_memory_gb) == ("A100 80GB", 1, 80.0)
    assert a100.price_per_hour == Decimal("3.1800")
    assert a100.country == "NL"
    h100 = coreweave["gd-8xh100ib-i128:EU-SOUTH-03"]
    assert h100.price_per_hour == Decimal("49.2400")
    assert h100.price_per_gpu_hour == Decimal("6.1550")
    assert h100.interconnect == "SXM5"
