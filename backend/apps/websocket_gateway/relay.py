"""The per-process price relay: one Redis subscriber per server process, local fan-out.

Why not the channel layer: if every daphne process subscribed to `price_updates` and then did a
global `group_send`, each client would receive one copy per process. Instead each process
subscribes once and hands each update only to the sockets it holds itself; Redis delivers every
message once to every subscriber, so every client sees every matching update exactly once,
whatever the number of processes, and no process needs to be elected as the single bridge.
Measurements are in docs/architecture.md ("Price stream").

The relay starts lazily with the first socket of the process and then lives as long as the
event loop. It reconnects with capped, jittered exponential backoff; after every successful
(re)subscription it asks every registered socket for a fresh snapshot, because updates
published while it was not subscribed are lost for good (Redis pub/sub keeps nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import weakref
from typing import Any, Protocol

import redis.asyncio as redis_asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from apps.providers.events import PRICE_UPDATES_CHANNEL, MalformedPriceUpdate
from apps.websocket_gateway.frames import UpdateFrame, parse_price_update
from apps.websocket_gateway.redis_clients import redis_url

logger = logging.getLogger(__name__)

BACKOFF_INITIAL_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 2.0
# How long a blocking read waits before the loop checks the connection again; redis-py sends a
# PING when `HEALTH_CHECK_SECONDS` have passed, so a silently dead peer is found as well.
READ_TIMEOUT_SECONDS = 1.0
HEALTH_CHECK_SECONDS = 5


class RelaySubscriber(Protocol):
    """A local socket as the relay sees it."""

    def deliver(self, update: UpdateFrame) -> None:
        """Take an update if the socket's filters want it. Must not block or raise."""

    def resync(self) -> None:
        """The relay may have missed updates: send this socket a fresh snapshot."""


class PriceRelay:
    """Subscribes to `price_updates` once and fans each update out to local subscribers."""

    def __init__(self, *, url: str, channel: str = PRICE_UPDATES_CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self._subscribers: dict[int, RelaySubscriber] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.state = "idle"
        self.started_at: float | None = None
        self.subscribed_since: float | None = None
        self.received_count = 0
        self.malformed_count = 0
        self.delivered_count = 0
        self.reconnect_count = 0
        self.last_error = ""

    @property
    def subscriber_count(self) -> int:
        """Sockets of this process the relay delivers to."""
        return len(self._subscribers)

    @property
    def is_subscribed(self) -> bool:
        """True while the Redis subscription is live."""
        return self._subscribed.is_set()

    def register(self, subscriber: RelaySubscriber) -> None:
        """Add a local socket; starts the relay on the first one."""
        self._subscribers[id(subscriber)] = subscriber
        if self._task is None:
            self.started_at = time.time()
            self._task = asyncio.create_task(self._run(), name="price-relay")

    def unregister(self, subscriber: RelaySubscriber) -> None:
        """Remove a local socket (no-op when it is not registered)."""
        self._subscribers.pop(id(subscriber), None)

    async def wait_subscribed(self, seconds: float) -> bool:
        """Wait until the relay is subscribed; False on timeout."""
        try:
            await asyncio.wait_for(self._subscribed.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        """Cancel the subscriber task (tests and shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._subscribed.clear()
        self.state = "idle"

    def status(self) -> dict[str, Any]:
        """A JSON-ready view of the relay for `GET /api/v2/ws/status`."""
        return {
            "state": self.state,
            "channel": self.channel,
            "subscribers": self.subscriber_count,
            "subscribed_since": self.subscribed_since,
            "received": self.received_count,
            "malformed": self.malformed_count,
            "delivered": self.delivered_count,
            "reconnects": self.reconnect_count,
            "last_error": self.last_error,
        }

    def dispatch(self, raw: bytes | str) -> int:
        """Validate one published message and hand it to every local subscriber.

        Returns how many subscribers took it. Malformed messages are logged and skipped.
        """
        self.received_count += 1
        try:
            update = parse_price_update(raw)
        except MalformedPriceUpdate as exc:
            self.malformed_count += 1
            logger.warning(
                "malformed message on price_updates skipped",
                extra={"channel": self.channel, "error": str(exc)},
            )
            return 0
        before = self.delivered_count
        # A copy: delivering may close a slow socket, which unregisters it.
        for subscriber in tuple(self._subscribers.values()):
            subscriber.deliver(update)
        return self.delivered_count - before

    def count_delivery(self) -> None:
        """Called by a subscriber that queued an update (keeps the status counters honest)."""
        self.delivered_count += 1

    def _resync_all(self) -> None:
        for subscriber in tuple(self._subscribers.values()):
            subscriber.resync()

    async def _run(self) -> None:
        backoff = BACKOFF_INITIAL_SECONDS
        has_subscribed_before = False
        while True:
            self.state = "reconnecting" if has_subscribed_before else "connecting"
            # No client-side retries: redis-py would otherwise reconnect and resubscribe behind
            # our back, and we would never learn that messages were lost in between.
            client = redis_asyncio.Redis.from_url(
                self.url,
                socket_connect_timeout=2.0,
                socket_keepalive=True,
                health_check_interval=HEALTH_CHECK_SECONDS,
                retry=Retry(NoBackoff(), 0),
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                self.state = "subscribed"
                self.subscribed_since = time.time()
                backoff = BACKOFF_INITIAL_SECONDS
                if has_subscribed_before:
                    self.reconnect_count += 1
                    logger.info(
                        "price relay resubscribed",
                        extra={"channel": self.channel, "subscribers": self.subscriber_count},
                    )
                has_subscribed_before = True
                # Every registered socket: those present during an outage missed updates, and
                # those that connected before the first subscription have only a DB snapshot.
                self._resync_all()
                while True:
                    message = await pubsub.get_message(timeout=READ_TIMEOUT_SECONDS)
                    if message is not None and message.get("type") == "message":
                        self.dispatch(message["data"])
            except (RedisError, OSError) as exc:
                self.last_error = f"{exc.__class__.__name__}: {exc}"
                logger.warning(
                    "price relay lost redis, reconnecting",
                    extra={"channel": self.channel, "error": self.last_error},
                )
            finally:
                self._subscribed.clear()
                self.subscribed_since = None
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
                with contextlib.suppress(RedisError, OSError):
                    await client.aclose()
            self.state = "reconnecting"
            # Full jitter keeps many processes from reconnecting in lockstep.
            await asyncio.sleep(backoff * (0.5 + random.random() / 2))  # noqa: S311
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)


_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PriceRelay] = (
    weakref.WeakKeyDictionary()
)
_latest_relay: PriceRelay | None = None


def get_relay() -> PriceRelay:
    """The relay of the running event loop (one per daphne process), created on first use."""
    global _latest_relay
    loop = asyncio.get_running_loop()
    relay = _relays.get(loop)
    if relay is None:
        relay = PriceRelay(url=redis_url())
        _relays[loop] = relay
        _latest_relay = relay
    return relay


def current_relay() -> PriceRelay | None:
    """The process's relay if one was started, without starting one.

    Not looked up by loop: the status endpoint may run in a worker thread's loop (Django adapts
    async views under sync middleware), while daphne's sockets all live on the main loop.
    """
    return _latest_relay
