"""The consumer in-process (channels' WebsocketCommunicator) against real PostgreSQL and Redis."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import redis.asyncio as redis_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from apps.providers.models import GPUOffer
from apps.websocket_gateway.consumers import STATS
from apps.websocket_gateway.relay import current_relay
from apps.websocket_gateway.services import ws_slot_key
from apps.websocket_gateway.tests.conftest import (
    ORIGIN,
    Connect,
    create_offers,
    frames_within,
    next_frame,
    publish,
    update_payload,
)
from gpubroker.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_connect_sends_snapshot_of_current_offers_cheapest_first(
    connect: Connect, gpu_tag: str
) -> None:
    offers = await sync_to_async(create_offers)(gpu_tag)

    communicator = await connect("/ws/?unused=1")
    await communicator.send_json_to({"type": "subscribe", "filters": {"gpu": gpu_tag}})
    snapshot = await next_frame(communicator)

    assert snapshot["type"] == "snapshot"
    assert snapshot["data"]["reason"] == "subscribe"
    assert snapshot["data"]["filters"] == {"gpu": gpu_tag}
    assert snapshot["data"]["truncated"] is False
    assert [o["offer_id"] for o in snapshot["data"]["offers"]] == [
        str(offers["cheap"].id),
        str(offers["mid"].id),
        str(offers["dear"].id),
    ]
    assert snapshot["data"]["offers"][0] == {
        "offer_id": str(offers["cheap"].id),
        "provider": f"vast-{gpu_tag}",
        "gpu": gpu_tag,
        "gpu_type": f"{gpu_tag.upper()} 80GB",
        "region": "us-east",
        "price_per_hour": 1.5,
        "availability_status": "available",
        "updated_at": offers["cheap"].updated_at.isoformat(),
    }


async def test_snapshot_excludes_quarantined_offers(connect: Connect, gpu_tag: str) -> None:
    offers = await sync_to_async(create_offers)(gpu_tag)

    def quarantined_offer() -> GPUOffer:
        # The provider's name matches the filter but the catalogue did not resolve it.
        return GPUOffer.objects.create(
            provider=offers["cheap"].provider,
            external_id="quarantined",
            gpu_type=f"NVIDIA {gpu_tag} Mystery",
            gpu_model=None,
            gpu_name_raw=f"NVIDIA {gpu_tag} Mystery",
            gpu_memory_gb=80,
            region="us-east",
            price_per_hour=Decimal("0.2500"),
        )

    quarantined = await sync_to_async(quarantined_offer)()
    communicator = await connect()
    first_ids = [o["offer_id"] for o in communicator.first_snapshot["data"]["offers"]]
    await communicator.send_json_to({"type": "subscribe", "filters": {"gpu": gpu_tag}})
    snapshot = await next_frame(communicator)

    assert str(quarantined.id) not in first_ids
    assert [o["offer_id"] for o in snapshot["data"]["offers"]] == [
        str(offers["cheap"].id),
        str(offers["mid"].id),
        str(offers["dear"].id),
    ]


async def test_first_snapshot_has_reason_connect_and_no_filters(connect: Connect) -> None:
    communicator = await connect()

    assert communicator.first_snapshot["data"]["reason"] == "connect"
    assert communicator.first_snapshot["data"]["filters"] == {}


async def test_snapshot_is_bounded_by_ws_snapshot_limit(
    connect: Connect, gpu_tag: str, settings
) -> None:
    settings.WS_SNAPSHOT_LIMIT = 2
    offers = await sync_to_async(create_offers)(gpu_tag)
    communicator = await connect()

    await communicator.send_json_to({"type": "subscribe", "filters": {"gpu": gpu_tag}})
    snapshot = await next_frame(communicator)

    assert [o["offer_id"] for o in snapshot["data"]["offers"]] == [
        str(offers["cheap"].id),
        str(offers["mid"].id),
    ]
    assert snapshot["data"]["truncated"] is True


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"gpu": "NVIDIA"}, ["cheap", "mid", "dear"]),  # substring of the raw name
        ({"provider": "RUNPOD-{tag}"}, ["mid"]),  # case-insensitive provider name
        ({"region": "eu-west"}, ["mid"]),
        ({"max_price": 2.25}, ["cheap", "mid"]),
        ({"provider": "vast-{tag}", "max_price": 2}, ["cheap"]),
    ],
)
async def test_subscribe_filters_the_snapshot(
    connect: Connect, gpu_tag: str, filters: dict, expected: list[str]
) -> None:
    offers = await sync_to_async(create_offers)(gpu_tag)
    communicator = await connect()
    filters = {k: v.format(tag=gpu_tag) if isinstance(v, str) else v for k, v in filters.items()}
    if "gpu" in filters:
        filters["gpu"] = f"{filters['gpu']} {gpu_tag}"

    await communicator.send_json_to({"type": "subscribe", "filters": filters})
    snapshot = await next_frame(communicator)

    assert snapshot["type"] == "snapshot", snapshot
    ids = [o["offer_id"] for o in snapshot["data"]["offers"]]
    assert ids[: len(expected)] == [str(offers[name].id) for name in expected]
    assert str(offers["unavailable"].id) not in ids
    assert str(offers["stale"].id) not in ids


async def test_ping_gets_pong(connect: Connect) -> None:
    communicator = await connect()

    await communicator.send_json_to({"type": "ping"})

    assert await next_frame(communicator) == {"type": "pong"}


async def test_heartbeat_arrives_every_ws_heartbeat_seconds(connect: Connect) -> None:
    communicator = await connect()

    first = await next_frame(communicator, skip_heartbeats=False, seconds=2)
    second = await next_frame(communicator, skip_heartbeats=False, seconds=2)

    assert first == {"type": "heartbeat"}
    assert second == {"type": "heartbeat"}


async def test_bad_json_gets_error_and_socket_stays_open(connect: Connect) -> None:
    communicator = await connect()

    await communicator.send_to(text_data="{not json")
    error = await next_frame(communicator)
    await communicator.send_json_to({"type": "ping"})

    assert error == {
        "type": "error",
        "code": "INVALID_JSON",
        "message": "message is not valid JSON",
    }
    assert await next_frame(communicator) == {"type": "pong"}


async def test_unknown_type_and_non_object_get_errors(connect: Connect) -> None:
    communicator = await connect()

    await communicator.send_json_to({"type": "buy_everything"})
    unknown = await next_frame(communicator)
    await communicator.send_to(text_data="[1, 2]")
    not_object = await next_frame(communicator)
    await communicator.send_to(bytes_data=b"\x00")
    binary = await next_frame(communicator)

    assert unknown["code"] == "UNKNOWN_TYPE"
    assert not_object["code"] == "INVALID_MESSAGE"
    assert binary["code"] == "INVALID_MESSAGE"


async def test_invalid_filters_get_error_and_keep_previous_filters(
    connect: Connect, gpu_tag: str
) -> None:
    communicator = await connect()
    await communicator.send_json_to({"type": "subscribe", "filters": {"gpu": gpu_tag}})
    await next_frame(communicator)

    await communicator.send_json_to(
        {"type": "subscribe", "filters": {"max_price": -1, "colour": "red", "gpu": 7}}
    )
    error = await next_frame(communicator)
    await publish(update_payload(gpu=gpu_tag, offer_id="o-1"))
    update = await next_frame(communicator)

    assert error == {
        "type": "error",
        "code": "INVALID_FILTERS",
        "message": "filters are invalid",
        "details": {
            "colour": "unknown filter",
            "gpu": "must be a string",
            "max_price": "must be a positive finite number",
        },
    }
    assert update["type"] == "price_update"
    assert update["data"]["offer_id"] == "o-1"


async def test_published_update_reaches_matching_client_and_not_other(
    connect: Connect, gpu_tag: str
) -> None:
    matching = await connect()
    other = await connect()
    await matching.send_json_to({"type": "subscribe", "filters": {"gpu": gpu_tag}})
    await other.send_json_to({"type": "subscribe", "filters": {"gpu": f"{gpu_tag}-other"}})
    await next_frame(matching)
    await next_frame(other)
    payload = update_payload(gpu=gpu_tag.upper(), offer_id="o-42", old_price=2.0, new_price=1.75)

    await publish(payload)

    assert await next_frame(matching) == {"type": "price_update", "data": payload}
    assert await frames_within(other, 0.4) == []


async def test_max_price_passes_an_update_leaving_the_range(connect: Connect, gpu_tag: str) -> None:
    communicator = await connect()
    await communicator.send_json_to(
        {"type": "subscribe", "filters": {"gpu": gpu_tag, "max_price": 2}}
    )
    await next_frame(communicator)

    await publish(update_payload(gpu=gpu_tag, offer_id="in", old_price=3.0, new_price=1.9))
    await publish(update_payload(gpu=gpu_tag, offer_id="out", old_price=3.0, new_price=3.5))
    await publish(update_payload(gpu=gpu_tag, offer_id="left", old_price=1.8, new_price=2.5))

    frames = await frames_within(communicator, 0.5)
    assert [frame["data"]["offer_id"] for frame in frames] == ["in", "left"]


async def test_malformed_messages_are_logged_and_skipped(
    connect: Connect, gpu_tag: str, json_logs
) -> None:
    communicator = await connect()
    await communicator.send_json_to({"type": "subscribe", "filters": {"gpu": gpu_tag}})
    await next_frame(communicator)

    await publish("{broken")
    await publish(json.dumps({**update_payload(gpu=gpu_tag), "new_price": "free"}))
    await publish(update_payload(gpu=gpu_tag, offer_id="after"))

    frames = await frames_within(communicator, 0.5)
    assert [frame["data"]["offer_id"] for frame in frames] == ["after"]
    skipped = [
        r for r in json_logs.records if r["message"] == "malformed message on price_updates skipped"
    ]
    assert len(skipped) == 2
    assert current_relay().malformed_count == 2


async def test_disconnect_releases_slot_relay_registration_and_counter(
    connect: Connect,
) -> None:
    redis = redis_asyncio.Redis.from_url(settings.REDIS_URL)
    connected_before = STATS.connected
    communicator = await connect()
    slots_while_open = await redis.zcard(ws_slot_key("ip:unknown"))
    subscribers_while_open = current_relay().subscriber_count

    await communicator.disconnect()

    assert slots_while_open == 1
    assert subscribers_while_open == 1
    assert await redis.zcard(ws_slot_key("ip:unknown")) == 0
    assert current_relay().subscriber_count == 0
    assert STATS.connected == connected_before
    await redis.aclose()


async def test_anonymous_sockets_beyond_default_limit_are_closed_4429(
    connect: Connect, settings
) -> None:
    settings.WS_DEFAULT_TENANT_LIMIT = 2
    await connect()
    await connect()

    refused = WebsocketCommunicator(application, "/ws/", headers=[ORIGIN])
    connected, _ = await refused.connect(timeout=3)
    error = json.loads(await refused.receive_from())
    closed = await refused.receive_output(timeout=3)

    assert connected is True  # accepted first so the close code reaches the client
    assert error == {
        "type": "error",
        "code": "WS_LIMIT",
        "message": "concurrent WebSocket limit of 2 reached",
    }
    assert closed["type"] == "websocket.close"
    assert closed["code"] == 4429
    await refused.wait(timeout=3)


def _access_token(*, ws_limit: int) -> str:
    """A real access token (auth app) for a user of a tenant with `ws_limit` sockets."""
    from apps.auth_app.models import Tenant, User
    from apps.auth_app.tokens import issue_access_token

    tenant = Tenant.objects.create(name="acme", ws_limit=ws_limit)
    user = User.objects.create(email="ws@example.com", tenant=tenant, full_name="WS")
    return issue_access_token(
        email=user.email, user_id=user.id, roles=["user"], tenant_id=tenant.id
    ).token


async def test_tenant_ws_limit_comes_from_the_tenant_row(connect: Connect) -> None:
    token = await sync_to_async(_access_token)(ws_limit=1)

    await connect(f"/ws/?token={token}")
    refused = WebsocketCommunicator(application, f"/ws/?token={token}", headers=[ORIGIN])
    await refused.connect(timeout=3)
    error = json.loads(await refused.receive_from())
    closed = await refused.receive_output(timeout=3)
    anonymous = await connect("/ws/")  # another identity: not counted against the tenant

    assert error == {
        "type": "error",
        "code": "WS_LIMIT",
        "message": "concurrent WebSocket limit of 1 reached",
    }
    assert closed["code"] == 4429
    assert anonymous.first_snapshot["type"] == "snapshot"


async def test_invalid_token_is_closed_4401(connect: Connect) -> None:
    communicator = WebsocketCommunicator(application, "/ws/?token=forged", headers=[ORIGIN])
    await communicator.connect(timeout=3)

    error = json.loads(await communicator.receive_from())
    closed = await communicator.receive_output(timeout=3)

    assert error == {"type": "error", "code": "TOKEN_INVALID", "message": "access token is invalid"}
    assert closed["code"] == 4401
    assert STATS.connected == 0
