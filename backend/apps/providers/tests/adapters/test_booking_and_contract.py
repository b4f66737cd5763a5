"""Booking request shapes, credential handling, the registry and the offer invariants."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from apps.providers.adapters.contract import AdapterError, Credentials, ProviderOffer, RecordError
from apps.providers.adapters.geography import country_from_tokens
from apps.providers.adapters.lambda_cloud import LambdaAdapter
from apps.providers.adapters.manual import PaperspaceAdapter
from apps.providers.adapters.parsing import interconnect_from_name
from apps.providers.adapters.registry import (
    ProviderRegistry,
    UnknownProviderError,
    default_registry,
)
from apps.providers.adapters.replay import RECORDINGS_DIR, build_client, replay_credentials
from apps.providers.adapters.runpod import RunPodAdapter
from apps.providers.adapters.vastai import VastAiAdapter
from apps.providers.adapters.verda import VerdaAdapter
from apps.providers.adapters.vultr import VultrAdapter

from .conftest import Recorder, client_for, recorded_handler, recording

SECRET = "sk-live-SECRET-0123456789abcdef"


def offer(**overrides: object) -> ProviderOffer:
    fields: dict[str, object] = {
        "external_id": "42",
        "gpu_name_raw": "RTX 4090",
        "gpu_count": 1,
        "price_per_hour": Decimal("0.3400"),
        "storage_gb": 100.0,
    }
    fields.update(overrides)
    return ProviderOffer(**fields)  # type: ignore[arg-type]


# ---- booking ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_vastai_booking_puts_the_ask_with_bearer_key() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=recording("vastai", "book.json")))
    async with client_for(recorder) as client:
        result = await VastAiAdapter(client).book_instance(
            offer(external_id="24000037", price_per_hour=Decimal("2.1165")),
            4.0,
            Credentials(api_key=SECRET),
        )

    (request,) = recorder.requests
    assert request.method == "PUT"
    assert str(request.url) == "https://console.vast.ai/api/v0/asks/24000037/"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert json.loads(request.content) == {
        "client_id": "me",
        "image": VastAiAdapter.default_image,
        "disk": 32.0,
        "runtype": "ssh",
        "label": "gpubroker",
    }
    assert SECRET not in str(request.url)
    assert result.external_booking_id == "7835610"
    assert result.price_per_hour == Decimal("2.1165")
    assert result.provider == "vastai"


@pytest.mark.asyncio
async def test_vastai_refused_booking_is_a_client_error() -> None:
    recorder = Recorder(
        lambda r: httpx.Response(200, json={"success": False, "msg": "no_such_ask"})
    )
    async with client_for(recorder) as client:
        with pytest.raises(AdapterError) as caught:
            await VastAiAdapter(client).book_instance(offer(), 1.0, Credentials(api_key=SECRET))

    assert (caught.value.kind, caught.value.retryable) == ("client", False)
    assert "no_such_ask" in caught.value.message


@pytest.mark.asyncio
async def test_runpod_booking_sends_the_deploy_mutation() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=recording("runpod", "book.json")))
    runpod_offer = offer(
        external_id="NVIDIA H100 80GB HBM3:secure",
        gpu_name_raw="H100 SXM",
        price_per_hour=Decimal("2.6900"),
        cpu_cores=24.0,
        ram_gb=125.0,
        raw={"gpu_type_id": "NVIDIA H100 80GB HBM3", "cloud_type": "SECURE"},
    )
    async with client_for(recorder) as client:
        result = await RunPodAdapter(client).book_instance(
            runpod_offer, 2.0, Credentials(api_key=SECRET)
        )

    (request,) = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.runpod.io/graphql"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    body = json.loads(request.content)
    assert "podFindAndDeployOnDemand" in body["query"]
    assert body["variables"]["input"] == {
        "cloudType": "SECURE",
        "gpuCount": 1,
        "gpuTypeId": "NVIDIA H100 80GB HBM3",
        "name": "gpubroker",
        "imageName": RunPodAdapter.default_image,
        "containerDiskInGb": 40,
        "volumeInGb": 0,
        "supportPublicIp": True,
        "startSsh": True,
        "ports": "22/tcp",
        "minVcpuCount": 24,
        "minMemoryInGb": 125,
    }
    assert result.external_booking_id == "x7kq3p9demo01"
    assert result.status == "running"
    assert result.price_per_hour == Decimal("2.6900")


@pytest.mark.asyncio
async def test_runpod_graphql_error_during_booking_is_not_retryable() -> None:
    no_capacity = {"errors": [{"message": "There are no longer any instances available."}]}
    recorder = Recorder(lambda r: httpx.Response(200, json=no_capacity))
    async with client_for(recorder) as client:
        with pytest.raises(AdapterError) as caught:
            await RunPodAdapter(client).book_instance(offer(), 1.0, Credentials(api_key=SECRET))

    assert (caught.value.kind, caught.value.retryable) == ("client", False)


@pytest.mark.asyncio
async def test_lambda_booking_posts_launch() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=recording("lambda", "book.json")))
    lambda_offer = offer(
        external_id="gpu_1x_a10:us-east-1",
        region="us-east-1",
        price_per_hour=Decimal("0.7500"),
        raw={"instance_type": "gpu_1x_a10"},
    )
    async with client_for(recorder) as client:
        result = await LambdaAdapter(client).book_instance(
            lambda_offer, 8.0, Credentials(api_key=SECRET)
        )

    (request,) = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == "https://cloud.lambda.ai/api/v1/instance-operations/launch"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert json.loads(request.content) == {
        "region_name": "us-east-1",
        "instance_type_name": "gpu_1x_a10",
        "ssh_key_names": ["gpubroker"],
        "quantity": 1,
        "name": "gpubroker",
    }
    assert result.external_booking_id == "0920582c7ff041399e34823a0be62549"
    assert result.status == "booting"


@pytest.mark.asyncio
async def test_lambda_cannot_book_an_offer_without_capacity() -> None:
    async with client_for(recorded_handler()) as client:
        with pytest.raises(AdapterError) as caught:
            await LambdaAdapter(client).book_instance(
                offer(region=None), 1.0, Credentials(api_key=SECRET)
            )
    assert caught.value.kind == "client"


@pytest.mark.asyncio
@pytest.mark.parametrize("adapter_class", [VerdaAdapter, VultrAdapter, PaperspaceAdapter])
async def test_booking_unsupported_elsewhere(adapter_class: type) -> None:
    async with client_for(recorded_handler()) as client:
        adapter = adapter_class(client)
        with pytest.raises(AdapterError) as caught:
            await adapter.book_instance(offer(), 1.0, Credentials(api_key=SECRET))

    assert adapter.supports_booking is False
    assert caught.value.kind == "unsupported"
    assert caught.value.retryable is False
    assert caught.value.message == f"booking not supported by {adapter.name}"


@pytest.mark.asyncio
async def test_booking_rejects_non_positive_duration() -> None:
    async with client_for(recorded_handler()) as client:
        with pytest.raises(AdapterError) as caught:
            await VastAiAdapter(client).book_instance(offer(), 0, Credentials(api_key=SECRET))
    assert caught.value.kind == "client"


@pytest.mark.asyncio
async def test_replay_serves_bookings_for_the_demo() -> None:
    async with build_client("replay", RECORDINGS_DIR) as client:
        result = await RunPodAdapter(client).book_instance(
            offer(raw={"gpu_type_id": "NVIDIA L4", "cloud_type": "SECURE"}),
            1.0,
            replay_credentials("runpod"),
        )
    assert result.external_booking_id == "x7kq3p9demo01"


# ---- credentials -----------------------------------------------------------------------------


def echo_secret(status: int) -> Recorder:
    """A provider that echoes the request (key included) back in its error body."""
    return Recorder(
        lambda r: httpx.Response(
            status, text=f"bad request {r.headers.get('authorization')} {r.content.decode()}"
        )
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [401, 403, 422, 500, 503])
@pytest.mark.parametrize("adapter_class", [RunPodAdapter, LambdaAdapter])
async def test_credentials_never_appear_in_error_messages(adapter_class: type, status: int) -> None:
    async with client_for(echo_secret(status)) as client:
        with pytest.raises(AdapterError) as caught:
            await adapter_class(client).fetch_offers(Credentials(api_key=SECRET))

    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    assert "***" in caught.value.message


@pytest.mark.asyncio
async def test_client_secret_never_appears_in_error_messages() -> None:
    credentials = Credentials(client_id="client-1", client_secret=SECRET)
    async with client_for(echo_secret(500)) as client:
        with pytest.raises(AdapterError) as caught:
            await VerdaAdapter(client).fetch_offers(credentials)

    assert SECRET not in str(caught.value)
    assert caught.value.retryable is True


def test_credentials_repr_masks_secrets() -> None:
    text = repr(Credentials(api_key=SECRET, client_id="id", client_secret=SECRET))
    assert SECRET not in text
    assert "client_id='id'" in text


@pytest.mark.asyncio
@pytest.mark.parametrize("adapter_class", [RunPodAdapter, LambdaAdapter, VerdaAdapter])
async def test_missing_credentials_is_a_config_error(adapter_class: type) -> None:
    async with client_for(recorded_handler()) as client:
        with pytest.raises(AdapterError) as caught:
            await adapter_class(client).fetch_offers(None)
    assert (caught.value.kind, caught.value.retryable) == ("config", False)


@pytest.mark.asyncio
async def test_validate_credentials_true_against_recordings() -> None:
    async with build_client("replay", RECORDINGS_DIR) as client:
        for name in ("runpod", "lambda", "verda", "shadeform", "vastai"):
            adapter = default_registry.get_adapter(name)(client)
            credentials = replay_credentials(name) or Credentials(api_key="replay-vast-key")
            assert await adapter.validate_credentials(credentials) is True, name


@pytest.mark.asyncio
@pytest.mark.parametrize("adapter_class", [LambdaAdapter, VastAiAdapter, VerdaAdapter])
async def test_validate_credentials_false_when_rejected(adapter_class: type) -> None:
    recorder = Recorder(lambda r: httpx.Response(401, json={"error": "invalid key"}))
    credentials = Credentials(api_key=SECRET, client_id="id", client_secret=SECRET)
    async with client_for(recorder) as client:
        assert await adapter_class(client).validate_credentials(credentials) is False


@pytest.mark.asyncio
async def test_runpod_validate_false_on_graphql_auth_error() -> None:
    denied = {"errors": [{"message": "Unauthorized request, please check your API key."}]}
    async with client_for(Recorder(lambda r: httpx.Response(200, json=denied))) as client:
        assert (
            await RunPodAdapter(client).validate_credentials(Credentials(api_key=SECRET)) is False
        )


@pytest.mark.asyncio
async def test_validate_credentials_propagates_provider_outage() -> None:
    async with client_for(Recorder(lambda r: httpx.Response(502, text="bad gateway"))) as client:
        with pytest.raises(AdapterError) as caught:
            await LambdaAdapter(client).validate_credentials(Credentials(api_key=SECRET))
    assert caught.value.retryable is True


@pytest.mark.asyncio
async def test_every_request_carries_an_explicit_timeout() -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return recorded_handler()(request)

    # The client itself has no timeout: the adapter must still send one on every request.
    no_default = httpx.AsyncClient(transport=httpx.MockTransport(handler), timeout=None)  # noqa: S113
    async with no_default as client:
        await VerdaAdapter(client).fetch_offers(replay_credentials("verda"))

    assert len(seen) == 3  # token, instance types, availability
    assert all(timeout["read"] == 15.0 and timeout["connect"] == 5.0 for timeout in seen)


# ---- registry --------------------------------------------------------------------------------


def test_registry_rejects_duplicate_names() -> None:
    registry = ProviderRegistry()
    registry.register("vastai", VastAiAdapter)

    with pytest.raises(ValueError, match="already registered"):
        registry.register("vastai", RunPodAdapter)
    assert registry.get_adapter("vastai") is VastAiAdapter


def test_registry_unknown_name_lists_known_providers() -> None:
    with pytest.raises(UnknownProviderError) as caught:
        default_registry.get_adapter("azure")

    assert "unknown provider 'azure'" in str(caught.value)
    assert "runpod" in str(caught.value)
    assert caught.value.known == default_registry.list_adapters()


def test_default_registry_holds_every_adapter_under_its_own_name() -> None:
    names = default_registry.list_adapters()

    assert names == sorted(
        [
            "cloudrift",
            "coreweave",
            "lambda",
            "paperspace",
            "runpod",
            "shadeform",
            "tensordock",
            "vastai",
            "verda",
            "vultr",
        ]
    )
    for name in names:
        adapter_class = default_registry.get_adapter(name)
        assert adapter_class.name == name
        assert adapter_class.display_name
        assert adapter_class.documentation_url.startswith("https://")
        assert adapter_class.price_source in ("api", "manual")
    assert {n for n in names if default_registry.get_adapter(n).supports_booking} == {
        "vastai",
        "runpod",
        "lambda",
    }


def test_build_client_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown provider mode"):
        build_client("offline")  # type: ignore[arg-type]


# ---- offer invariants and helpers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"price_per_hour": Decimal("-0.01")}, "non-negative"),
        ({"price_per_hour": Decimal("1000.01")}, "exceeds"),
        ({"spot_price_per_hour": Decimal(-1)}, "non-negative"),
        ({"gpu_count": 0}, "gpu_count"),
        ({"availability": "maybe"}, "availability"),
        ({"currency": "usd"}, "ISO 4217"),
        ({"reliability": 1.5}, "reliability"),
        ({"external_id": ""}, "external_id"),
        ({"ram_gb": float("nan")}, "ram_gb"),
    ],
)
def test_offer_rejects_invalid_values(overrides: dict[str, object], reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        offer(**overrides)


def test_price_limit_scales_with_gpu_count() -> None:
    assert offer(gpu_count=8, price_per_hour=Decimal("7999")).price_per_gpu_hour == Decimal(
        "999.8750"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("H100 SXM5", "SXM5"),
        ("H100 (80 GB SXM5)", "SXM5"),
        ("H100 SXM", "SXM"),
        ("A100 PCIE", "PCIe"),
        ("A100 (40 GB PCIe)", "PCIe"),
        ("H100 NVL", "NVL"),
        ("v100-pcie-16gb", "PCIe"),
        ("RTX 4090", None),
        ("L40S", None),
    ],
)
def test_interconnect_only_from_what_the_name_says(text: str, expected: str | None) -> None:
    assert interconnect_from_name(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("helsinki-finland-1", "FI"),
        ("eu-north-se-1", "SE"),
        ("us-east-1", "US"),
        ("kansascity-usa-2", "US"),
        ("eu-north1", None),
        ("US-EAST-04", "US"),
    ],
)
def test_country_from_region_ids(text: str, expected: str | None) -> None:
    assert country_from_tokens(text) == expected
