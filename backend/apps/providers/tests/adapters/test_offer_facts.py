"""Issue 12, offer facts, per adapter: where an offer is, list elements that are not offers,
the time a price was true, and spot prices measured like on-demand ones.

Records are real-shaped: field names and nesting of each provider's API, values as the
providers publish them (Vast.ai "City/State, CC" geolocations; Vultr airport-code locations;
Lambda region ids with "City, Country" descriptions; RunPod datacenter ids such as "US-TX-3";
CloudRift "us-central-tx-1"; Shadeform "helsinki-finland-1"; Verda "FIN-01"). Each kind has
the issue's example and at least three more members.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.providers.adapters.contract import FetchResult, ProviderOffer
from apps.providers.adapters.manual import ManualPriceListAdapter
from apps.providers.adapters.registry import default_registry
from apps.providers.adapters.replay import replay_credentials
from apps.providers.tests.adapters.conftest import (
    client_for,
    json_response,
    recorded_handler,
    recording,
)


async def fetch(provider: str, file: str, body: Any) -> FetchResult:
    """The provider's adapter over its recordings, `file` answered with `body`."""
    handler = recorded_handler({(provider, file): json_response(body)})
    async with client_for(handler) as client:
        adapter = default_registry.get_adapter(provider)(client)
        return await adapter.fetch_offers(replay_credentials(provider))


def place(offer: ProviderOffer) -> tuple[str | None, ...]:
    return (offer.country, offer.state, offer.city, offer.macro_region)


# ---- Vast.ai ----------------------------------------------------------------------------------


def vast_bundle(**fields: Any) -> dict[str, Any]:
    bundle = recording("vastai")["offers"][0]
    bundle.update(fields)
    return bundle


# Kind 2 (countries a closed table missed) and kind 8 (state where the payload says it).
VAST_GEOLOCATIONS = [
    ("Slovenia, SI", ("SI", None, None, "Europe")),
    ("Hungary, HU", ("HU", None, None, "Europe")),
    ("Russia, RU", ("RU", None, None, "Europe")),
    ("Lithuania, LT", ("LT", None, None, "Europe")),
    ("Greece, GR", ("GR", None, None, "Europe")),
    ("Croatia, HR", ("HR", None, None, "Europe")),
    ("Moldova, MD", ("MD", None, None, "Europe")),
    ("North Macedonia, MK", ("MK", None, None, "Europe")),
    ("California, US", ("US", "California", None, "North America")),
    ("Quebec, CA", ("CA", "Quebec", None, "North America")),
    ("Ontario, CA", ("CA", "Ontario", None, "North America")),
    ("Texas, US", ("US", "Texas", None, "North America")),
    ("Vietnam, VN", ("VN", None, None, "Asia-Pacific")),
    ("Israel, IL", ("IL", None, None, "Middle East")),
    ("South Africa, ZA", ("ZA", None, None, "Africa")),
    ("Brazil, BR", ("BR", None, None, "South America")),
    ("US", ("US", None, None, "North America")),
    (None, (None, None, None, None)),
    ("", (None, None, None, None)),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("geolocation", "expected"), VAST_GEOLOCATIONS)
async def test_vastai_geolocation_gives_iso_country_and_state(
    geolocation: str | None, expected: tuple[str | None, ...]
) -> None:
    result = await fetch(
        "vastai", "offers.json", {"offers": [vast_bundle(geolocation=geolocation)]}
    )

    (offer,) = result.offers
    assert place(offer) == expected
    assert offer.region == (geolocation or None)


# Kind 6: both prices cover GPUs plus the bundle's storage.
VAST_PRICES = [
    # dph_base, dph_total, min_bid, storage_total_cost -> spot
    (5.2912, 5.582159, 2.504542, None, Decimal("2.7955")),  # the issue's recording
    (0.35, 0.3856, 0.20, None, Decimal("0.2356")),  # RTX 4090, 0.0356 storage
    (1.60, 1.60, 0.90, None, Decimal("0.9000")),  # no storage charged
    (None, 2.10, 1.00, 0.08, Decimal("1.0800")),  # no dph_base: storage_total_cost
    (None, 2.10, 1.00, None, Decimal("1.0000")),  # nothing says storage
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("base", "total", "min_bid", "storage", "spot"), VAST_PRICES)
async def test_vastai_spot_price_includes_what_dph_total_includes(
    base: float | None, total: float, min_bid: float, storage: float | None, spot: Decimal
) -> None:
    bundle = vast_bundle(dph_base=base, dph_total=total, min_bid=min_bid)
    if base is None:
        del bundle["dph_base"]
    if storage is not None:
        bundle["storage_total_cost"] = storage
    result = await fetch("vastai", "offers.json", {"offers": [bundle]})

    (offer,) = result.offers
    assert offer.spot_price_per_hour == spot
    assert offer.spot_price_per_hour >= Decimal(str(min_bid))


@pytest.mark.asyncio
async def test_vastai_base_above_total_skips_the_bundle() -> None:
    result = await fetch(
        "vastai", "offers.json", {"offers": [vast_bundle(dph_base=3.0, dph_total=2.0)]}
    )

    assert result.offers == ()
    assert result.skipped == 1


# ---- Vultr --------------------------------------------------------------------------------------


def vultr_plan(locations: Any) -> dict[str, Any]:
    plan = next(p for p in recording("vultr")["plans"] if p["id"] == "vcg-a100-1c-6g-4vram")
    return {**plan, "id": "vcg-a100-8c-60g-80vram", "gpu_vram_gb": 80, "locations": locations}


# Kind 3: empty, null and malformed list elements are skipped and counted, never offers.
VULTR_LOCATIONS = [
    (["ewr", "", "ord"], ["ewr", "ord"], 1),  # the issue's example
    (["ewr", None, "ord"], ["ewr", "ord"], 1),
    (["  ", "sjc"], ["sjc"], 1),
    ([{}, 42, "fra"], ["fra"], 2),
    (["lax", "ams", "nrt"], ["lax", "ams", "nrt"], 0),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("locations", "regions", "skipped"), VULTR_LOCATIONS)
async def test_vultr_blank_locations_are_counted_not_offered(
    locations: list[Any], regions: list[str], skipped: int
) -> None:
    result = await fetch("vultr", "offers.json", {"plans": [vultr_plan(locations)]})

    assert [offer.region for offer in result.offers] == regions
    assert all(not offer.external_id.endswith(":") for offer in result.offers)
    assert result.elements_skipped == skipped
    assert result.skipped == 0
    assert sum(result.skip_reasons.values()) == skipped


VULTR_PLACES = [
    ("ewr", ("US", "New Jersey", None, "North America")),
    ("sjc", ("US", "California", "Silicon Valley", "North America")),
    ("ord", ("US", "Illinois", "Chicago", "North America")),
    ("fra", ("DE", None, "Frankfurt am Main", "Europe")),
    ("tlv", ("IL", None, "Tel Aviv", "Middle East")),
    ("nrt", ("JP", "Tokyo", None, "Asia-Pacific")),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("location", "expected"), VULTR_PLACES)
async def test_vultr_location_ids_are_placed(location: str, expected: tuple[Any, ...]) -> None:
    result = await fetch("vultr", "offers.json", {"plans": [vultr_plan([location])]})

    (offer,) = result.offers
    assert place(offer) == expected
    assert offer.region == location


# ---- Lambda -------------------------------------------------------------------------------------


def lambda_payload(regions: list[Any]) -> dict[str, Any]:
    payload = recording("lambda")
    first = next(iter(payload["data"]))
    entry = payload["data"][first]
    entry["regions_with_capacity_available"] = regions
    return {"data": {first: entry}}


LAMBDA_REGIONS = [
    ({"name": "us-west-1", "description": "California, USA"}, ("US", "California", None)),
    ({"name": "us-east-1", "description": "Virginia, USA"}, ("US", "Virginia", None)),
    ({"name": "me-west-1", "description": "Tel Aviv, Israel"}, ("IL", None, "Tel Aviv")),
    ({"name": "asia-south-1", "description": "Bangalore, India"}, ("IN", None, "Bangalore")),
    ({"name": "europe-central-1", "description": "Frankfurt, Germany"}, ("DE", None, None)),
    ({"name": "us-south-1"}, ("US", None, None)),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("region", "expected"), LAMBDA_REGIONS)
async def test_lambda_region_descriptions_are_placed(
    region: dict[str, str], expected: tuple[Any, ...]
) -> None:
    result = await fetch("lambda", "offers.json", lambda_payload([region]))

    (offer,) = result.offers
    assert (offer.country, offer.state, offer.city if expected[2] else None) == expected
    assert offer.region == region["name"]


@pytest.mark.asyncio
async def test_lambda_blank_regions_are_counted_not_offered() -> None:
    regions = [{"name": ""}, None, {"description": "Utah, USA"}, {"name": "us-west-3"}]
    result = await fetch("lambda", "offers.json", lambda_payload(regions))

    assert [offer.region for offer in result.offers] == ["us-west-3"]
    assert result.elements_skipped == 3
    assert result.skip_reasons == {
        "empty element in regions_with_capacity_available": 1,
        "malformed element in regions_with_capacity_available": 2,
    }


# ---- RunPod -------------------------------------------------------------------------------------


def runpod_datacenters(entries: list[Any]) -> dict[str, Any]:
    return {"data": {"myself": {"id": "replay-user", "datacenters": entries}}}


def runpod_dc(dc_id: Any, location: str | None, gpu: str = "NVIDIA H100 80GB HBM3") -> Any:
    return {
        "id": dc_id,
        "name": dc_id,
        "location": location,
        "gpuAvailability": [{"gpuTypeId": gpu, "available": True, "stockStatus": "High"}],
    }


# Kind 8: RunPod offers are placed when the payload says where (not all "global").
RUNPOD_DATACENTERS = [
    ("US-TX-3", "Dallas, United States", ("US", "Texas", "Dallas", "North America")),
    ("EU-RO-1", "Romania", ("RO", None, None, "Europe")),
    ("CA-MTL-1", "Montréal, Canada", ("CA", None, "Montreal", "North America")),
    ("EUR-IS-1", None, ("IS", None, None, "Europe")),
    ("AP-JP-1", "Tokyo, Japan", ("JP", "Tokyo", None, "Asia-Pacific")),
    ("US-KS-2", None, ("US", "Kansas", None, "North America")),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("dc_id", "location", "expected"), RUNPOD_DATACENTERS)
async def test_runpod_secure_offers_are_placed_in_their_datacenter(
    dc_id: str, location: str | None, expected: tuple[Any, ...]
) -> None:
    result = await fetch(
        "runpod", "datacenters.json", runpod_datacenters([runpod_dc(dc_id, location)])
    )

    offers = {offer.external_id: offer for offer in result.offers}
    secure = offers[f"NVIDIA H100 80GB HBM3:secure:{dc_id}"]
    assert place(secure) == expected
    assert secure.region == dc_id
    assert offers["NVIDIA H100 80GB HBM3:community"].region is None


@pytest.mark.asyncio
async def test_runpod_without_datacenter_answer_keeps_region_less_offers() -> None:
    handler = recorded_handler(
        {("runpod", "datacenters.json"): json_response({"errors": [{"message": "denied"}]})}
    )
    async with client_for(handler) as client:
        result = await default_registry.get_adapter("runpod")(client).fetch_offers(
            replay_credentials("runpod")
        )

    secure = {o.external_id: o for o in result.offers}["NVIDIA H100 80GB HBM3:secure"]
    assert secure.region is None
    assert secure.country is None


@pytest.mark.asyncio
async def test_runpod_malformed_datacenters_are_counted() -> None:
    entries = [runpod_dc(None, "Nowhere"), runpod_dc("", None), runpod_dc("US-TX-3", None)]
    entries[2]["gpuAvailability"].append({"gpuTypeId": ""})
    result = await fetch("runpod", "datacenters.json", runpod_datacenters(entries))

    assert result.elements_skipped == 3
    assert result.skip_reasons == {
        "malformed element in datacenters": 2,
        "malformed element in gpuAvailability": 1,
    }
    assert "NVIDIA H100 80GB HBM3:secure:US-TX-3" in {o.external_id for o in result.offers}


# ---- CloudRift ----------------------------------------------------------------------------------


def cloudrift_payload(nodes_per_dc: dict[str, Any]) -> dict[str, Any]:
    payload = recording("cloudrift")
    instance_type = payload["data"]["instance_types"][0]
    variant = {**instance_type["variants"][0], "nodes_per_dc": nodes_per_dc}
    return {"data": {"instance_types": [{**instance_type, "variants": [variant]}]}}


CLOUDRIFT_DATACENTERS = [
    ("us-central-tx-1", ("US", "Texas", None, "North America")),
    ("us-east-nc-nr-1", ("US", "North Carolina", None, "North America")),
    ("eu-north-se-1", ("SE", None, None, "Europe")),
    ("eu-south-03", (None, None, None, "Europe")),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("datacenter", "expected"), CLOUDRIFT_DATACENTERS)
async def test_cloudrift_datacenter_ids_are_placed(
    datacenter: str, expected: tuple[Any, ...]
) -> None:
    result = await fetch("cloudrift", "offers.json", cloudrift_payload({datacenter: 2}))

    (offer,) = result.offers
    assert place(offer) == expected


@pytest.mark.asyncio
async def test_cloudrift_blank_datacenters_are_counted_not_offered() -> None:
    nodes = {"": 3, "us-central-tx-1": 1, "eu-north-se-1": None, "us-east-nc-nr-1": -2}
    result = await fetch("cloudrift", "offers.json", cloudrift_payload(nodes))

    assert [offer.region for offer in result.offers] == ["us-central-tx-1"]
    assert result.elements_skipped == 3


# ---- Shadeform ----------------------------------------------------------------------------------


def shadeform_payload(availability: list[Any]) -> dict[str, Any]:
    record = recording("shadeform")["instance_types"][0]
    return {"instance_types": [{**record, "availability": availability}]}


SHADEFORM_REGIONS = [
    ("helsinki-finland-1", ("FI", None, "Helsinki", "Europe")),
    ("new-jersey-usa-1", ("US", "New Jersey", None, "North America")),
    ("houston-usa-1", ("US", "Texas", "Houston", "North America")),
    ("tokyo-japan-1", ("JP", "Tokyo", None, "Asia-Pacific")),
    ("canada-1", ("CA", None, None, "North America")),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("region", "expected"), SHADEFORM_REGIONS)
async def test_shadeform_region_ids_are_placed(region: str, expected: tuple[Any, ...]) -> None:
    result = await fetch(
        "shadeform", "offers.json", shadeform_payload([{"region": region, "available": True}])
    )

    (offer,) = result.offers
    assert place(offer) == expected


@pytest.mark.asyncio
async def test_shadeform_blank_regions_are_counted_not_offered() -> None:
    slots = [{"region": "", "available": True}, {"available": True}, None, {"region": "canada-1"}]
    result = await fetch("shadeform", "offers.json", shadeform_payload(slots))

    assert [offer.region for offer in result.offers] == ["canada-1"]
    assert result.elements_skipped == 3


# ---- TensorDock ---------------------------------------------------------------------------------


def tensordock_payload(location: dict[str, Any], gpus: dict[str, Any] | None = None) -> Any:
    payload = recording("tensordock")
    host_id, node = next(iter(payload["hostnodes"].items()))
    node = {**node, "location": location}
    if gpus is not None:
        node["specs"] = {**node["specs"], "gpu": gpus}
    return {"success": True, "hostnodes": {host_id: node}}


TENSORDOCK_LOCATIONS = [
    (
        {"country": "United States", "region": "California", "city": "Los Angeles"},
        ("US", "California", "Los Angeles", "North America"),
    ),
    (
        {"country": "Canada", "region": "Quebec", "city": "Montreal"},
        ("CA", "Quebec", "Montreal", "North America"),
    ),
    ({"country": "Czechia", "region": "", "city": "Prague"}, ("CZ", None, "Prague", "Europe")),
    ({"country": "Viet Nam", "region": None, "city": None}, ("VN", None, None, "Asia-Pacific")),
    ({"country": "Türkiye", "region": "", "city": "İstanbul"}, ("TR", "Istanbul", None, "Europe")),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("location", "expected"), TENSORDOCK_LOCATIONS)
async def test_tensordock_locations_are_placed(
    location: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    result = await fetch("tensordock", "offers.json", tensordock_payload(location))

    assert result.offers
    assert {place(offer) for offer in result.offers} == {expected}


@pytest.mark.asyncio
async def test_tensordock_blank_gpu_entries_are_counted_not_offered() -> None:
    payload = recording("tensordock")
    node = next(iter(payload["hostnodes"].values()))
    model, gpu = next(iter(node["specs"]["gpu"].items()))
    gpus = {"": gpu, model: gpu, "geforcertx4090-pcie-24gb": None}
    result = await fetch("tensordock", "offers.json", tensordock_payload(node["location"], gpus))

    assert {offer.gpu_name_raw for offer in result.offers} == {model}
    assert result.elements_skipped == 2


# ---- Verda --------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_verda_locations_are_placed_and_blank_ones_counted() -> None:
    availability = [
        {"location_code": "FIN-01", "availabilities": ["1H100.80S.30V"]},
        {"location_code": "ICE-01", "availabilities": ["1H100.80S.30V"]},
        {"location_code": "", "availabilities": ["1H100.80S.30V"]},
        {"availabilities": []},
        {"location_code": "FIN-02", "availabilities": "1H100.80S.30V"},
    ]
    result = await fetch("verda", "availability.json", availability)

    regions = {offer.region: offer for offer in result.offers if offer.gpu_count == 1}
    assert set(regions) == {"FIN-01", "ICE-01"}
    assert place(regions["FIN-01"]) == ("FI", None, None, "Europe")
    assert place(regions["ICE-01"]) == ("IS", None, "Keflavik", "Europe")
    assert result.elements_skipped == 3


# ---- manual price lists ----------------------------------------------------------------------


def manual_adapter(tmp_path: Path, document: dict[str, Any]) -> ManualPriceListAdapter:
    path = tmp_path / f"list-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    class TestList(ManualPriceListAdapter):
        name = "test-list"
        display_name = "Test list"
        website_url = api_base_url = documentation_url = "https://example.com"
        data_file = str(path)

    return TestList(httpx.AsyncClient())


def manual_entry(**fields: Any) -> dict[str, Any]:
    entry = {"id": "h100", "gpu_name": "NVIDIA HGX H100", "gpu_count": 8, "price_per_hour": "49.24"}
    entry.update(fields)
    return entry


# Kind 5: the list's date is every offer's price_as_of.
MANUAL_DATES = [
    ("2024-07-28", datetime(2024, 7, 28, tzinfo=UTC)),  # the issue's CoreWeave list
    ("2026-11-26", datetime(2026, 11, 26, tzinfo=UTC)),
    ("2025-01-31T12:00:00+00:00", datetime(2025, 1, 31, 12, tzinfo=UTC)),
    ("2025-03-01T09:30:00", datetime(2025, 3, 1, 9, 30, tzinfo=UTC)),
    (None, None),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("as_of", "expected"), MANUAL_DATES)
async def test_manual_list_date_is_the_price_time(
    tmp_path: Path, as_of: str | None, expected: datetime | None
) -> None:
    adapter = manual_adapter(tmp_path, {"as_of": as_of, "offers": [manual_entry()]})

    result = await adapter.fetch_offers(None)

    assert [offer.price_as_of for offer in result.offers] == [expected]


@pytest.mark.asyncio
async def test_manual_list_with_unreadable_date_is_a_bad_payload(tmp_path: Path) -> None:
    adapter = manual_adapter(tmp_path, {"as_of": "last summer", "offers": [manual_entry()]})

    with pytest.raises(Exception, match="not a date") as caught:
        await adapter.fetch_offers(None)
    assert getattr(caught.value, "kind", None) == "bad_payload"


MANUAL_REGIONS: list[tuple[list[Any], dict[str, str], list[tuple[Any, ...]], int]] = [
    (["US-EAST-04", ""], {}, [("US", None, None, "North America")], 1),
    (["NY2", None], {"NY2": "New York, US"}, [("US", "New York", None, "North America")], 1),
    (["AMS1"], {"AMS1": "Amsterdam, NL"}, [("NL", None, "Amsterdam", "Europe")], 0),
    (["EU-SOUTH-03", 7], {}, [(None, None, None, "Europe")], 1),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("regions", "places", "expected", "skipped"), MANUAL_REGIONS)
async def test_manual_list_regions_are_placed_and_blank_ones_counted(
    tmp_path: Path,
    regions: list[Any],
    places: dict[str, str],
    expected: list[tuple[Any, ...]],
    skipped: int,
) -> None:
    document = {
        "as_of": "2026-11-26",
        "locations": places,
        "offers": [manual_entry(regions=regions)],
    }
    result = await manual_adapter(tmp_path, document).fetch_offers(None)

    assert [place(offer) for offer in result.offers] == expected
    assert result.elements_skipped == skipped


# ---- shared ---------------------------------------------------------------------------------


PER_GPU: list[tuple[str, int, Decimal]] = [
    ("49.2400", 8, Decimal("6.1550")),
    ("2.6900", 1, Decimal("2.6900")),
    ("12.7000", 4, Decimal("3.1750")),
    ("0.1000", 3, Decimal("0.0333")),
]


@pytest.mark.parametrize(("price", "count", "per_gpu"), PER_GPU)
def test_offer_price_per_gpu_hour(price: str, count: int, per_gpu: Decimal) -> None:
    offer = ProviderOffer(
        external_id="x", gpu_name_raw="H100", gpu_count=count, price_per_hour=Decimal(price)
    )

    assert offer.price_per_gpu_hour == per_gpu


def test_offer_price_time_must_be_aware() -> None:
    make: Callable[[], ProviderOffer] = lambda: ProviderOffer(  # noqa: E731
        external_id="x",
        gpu_name_raw="H100",
        gpu_count=1,
        price_per_hour=Decimal("1"),
        price_as_of=datetime(2026, 1, 1),  # noqa: DTZ001
    )
    with pytest.raises(ValueError, match="aware"):
        make()
