"""Three providers misbehaving at once while the others sync (issue 17, "Faults").

vultr hangs (a real socket that never answers; the client's timeout ends each call), vastai
answers HTML instead of JSON, runpod fails every other call; lambda is healthy. Ten sync
rounds, as the ingestion loop would run them, then the listing as a client reads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.test import Client

from apps.providers.models import GPUOffer, Provider
from apps.providers.services.sync import breaker_registry_for, provider_sync
from gpubroker.testing.provider_faults import (
    FaultyProviders,
    faulty_client,
    hung_listener,
)

FAULTS = {"vultr": "hang", "vastai": "garbage", "runpod": "flap"}
NAMES = ["vultr", "vastai", "runpod", "lambda"]
ROUNDS = 10


@pytest.fixture
def hung_port() -> Iterator[int]:
    with hung_listener() as port:
        yield port


def _round(transport: FaultyProviders | None, breakers) -> dict[str, str]:
    statuses = {}
    for name in NAMES:
        client = faulty_client(transport) if transport else None
        result = provider_sync(provider_name=name, client=client, breaker_registry=breakers)
        statuses[name] = result.status
    return statuses


def _listed(provider: str) -> dict:
    return Client().get("/api/v2/providers", {"provider": provider, "per_page": 100}).json()


@pytest.mark.django_db
def test_hanging_garbage_and_flapping_providers_keep_their_last_offers_while_others_sync(
    specs, hung_port, settings
) -> None:
    settings.GPUBROKER_PROVIDER_MODE = "replay"
    # The ingestion loop's breakers for rounds 10 s apart (these rounds come faster: all of
    # them fall within the window, as they would at that interval).
    breakers = breaker_registry_for(interval_seconds=10)
    first = _round(None, breakers)
    assert first == dict.fromkeys(NAMES, "ok")
    offers_before = {
        name: set(GPUOffer.objects.filter(provider__name=name).values_list("id", "price_per_hour"))
        for name in NAMES
    }

    transport = FaultyProviders(FAULTS, hung_port=hung_port, hang_timeout=0.5)
    rounds = [_round(transport, breakers) for _ in range(ROUNDS)]

    by_provider = {name: [r[name] for r in rounds] for name in NAMES}
    # Five timeouts open vultr's breaker; after that nothing is sent to it.
    assert by_provider["vultr"] == ["failed"] * 5 + ["circuit_open"] * 5
    assert transport.calls["vultr"] == 5
    # Five failures within the window, successes in between, open runpod's breaker too.
    assert by_provider["runpod"] == ["failed", "ok"] * 4 + ["failed", "circuit_open"]
    # Garbage (an HTML page where JSON was promised) is an outage too: five open the breaker.
    assert by_provider["vastai"] == ["failed"] * 5 + ["circuit_open"] * 5
    assert transport.calls["vastai"] == 5
    # The healthy provider synced every round.
    assert by_provider["lambda"] == ["ok"] * ROUNDS

    providers = {p.name: p for p in Provider.objects.filter(name__in=NAMES)}
    assert providers["vultr"].breaker_state == "open"
    assert providers["runpod"].breaker_state == "open"
    assert providers["vastai"].breaker_state == "open"

    # The last good offers are all still there (runpod's last good sync may have moved
    # nothing: the recording is the same), and listed.
    for name in ("vultr", "vastai", "runpod"):
        after = set(
            GPUOffer.objects.filter(provider__name=name).values_list("id", "price_per_hour")
        )
        assert after == offers_before[name], name
    for name, stale in (("vultr", True), ("runpod", True), ("vastai", True), ("lambda", False)):
        body = _listed(name)
        listed = GPUOffer.objects.filter(provider__name=name, gpu_model__isnull=False).count()
        assert body["total"] == listed > 0, name
        assert {item["stale"] for item in body["items"]} == {stale}, name
        if name == "lambda":
            assert "warnings" not in body
        else:
            # Down, said once: an open breaker.
            assert len(body["warnings"]) == 1, body["warnings"]
            assert body["warnings"][0].startswith(f"{name}: provider is down"), body["warnings"]


@pytest.mark.parametrize(
    ("kind", "retryable", "outage"),
    [
        ("timeout", True, True),
        ("server", True, True),
        ("bad_payload", False, True),
        ("auth", False, False),
        ("client", False, False),
        ("config", False, False),
    ],
)
def test_what_counts_towards_a_providers_breaker(kind: str, retryable: bool, outage: bool) -> None:
    import asyncio

    from apps.providers.adapters.contract import AdapterError
    from apps.providers.circuit_breaker import CircuitOpenError

    breaker = breaker_registry_for(interval_seconds=10).get("vastai")

    async def failing() -> None:
        raise AdapterError("x", retryable=retryable, kind=kind)

    async def five_then_one() -> str:
        for _ in range(5):
            with contextlib.suppress(AdapterError):
                await breaker.call(failing)
        try:
            await breaker.call(failing)
        except CircuitOpenError:
            return "open"
        except AdapterError:
            return "called"
        return "?"

    assert asyncio.run(five_then_one()) == ("open" if outage else "called")
