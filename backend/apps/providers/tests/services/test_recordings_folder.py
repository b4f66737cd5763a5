"""Capture and replay (issue 12): a user's own recordings folder, record mode, broken recordings,
list elements skipped and counted, spot prices with their own history and price times in events.

The live APIs are stood in for at the httpx boundary (MockTransport); everything from the
adapter down is real, PostgreSQL included.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.test import Client

from apps.providers.adapters.contract import Credentials
from apps.providers.adapters.replay import (
    RECORDINGS_DIR,
    build_client,
    find_route,
    sanitise,
)
from apps.providers.models import GPUOffer, PriceHistory, Provider, ProviderSyncRun
from apps.providers.services.sync import provider_sync
from apps.providers.tests.conftest import recorded

pytestmark = pytest.mark.django_db


def vast_bundle(bundle_id: int, **fields: Any) -> dict[str, Any]:
    return {**recorded("vastai")["offers"][0], "id": bundle_id, **fields}


def write(folder: Path, provider: str, file: str, body: Any) -> None:
    (folder / provider).mkdir(parents=True, exist_ok=True)
    text = body if isinstance(body, str) else json.dumps(body)
    (folder / provider / file).write_text(text, encoding="utf-8")


@pytest.fixture
def my_recordings(tmp_path: Path, settings) -> Path:
    settings.GPUBROKER_PROVIDER_MODE = "replay"
    settings.GPUBROKER_RECORDINGS_DIR = tmp_path
    return tmp_path


def test_a_users_recordings_folder_is_synced_and_listed(my_recordings: Path) -> None:
    bundles = [
        vast_bundle(91000001, gpu_name="RTX 4090", gpu_ram=24564, geolocation="Slovenia, SI"),
        vast_bundle(91000002, geolocation="Croatia, HR"),
    ]
    write(my_recordings, "vastai", "offers.json", {"offers": bundles})
    out = StringIO()

    call_command("sync_providers", "--provider", "vastai", "-v", "2", stdout=out)

    assert out.getvalue().startswith("vastai: ok seen=2 new=2 ")
    items = Client().get("/api/v2/providers?provider=vastai").json()["items"]
    assert {item["provider_region"] for item in items} == {"Slovenia, SI", "Croatia, HR"}
    si = Client().get("/api/v2/providers?region=SI").json()
    assert [item["country"] for item in si["items"]] == ["SI"]


def test_a_broken_recording_is_reported_per_provider_not_a_crash(my_recordings: Path) -> None:
    write(my_recordings, "vastai", "offers.json", '{"offers": [{"id": 1,')
    shutil.copytree(RECORDINGS_DIR / "vultr", my_recordings / "vultr")
    plans = recorded("vultr")
    plans["plans"][6]["locations"] = ["ewr", "", None, "ord"]  # vcg-a100-12c-120g-80vram
    write(my_recordings, "vultr", "offers.json", plans)
    write(my_recordings, "tensordock", "offers.json", "<html>gateway</html>")
    out = StringIO()

    call_command(
        "sync_providers",
        *("--provider", "vastai", "--provider", "vultr", "--provider", "tensordock"),
        "-v",
        "2",
        stdout=out,
    )

    lines = {line.split(":", 1)[0]: line for line in out.getvalue().splitlines()}
    assert "failed" in lines["vastai"]
    assert "invalid JSON" in lines["vastai"]
    assert "failed" in lines["tensordock"]
    assert "HTML" in lines["tensordock"]
    assert "elements_skipped=2" in lines["vultr"]
    assert "empty element in locations x2" in lines["vultr"]
    status = {row["name"]: row for row in Client().get("/api/v2/providers/status").json()}
    assert status["vastai"]["status"] == "error"
    assert status["vultr"]["last_sync"]["elements_skipped"] == 2
    assert status["vultr"]["last_sync"]["skip_reasons"] == {"empty element in locations": 2}
    assert not GPUOffer.objects.filter(external_id__endswith=":").exists()


def test_broken_records_are_counted_by_reason(my_recordings: Path) -> None:
    bundles = [vast_bundle(91000005), {"id": 91000006, "num_gpus": 1}, None]  # 2 broken
    write(my_recordings, "vastai", "offers.json", {"offers": bundles})

    result = provider_sync(provider_name="vastai")

    assert (result.status, result.offers_seen, result.offers_skipped) == ("ok", 1, 2)
    assert result.skip_reasons == {
        "missing field 'gpu_name'": 1,
        "expected an object, got NoneType": 1,
    }
    run = ProviderSyncRun.objects.get(provider__name="vastai")
    assert run.skip_reasons == result.skip_reasons


# ---- record mode ----


LIVE_SECRET = "live-runpod-key-0123456789"


def live_runpod(request: httpx.Request) -> httpx.Response:
    """The live RunPod API as the adapter sees it, with account data in its answers."""
    route = find_route(request)
    assert route is not None
    assert route.provider == "runpod"
    body: Any = recorded("runpod", route.file)
    if route.file == "datacenters.json":
        body["data"]["myself"].update(
            {"id": "user_2abcDEF", "email": "ops@example.org", "apiKey": LIVE_SECRET}
        )
        body["data"]["myself"]["datacenters"][0]["name"] = f"dc of ops@example.org {LIVE_SECRET}"
    return httpx.Response(200, json=body)


def test_record_mode_writes_sanitised_answers_that_replay_reads(tmp_path: Path, settings) -> None:
    client = build_client("record", tmp_path, transport=httpx.MockTransport(live_runpod))

    live = provider_sync(
        provider_name="runpod", client=client, credentials=Credentials(api_key=LIVE_SECRET)
    )

    assert live.status == "ok"
    assert sorted(p.name for p in (tmp_path / "runpod").iterdir()) == [
        "datacenters.json",
        "offers.json",
    ]
    text = (tmp_path / "runpod" / "datacenters.json").read_text("utf-8")
    assert LIVE_SECRET not in text
    assert "ops@example.org" not in text
    assert "user_2abcDEF" not in text
    myself = json.loads(text)["data"]["myself"]
    assert (myself["id"], myself["email"], myself["apiKey"]) == ("redacted",) * 3

    GPUOffer.objects.all().delete()
    settings.GPUBROKER_PROVIDER_MODE = "replay"
    settings.GPUBROKER_RECORDINGS_DIR = tmp_path
    replayed = provider_sync(provider_name="runpod")
    assert replayed.status == "ok"
    assert replayed.offers_seen == live.offers_seen
    assert GPUOffer.objects.filter(provider_region="US-TX-3").exists()


REDACTED_USER = {"id": "redacted", "username": "redacted", "balance": "redacted"}
SANITISE_CASES = [
    (
        {"access_token": "tok-123456", "token_type": "Bearer"},
        {"access_token": "redacted", "token_type": "redacted"},
    ),
    ({"user": {"id": 42, "username": "me", "balance": 3.5}}, {"user": REDACTED_USER}),
    ({"note": "mail a@b.io now"}, {"note": "mail redacted now"}),
    (
        {"offers": [{"id": 7, "machine_id": 9, "host_id": 3}]},
        {"offers": [{"id": 7, "machine_id": 9, "host_id": 3}]},
    ),
    ({"client_secret": None}, {"client_secret": None}),
]


@pytest.mark.parametrize(("document", "expected"), SANITISE_CASES)
def test_sanitise_strips_credentials_account_ids_and_emails(document: Any, expected: Any) -> None:
    assert sanitise(document) == expected


# ---- spot history and price times in events ----


def test_a_spot_change_is_history_and_an_event_with_the_price_time(
    my_recordings: Path, django_capture_on_commit_callbacks, price_updates
) -> None:
    write(my_recordings, "vastai", "offers.json", {"offers": [vast_bundle(91000007, min_bid=1.0)]})
    provider_sync(provider_name="vastai")
    write(my_recordings, "vastai", "offers.json", {"offers": [vast_bundle(91000007, min_bid=0.8)]})

    with django_capture_on_commit_callbacks(execute=True):
        result = provider_sync(provider_name="vastai")

    offer = GPUOffer.objects.get(external_id="91000007")
    spots = list(
        PriceHistory.objects.filter(offer=offer)
        .order_by("recorded_at")
        .values_list("spot_price_per_hour", flat=True)
    )
    assert spots == [Decimal("1.2910"), Decimal("1.0910")]  # min_bid + 0.2910 storage
    (event,) = price_updates()
    assert event["new_spot_price"] == 1.091
    assert event["old_price"] == event["new_price"]
    assert event["price_as_of"] == offer.price_as_of.isoformat()
    assert event["new_price_per_gpu"] == pytest.approx(5.5822 / 8)
    assert result.offers_changed == 1
    assert Provider.objects.get(name="vastai").status == "active"
