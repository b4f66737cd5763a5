"""Snapshot reads shared between sockets.

After a relay reconnect every socket of the process asks for a snapshot at once, and a connect
storm does the same. Concurrent requests with identical filters share one database query and
one JSON serialisation of its result (single flight); nothing is cached after the read returns,
so a snapshot is never older than the request that triggered it.
"""

from __future__ import annotations

import asyncio
import json
import weakref

from asgiref.sync import sync_to_async

from apps.websocket_gateway.filters import StreamFilters
from apps.websocket_gateway.selectors import offer_snapshot

SnapshotKey = tuple[tuple[str | float | None, ...], int]


class SnapshotReader:
    """Single-flight wrapper around `selectors.offer_snapshot`, one per event loop."""

    def __init__(self) -> None:
        self._in_flight: dict[SnapshotKey, asyncio.Future[tuple[str, bool]]] = {}
        self.query_count = 0

    async def read(self, *, filters: StreamFilters, limit: int) -> tuple[str, bool]:
        """The matching offers as a JSON array string, and whether the list was truncated."""
        key: SnapshotKey = (filters.cache_key(), limit)
        future = self._in_flight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._load(filters=filters, limit=limit))
            self._in_flight[key] = future
            future.add_done_callback(lambda _done: self._in_flight.pop(key, None))
        # Shielded: one socket disconnecting must not cancel the read the others wait for.
        return await asyncio.shield(future)

    async def _load(self, *, filters: StreamFilters, limit: int) -> tuple[str, bool]:
        self.query_count += 1
        offers, is_truncated = await sync_to_async(offer_snapshot)(filters=filters, limit=limit)
        return json.dumps(offers, separators=(",", ":")), is_truncated


_readers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SnapshotReader] = (
    weakref.WeakKeyDictionary()
)


def get_snapshot_reader() -> SnapshotReader:
    """The running event loop's snapshot reader (identical concurrent requests share one query)."""
    loop = asyncio.get_running_loop()
    reader = _readers.get(loop)
    if reader is None:
        reader = _readers[loop] = SnapshotReader()
    return reader
