"""The price stream consumer (`/ws/`): one instance per socket.

Protocol (SPEC "WebSocket /ws/"): on connect a `snapshot`; `subscribe` replaces the filters and
answers with a new snapshot; `ping` → `pong`; `heartbeat` every `WS_HEARTBEAT_SECONDS`;
`price_update` frames from the per-process relay. Bad JSON, unknown types and invalid filters
get an `error` frame and the socket stays open.

Close codes: 4401 token did not verify, 4429 the tenant's (or anonymous IP's) `ws_limit` is
reached, 4008 the client stopped reading and its backlog passed `WS_MAX_BACKLOG`, 4404 no
WebSocket endpoint at that path (`UnknownPathConsumer`). The protocol: docs/websocket.md.

Every frame goes through the socket's `Outbox` and one sender task, so replies, heartbeats,
snapshots and updates are ordered, and the memory a slow client can hold is bounded. The one
shortcut: a price update for a socket whose outbox is empty, whose sender is idle and whose
transport is not paused is written by the relay's dispatch straight to daphne's transport
(`flow_control.frame_writer`), the frame prepared once per process. Nothing is queued or
being sent then, so the order is the same; anything else takes the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError

from apps.websocket_gateway.filters import FilterError, StreamFilters, parse_filters
from apps.websocket_gateway.flow_control import attach_flow_control, frame_writer
from apps.websocket_gateway.frames import (
    HEARTBEAT_FRAME,
    PONG_FRAME,
    UpdateFrame,
    control_frame,
    snapshot_frame,
)
from apps.websocket_gateway.middleware import ANONYMOUS, WsIdentity
from apps.websocket_gateway.outbox import Outbox, SnapshotRequest
from apps.websocket_gateway.relay import PriceRelay, get_relay
from apps.websocket_gateway.selectors import tenant_id_for_user, tenant_ws_limit
from apps.websocket_gateway.services import ws_slot_acquire, ws_slot_release, ws_slot_renew
from apps.websocket_gateway.snapshots import get_snapshot_reader

logger = logging.getLogger(__name__)

CLOSE_TOKEN_INVALID = 4401
CLOSE_LIMIT_REACHED = 4429
CLOSE_SLOW_CONSUMER = 4008
CLOSE_UNKNOWN_PATH = 4404
# A first socket waits this long for the relay's subscription, so its snapshot is read after
# the subscription exists and no update can fall between the two.
RELAY_READY_WAIT_SECONDS = 1.0
MAX_INBOUND_CHARS = 4096


@dataclass
class GatewayStats:
    """Per-process counters shown by `GET /api/v2/ws/status`."""

    connected: int = 0
    accepted_total: int = 0
    refused_limit_total: int = 0
    refused_token_total: int = 0
    closed_slow_total: int = 0
    #: Frames written to sockets (updates, snapshots, control frames, heartbeats).
    frames_sent_total: int = 0
    #: Price updates never sent: replaced by a newer one for the same offer while queued
    #: (coalesced), or thrown away with the backlog of a socket closed for being slow.
    frames_dropped_total: int = 0


STATS = GatewayStats()


class PriceUpdateConsumer(AsyncJsonWebsocketConsumer):
    """One client of the price stream."""

    # No channel layer: updates arrive through the per-process relay, and a layer would cost a
    # Redis subscription per socket for nothing.
    channel_layer_alias = None

    outbox: Outbox
    filters: StreamFilters
    relay: PriceRelay | None = None
    slot: tuple[str, str] | None = None
    is_closing = False
    is_counted = False
    has_requested_snapshot = False
    _tasks: tuple[asyncio.Task[None], ...] = ()
    _detach_flow_control: Callable[[], None] | None = None
    _write_frame: Callable[[bytes], bool] | None = None
    #: True while the sender task holds an item it took from the outbox (a snapshot being read,
    #: a frame being sent): a direct write then would overtake it.
    _is_sender_busy = False

    async def connect(self) -> None:
        """Accept; close with a code for a bad token or a full tenant, else start streaming."""
        self.outbox = Outbox(max_backlog=settings.WS_MAX_BACKLOG)
        self.filters = StreamFilters()
        identity: WsIdentity = self.scope.get("ws_identity", ANONYMOUS)
        # Accept first: a close before accept becomes an HTTP 403 and the code would be lost.
        await self.accept()
        if identity.is_token_invalid:
            STATS.refused_token_total += 1
            await self._refuse(CLOSE_TOKEN_INVALID, "TOKEN_INVALID", "access token is invalid")
            return
        slot_identity, limit = await self._slot_identity(identity)
        slot_id = uuid.uuid4().hex
        if not await ws_slot_acquire(identity=slot_identity, slot_id=slot_id, limit=limit):
            STATS.refused_limit_total += 1
            await self._refuse(
                CLOSE_LIMIT_REACHED,
                "WS_LIMIT",
                f"concurrent WebSocket limit of {limit} reached",
            )
            return
        self.slot = (slot_identity, slot_id)
        STATS.connected += 1
        STATS.accepted_total += 1
        self.is_counted = True
        self._detach_flow_control = attach_flow_control(
            self.base_send, on_pause=self.outbox.pause, on_resume=self.outbox.resume
        )
        # Direct writes only where Twisted's pause/resume reaches the outbox: a stalled client
        # must still end up with a bounded backlog and a 4008 close.
        if self._detach_flow_control is not None:
            self._write_frame = frame_writer(self.base_send)
        self._tasks = (
            asyncio.create_task(self._send_loop(), name="ws-sender"),
            asyncio.create_task(self._heartbeat_loop(), name="ws-heartbeat"),
        )
        relay = self.relay = get_relay()
        relay.register(self)
        if relay.is_subscribed or not await relay.wait_subscribed(RELAY_READY_WAIT_SECONDS):
            # Subscribed already: read now. Not subscribed in time (Redis down): serve the
            # database now; the relay resyncs this socket once it subscribes.
            self._request_snapshot("connect")
        # Otherwise the relay's subscription has just asked every socket, this one included.

    async def disconnect(self, code: int) -> None:
        """Undo everything `connect` did; safe to run once whatever point connect reached."""
        self.is_closing = True
        if self.relay is not None:
            self.relay.unregister(self)
            self.relay = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = ()
        if self._detach_flow_control is not None:
            self._detach_flow_control()
            self._detach_flow_control = None
        if self.slot is not None:
            slot_identity, slot_id = self.slot
            self.slot = None
            await ws_slot_release(identity=slot_identity, slot_id=slot_id)
        if self.is_counted:
            self.is_counted = False
            STATS.connected -= 1

    # --- client → server -------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Parse one client frame; anything malformed is answered with an `error` frame."""
        if text_data is None:
            self._reply_error("INVALID_MESSAGE", "binary frames are not supported")
            return
        if len(text_data) > MAX_INBOUND_CHARS:
            self._reply_error("INVALID_MESSAGE", f"messages are limited to {MAX_INBOUND_CHARS}")
            return
        try:
            message = json.loads(text_data)
        except json.JSONDecodeError:
            self._reply_error("INVALID_JSON", "message is not valid JSON")
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            self._reply_error("INVALID_MESSAGE", "message must be an object with a string type")
            return
        await self.receive_message(message)

    async def receive_message(self, message: dict[str, Any]) -> None:
        """Handle one message: `ping` -> `pong`, `subscribe` -> new filters and a snapshot."""
        message_type = message["type"]
        if message_type == "ping":
            self._queue_control(PONG_FRAME)
        elif message_type == "subscribe":
            try:
                filters = parse_filters(message.get("filters"))
            except FilterError as exc:
                self._reply_error("INVALID_FILTERS", "filters are invalid", details=exc.errors)
                return
            self.filters = filters
            self._request_snapshot("subscribe")
        else:
            self._reply_error("UNKNOWN_TYPE", "type must be one of: subscribe, ping")

    # --- relay → socket (RelaySubscriber) --------------------------------------------------

    def deliver(self, update: UpdateFrame) -> None:
        """Queue an update the filters want; close the socket if it cannot keep up."""
        if self.is_closing or not self.filters.matches(update.data):
            return
        if self.relay is not None:
            self.relay.count_delivery()
        if (
            self._write_frame is not None
            and not self._is_sender_busy
            and self.outbox.is_idle()
            and self._write_frame(update.wire)
        ):
            STATS.frames_sent_total += 1
            return
        coalesced_before = self.outbox.coalesced_count
        is_within_backlog = self.outbox.put_update(update.offer_id, update.frame)
        STATS.frames_dropped_total += self.outbox.coalesced_count - coalesced_before
        if not is_within_backlog:
            self._close_slow_consumer()

    def resync(self) -> None:
        """The relay (re)subscribed and may have missed updates: send a fresh snapshot."""
        if not self.is_closing:
            self._request_snapshot("connect" if not self.has_requested_snapshot else "resync")

    # --- internals ---------------------------------------------------------------------------

    def _request_snapshot(self, reason: str) -> None:
        self.has_requested_snapshot = True
        self.outbox.request_snapshot(reason)

    def _queue_control(self, frame: str) -> None:
        if not self.is_closing and not self.outbox.put_control(frame):
            self._close_slow_consumer()

    def _reply_error(self, code: str, message: str, **fields: Any) -> None:
        self._queue_control(control_frame("error", code=code, message=message, **fields))

    def _close_slow_consumer(self) -> None:
        if self.is_closing:
            return
        self.is_closing = True
        STATS.closed_slow_total += 1
        STATS.frames_dropped_total += self.outbox.backlog
        logger.warning(
            "ws client closed: backlog over limit",
            extra={"backlog": self.outbox.backlog, "limit": self.outbox.max_backlog},
        )
        # Free the backlog now; the close frame may sit behind a full transport buffer until
        # the close handshake times out and the server drops the connection.
        self.outbox = Outbox(max_backlog=self.outbox.max_backlog)
        for task in self._tasks:
            task.cancel()
        asyncio.get_running_loop().create_task(
            self.close(code=CLOSE_SLOW_CONSUMER, reason="backlog over limit")
        )

    async def _refuse(self, code: int, error_code: str, message: str) -> None:
        self.is_closing = True
        await self.send(text_data=control_frame("error", code=error_code, message=message))
        # daphne drops the close reason, hence the error frame above.
        await self.close(code=code, reason=message)

    async def _slot_identity(self, identity: WsIdentity) -> tuple[str, int]:
        """Whose slots this socket uses, and how many that identity may hold."""
        default_limit = int(settings.WS_DEFAULT_TENANT_LIMIT)
        if identity.tenant_id is not None and identity.ws_limit is not None:
            return f"tenant:{identity.tenant_id}", identity.ws_limit
        if identity.user_id is not None:
            tenant_id = identity.tenant_id or await sync_to_async(tenant_id_for_user)(
                user_id=identity.user_id
            )
            if tenant_id is not None:
                limit = await sync_to_async(tenant_ws_limit)(tenant_id=tenant_id)
                return f"tenant:{tenant_id}", default_limit if limit is None else limit
            return f"user:{identity.user_id}", default_limit
        client = self.scope.get("client") or ("unknown", 0)
        return f"ip:{client[0]}", default_limit

    async def _snapshot_frame(self, request: SnapshotRequest) -> str:
        filters = self.filters
        try:
            offers_json, is_truncated = await get_snapshot_reader().read(
                filters=filters, limit=settings.WS_SNAPSHOT_LIMIT
            )
        except DatabaseError as exc:
            logger.warning("ws snapshot failed", extra={"error": exc.__class__.__name__})
            return control_frame(
                "error", code="SNAPSHOT_UNAVAILABLE", message="snapshot not available"
            )
        return snapshot_frame(
            reason=request.reason,
            filters=filters.as_dict(),
            offers_json=offers_json,
            is_truncated=is_truncated,
        )

    async def _send_loop(self) -> None:
        """The only writer of this socket."""
        try:
            while True:
                item = await self.outbox.take()
                self._is_sender_busy = True
                if isinstance(item, SnapshotRequest):
                    item = await self._snapshot_frame(item)
                await self.send(text_data=item)
                STATS.frames_sent_total += 1
                self._is_sender_busy = False
        except asyncio.CancelledError:
            raise
        # Outer boundary of the socket's writer: log with traceback and close with 1011
        # rather than leave a socket that silently receives nothing.
        except Exception:
            logger.exception("ws sender failed")
            if not self.is_closing:
                self.is_closing = True
                await self.close(code=1011)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.WS_HEARTBEAT_SECONDS)
            self.outbox.put_heartbeat(HEARTBEAT_FRAME)
            if self.slot is not None:
                slot_identity, slot_id = self.slot
                await ws_slot_renew(identity=slot_identity, slot_id=slot_id)


class UnknownPathConsumer(AsyncJsonWebsocketConsumer):
    """Any WebSocket path other than the price stream: an `error` frame, then close 4404.

    Accepted first, as the price stream refuses sockets, because a close before accept becomes
    a bare HTTP 403 and the client would never learn why.
    """

    channel_layer_alias = None

    async def connect(self) -> None:
        """Accept, send an `error` frame naming the path, close with 4404."""
        path = str(self.scope.get("path", ""))[:200]
        logger.info("ws path not found", extra={"path": path})
        await self.accept()
        await self.send(
            text_data=control_frame(
                "error",
                code="NOT_FOUND",
                message=f"no WebSocket endpoint at {path}; the price stream is at /ws/",
            )
        )
        await self.close(code=CLOSE_UNKNOWN_PATH)
