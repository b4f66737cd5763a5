"""Framework-free parts: filters, message parsing, the outbox."""

from __future__ import annotations

import asyncio
import json

import pytest

from apps.providers.events import EXTRA_KEYS
from apps.websocket_gateway.filters import FilterError, StreamFilters, parse_filters
from apps.websocket_gateway.flow_control import frame_writer
from apps.websocket_gateway.frames import (
    MalformedPriceUpdate,
    parse_price_update,
    snapshot_frame,
    wire_text_frame,
)
from apps.websocket_gateway.outbox import Outbox, SnapshotRequest

UPDATE = {
    "offer_id": "o-1",
    "provider": "VastAI",
    "gpu": "H100-80G",
    "region": "US-East",
    "old_price": 2.5,
    "new_price": 2.25,
    "availability_status": "available",
    "timestamp": "2025-01-01T00:00:00+00:00",
}


def test_parse_filters_normalises_and_unsets_nulls() -> None:
    filters = parse_filters({"gpu": " H100 ", "provider": "VastAI", "region": None, "max_price": 3})

    assert filters == StreamFilters(gpu="h100", provider="vastai", region=None, max_price=3.0)
    assert filters.as_dict() == {"gpu": "h100", "provider": "vastai", "max_price": 3.0}


def test_parse_filters_missing_means_everything() -> None:
    assert parse_filters(None) == StreamFilters()


GPU_COUNT_ERROR = "the GPU count after ':' must be a whole number from 1 to 1,000,000"


def test_parse_filters_keeps_a_gpu_count_suffix() -> None:
    assert parse_filters({"gpu": "H100:8"}) == StreamFilters(gpu="h100:8")


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        ([], {"filters": "must be an object"}),
        ({"gpu": ""}, {"gpu": "must not be empty"}),
        ({"gpu": "x" * 101}, {"gpu": "must be at most 100 characters"}),
        *(
            ({"gpu": gpu}, {"gpu": GPU_COUNT_ERROR})
            for gpu in ("H100:abc", "H100:0", "H100:-1", "H100:99999999999999999999")
        ),
        ({"max_price": True}, {"max_price": "must be a number"}),
        ({"max_price": "3"}, {"max_price": "must be a number"}),
        ({"max_price": 0}, {"max_price": "must be a positive finite number"}),
        ({"max_price": float("inf")}, {"max_price": "must be a positive finite number"}),
        ({"sort": "price"}, {"sort": "unknown filter"}),
        # As the listing refuses it (a newcomer's {"gpu": "H100\u0000"} was echoed back).
        ({"gpu": "H100\x00"}, {"gpu": "must not contain a NUL character (U+0000)"}),
        ({"region": "\x00us"}, {"region": "must not contain a NUL character (U+0000)"}),
    ],
)
def test_parse_filters_rejects(raw: object, errors: dict[str, str]) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filters(raw)
    assert caught.value.errors == errors


@pytest.mark.parametrize(
    ("filters", "matches"),
    [
        (StreamFilters(), True),
        (StreamFilters(gpu="h100"), True),
        (StreamFilters(gpu="a100"), False),
        (StreamFilters(provider="vastai"), True),
        (StreamFilters(provider="vast"), False),
        (StreamFilters(region="us-east"), True),
        (StreamFilters(max_price=2.25), True),
        (StreamFilters(max_price=2.2), False),
    ],
)
def test_filters_match_update(filters: StreamFilters, matches: bool) -> None:
    assert filters.matches(parse_price_update(json.dumps(UPDATE)).data) is matches


def test_max_price_matches_new_offer_without_old_price() -> None:
    data = parse_price_update(json.dumps({**UPDATE, "old_price": None})).data

    assert StreamFilters(max_price=2.25).matches(data) is True
    assert StreamFilters(max_price=2.0).matches(data) is False


def test_parse_price_update_keeps_known_keys_only_and_accepts_numeric_strings() -> None:
    update = parse_price_update(json.dumps({**UPDATE, "new_price": "2.2500", "extra": 1}))

    # v2's optional keys (price time, spot and per-GPU prices, the place) are null when unsent.
    expected = {**UPDATE, "new_price": 2.25, **dict.fromkeys(EXTRA_KEYS)}
    assert update.data == expected
    assert json.loads(update.frame) == {"type": "price_update", "data": expected}


PLACED = {
    **UPDATE,
    "region": "California, US",
    "provider_region": "California, US",
    "country": "US",
    "state": "California",
    "city": None,
    "macro_region": "North America",
}


@pytest.mark.parametrize(
    ("region", "matches"),
    [
        ("california", True),  # the state
        ("California, US", True),  # the region as the provider spells it
        ("US", True),
        ("united states", True),
        ("usa", True),
        ("north america", True),
        ("europe", False),
        ("texas", False),
        ("ca", False),  # Canada, not California
    ],
)
def test_region_filter_matches_the_updates_place(region: str, matches: bool) -> None:
    assert StreamFilters(region=region.lower()).matches(PLACED) is matches


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff",
        "not json",
        "[]",
        json.dumps({**UPDATE, "offer_id": ""}),
        json.dumps({**UPDATE, "new_price": None}),
        json.dumps({**UPDATE, "new_price": True}),
        json.dumps({**UPDATE, "old_price": "cheap"}),
        json.dumps({k: v for k, v in UPDATE.items() if k != "region"}),
    ],
)
def test_parse_price_update_rejects_malformed(raw: bytes | str) -> None:
    with pytest.raises(MalformedPriceUpdate):
        parse_price_update(raw)


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_wire_text_frame_is_one_unmasked_final_text_frame(size: int) -> None:
    """Checked with the `websockets` library's own frame parser, at each length encoding."""
    from websockets.frames import Frame, Opcode
    from websockets.streams import StreamReader

    text = "é" * (size // 2) + "x" * (size % 2)
    reader = StreamReader()
    reader.feed_data(wire_text_frame(text))
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    with pytest.raises(StopIteration) as done:
        next(parser)
    frame = done.value.value
    assert (frame.opcode, frame.fin, frame.rsv1, frame.rsv2, frame.rsv3) == (
        Opcode.TEXT,
        True,
        False,
        False,
        False,
    )
    assert frame.data.decode() == text
    assert reader.at_eof()


def test_update_frame_carries_its_wire_bytes() -> None:
    update = parse_price_update(json.dumps(UPDATE))

    assert update.wire == wire_text_frame(update.frame)


def test_frame_writer_needs_daphnes_send() -> None:
    async def send(message: dict) -> None:
        pass

    assert frame_writer(send) is None


def test_snapshot_frame_is_valid_json() -> None:
    frame = snapshot_frame(
        reason="connect", filters={"gpu": "h100"}, offers_json='[{"a":1}]', is_truncated=False
    )

    assert json.loads(frame) == {
        "type": "snapshot",
        "data": {
            "reason": "connect",
            "filters": {"gpu": "h100"},
            "truncated": False,
            "offers": [{"a": 1}],
        },
    }


def test_outbox_coalesces_latest_price_per_offer_in_first_queued_order() -> None:
    outbox = Outbox(max_backlog=10)

    outbox.put_update("a", "a1")
    outbox.put_update("b", "b1")
    outbox.put_update("a", "a2")

    assert outbox.backlog == 2
    assert outbox.coalesced_count == 1
    assert [outbox.take_nowait(), outbox.take_nowait(), outbox.take_nowait()] == ["a2", "b1", None]


def test_outbox_reports_overflow_past_max_backlog() -> None:
    outbox = Outbox(max_backlog=2)

    results = [
        outbox.put_update("a", "1"),
        outbox.put_update("b", "2"),
        outbox.put_update("a", "3"),
    ]
    overflow = outbox.put_update("c", "4")

    assert results == [True, True, True]
    assert overflow is False


def test_outbox_snapshot_supersedes_queued_updates_and_goes_first() -> None:
    outbox = Outbox(max_backlog=10)
    outbox.put_update("a", "a1")
    outbox.put_control("pong")

    outbox.request_snapshot("subscribe")
    outbox.put_update("b", "b1")

    assert [outbox.take_nowait() for _ in range(4)] == [
        SnapshotRequest(reason="subscribe"),
        "pong",
        "b1",
        None,
    ]


def test_outbox_holds_everything_while_paused_and_keeps_one_heartbeat() -> None:
    outbox = Outbox(max_backlog=10)
    outbox.put_heartbeat("hb")
    outbox.put_heartbeat("hb")
    outbox.pause()
    outbox.put_update("a", "a1")
    outbox.put_heartbeat("hb")

    paused = outbox.take_nowait()
    outbox.resume()

    assert paused is None
    assert [outbox.take_nowait() for _ in range(3)] == ["hb", "a1", None]


@pytest.mark.asyncio
async def test_outbox_take_waits_for_resume() -> None:
    outbox = Outbox(max_backlog=10)
    outbox.pause()
    outbox.put_update("a", "a1")
    waiter = asyncio.create_task(outbox.take())
    await asyncio.sleep(0.05)
    was_done = waiter.done()

    outbox.resume()

    assert was_done is False
    assert await asyncio.wait_for(waiter, 1) == "a1"
