"""Transport flow control for sockets served by daphne.

daphne never makes an ASGI `send` wait: every frame goes straight into Twisted's write buffer,
which grows without bound when a client stops reading. Twisted's public answer is a streaming
producer (`IPushProducer`): the transport calls `pauseProducing()` once its buffer passes
`bufferSize` (64 KiB) and `resumeProducing()` when it has drained. We register one per socket
and stop handing frames to daphne while paused, so a stalled client costs at most Twisted's
buffer plus its bounded, coalescing outbox.

The transport is reached through the `send` callable daphne gives the application
(`functools.partial(server.handle_reply, protocol)`). That is daphne's implementation, not an
ASGI contract, so anything unexpected (another server, the in-memory test communicator, a
transport that already has a producer) simply yields no flow control and the outbox limit
still applies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


class _PauseProducer:
    """Minimal `IPushProducer` relaying Twisted's pause/resume to the socket's outbox."""

    def __init__(self, on_pause: Callable[[], None], on_resume: Callable[[], None]) -> None:
        self._on_pause = on_pause
        self._on_resume = on_resume

    # camelCase: Twisted's IPushProducer interface.
    def pauseProducing(self) -> None:
        self._on_pause()

    def resumeProducing(self) -> None:
        self._on_resume()

    def stopProducing(self) -> None:
        # The connection is gone; the consumer's disconnect handler does the cleanup.
        return None


def attach_flow_control(
    send: Any, *, on_pause: Callable[[], None], on_resume: Callable[[], None]
) -> Callable[[], None] | None:
    """Register pause/resume callbacks on daphne's transport behind `send`.

    Returns a function that unregisters them, or None when flow control is not available.
    """
    if not isinstance(send, functools.partial) or not send.args:
        return None
    transport = getattr(send.args[0], "transport", None)
    if transport is None or not hasattr(transport, "registerProducer"):
        return None
    if getattr(transport, "producer", None) is not None:
        return None
    producer = _PauseProducer(on_pause, on_resume)
    try:
        transport.registerProducer(producer, True)
    except RuntimeError:
        return None

    def detach() -> None:
        if getattr(transport, "producer", None) is producer:
            transport.unregisterProducer()

    return detach
