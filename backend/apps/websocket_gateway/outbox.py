"""Per-socket bounded outbox: what the server still owes one client.

Framework-free. Memory per client is bounded by construction: price updates are coalesced per
offer (the latest price wins, because a client only needs the current price), a requested
snapshot supersedes every update queued before it, heartbeats are never queued behind other
frames, and once the backlog passes `max_backlog` the caller closes the socket.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class SnapshotRequest:
    """Send a fresh snapshot; `reason` is `connect`, `subscribe` or `resync`."""

    reason: str


OutboxItem = SnapshotRequest | str


class Outbox:
    """Pending frames for one socket, drained by that socket's sender task.

    Order of delivery: a pending snapshot first (read from the database when it is taken, so it
    is at least as new as every update it replaced), then control frames (pong, error,
    heartbeat), then price updates in first-queued order. `pause()`/`resume()` are driven by the
    transport's flow control: while paused nothing is handed out and updates coalesce.
    """

    def __init__(self, *, max_backlog: int) -> None:
        self.max_backlog = max_backlog
        self._updates: OrderedDict[str, str] = OrderedDict()
        self._control: deque[str] = deque()
        self._snapshot: SnapshotRequest | None = None
        self._is_paused = False
        self._wakeup = asyncio.Event()
        self.coalesced_count = 0

    @property
    def backlog(self) -> int:
        """Frames waiting (a pending snapshot counts as one)."""
        return len(self._updates) + len(self._control) + (self._snapshot is not None)

    @property
    def is_paused(self) -> bool:
        """True while Twisted's write buffer is full: only coalescing happens."""
        return self._is_paused

    def is_idle(self) -> bool:
        """True when nothing waits and the transport takes frames: a frame may bypass the queue."""
        return not (self._is_paused or self._snapshot or self._control or self._updates)

    def is_overflowing(self) -> bool:
        """True when more frames wait than `max_backlog` (the socket is then closed with 4008)."""
        return self.backlog > self.max_backlog

    def put_update(self, offer_id: str, frame: str) -> bool:
        """Queue a price update frame; returns False when the backlog is now over the limit."""
        if offer_id in self._updates:
            # Keep the queue position (older offers are not starved) but send the newest price.
            self._updates[offer_id] = frame
            self.coalesced_count += 1
        else:
            self._updates[offer_id] = frame
        self._wakeup.set()
        return not self.is_overflowing()

    def put_control(self, frame: str) -> bool:
        """Queue a reply such as `pong` or `error`; False when the backlog is over the limit."""
        self._control.append(frame)
        self._wakeup.set()
        return not self.is_overflowing()

    def put_heartbeat(self, frame: str) -> None:
        """Queue a heartbeat unless one is already waiting or the transport is paused.

        A stalled client must not accumulate heartbeats.
        """
        if self._is_paused or frame in self._control:
            return
        self._control.append(frame)
        self._wakeup.set()

    def request_snapshot(self, reason: str) -> None:
        """Ask for a snapshot; drops queued updates, which the snapshot read supersedes.

        Relies on producers publishing after their transaction commits: any update queued now
        describes a state the later database read already contains.
        """
        self._updates.clear()
        self._snapshot = SnapshotRequest(reason=reason)
        self._wakeup.set()

    def pause(self) -> None:
        """Stop handing out frames (the transport cannot take more)."""
        self._is_paused = True

    def resume(self) -> None:
        """Hand out frames again and wake the sender."""
        self._is_paused = False
        self._wakeup.set()

    def take_nowait(self) -> OutboxItem | None:
        """The next item if one may be sent now, else None."""
        if self._is_paused:
            return None
        if self._snapshot is not None:
            snapshot, self._snapshot = self._snapshot, None
            return snapshot
        if self._control:
            return self._control.popleft()
        if self._updates:
            return self._updates.popitem(last=False)[1]
        return None

    async def take(self) -> OutboxItem:
        """Wait for the next item that may be sent."""
        while True:
            item = self.take_nowait()
            if item is not None:
                return item
            self._wakeup.clear()
            await self._wakeup.wait()
