"""After-commit side effects: the one place that publishes events and invalidates caches.

Readers must never see an event for a change that was rolled back, so everything here is
registered with `transaction.on_commit`. Redis being down loses the notification (logged),
never the committed data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import redis
from django.db import transaction

from gpubroker.core.redis import get_redis

logger = logging.getLogger(__name__)

PRICE_UPDATES_CHANNEL = "price_updates"


def publish_now(channel: str, messages: Iterable[Mapping[str, Any]]) -> int:
    """Publish each message as JSON on `channel` in one pipeline; returns how many were sent."""
    payloads = [json.dumps(message, default=str, separators=(",", ":")) for message in messages]
    if not payloads:
        return 0
    try:
        pipe = get_redis().pipeline(transaction=False)
        for payload in payloads:
            pipe.publish(channel, payload)
        pipe.execute()
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


def publish_after_commit(channel: str, messages: list[Mapping[str, Any]]) -> None:
    if messages:
        after_commit(lambda: publish_now(channel, messages))
