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


def publish_now(channel: str, messages: Iterable[str]) -> int:
    """Publish each message (already serialised) on `channel` in one Redis pipeline.

    Returns how many were sent: 0 when there are none or Redis is unreachable (logged).
    """
    payloads = list(messages)
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
