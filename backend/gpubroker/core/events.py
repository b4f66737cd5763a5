"""After-commit side effects: the one place that publishes events and invalidates caches.

Readers must never see an event for a change that was rolled back, so everything here is
registered with `transaction.on_commit`. Redis being down loses the notification (logged),
never the committed data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import redis
from django.db import transaction

from gpubroker.core.redis import get_redis

logger = logging.getLogger(__name__)


#: PUBLISH of every argument, in order, on the one key's channel: one command per chunk instead
#: of one per message (redis-py packs and parses each command in Python, ~30 µs a message).
_PUBLISH_ALL = "for i = 1, #ARGV do redis.call('PUBLISH', KEYS[1], ARGV[i]) end return #ARGV"
#: Messages per script call: bounds how long one call holds the server (~1 ms).
PUBLISH_CHUNK = 1000


def _publish(client: redis.Redis, channel: str, payloads: list[str]) -> None:
    chunks = [
        payloads[start : start + PUBLISH_CHUNK] for start in range(0, len(payloads), PUBLISH_CHUNK)
    ]
    pipe = client.pipeline(transaction=False)
    for chunk in chunks:
        pipe.eval(_PUBLISH_ALL, 1, channel, *chunk)
    refused = [
        chunk
        for chunk, outcome in zip(chunks, pipe.execute(raise_on_error=False), strict=True)
        if isinstance(outcome, redis.ResponseError)
    ]
    if refused:
        # A server that refuses scripts published nothing of those chunks: one PUBLISH each.
        pipe = client.pipeline(transaction=False)
        for chunk in refused:
            for payload in chunk:
                pipe.publish(channel, payload)
        pipe.execute()


def publish_now(channel: str, messages: Iterable[str]) -> int:
    """Publish each message (already serialised) on `channel`, in order, in one Redis pipeline.

    The messages go in chunks of PUBLISH_CHUNK, each one server-side script that PUBLISHes
    them in turn (subscribers see ordinary messages, one per PUBLISH); a server that refuses
    scripts gets one PUBLISH per message instead. Returns how many were sent: 0 when there
    are none or Redis is unreachable (logged).
    """
    payloads = list(messages)
    if not payloads:
        return 0
    try:
        _publish(get_redis(), channel, payloads)
    except redis.RedisError as exc:
        logger.warning(
            "could not publish %d events on %s: %s", len(payloads), channel, exc.__class__.__name__
        )
        return 0
    return len(payloads)


def after_commit(*effects: Callable[[], object]) -> None:
    """Run each effect once the current transaction commits (immediately outside one)."""
    for effect in effects:
        transaction.on_commit(effect)
