"""Transport flow control and direct frame writes for sockets served by daphne.

daphne never makes an ASGI `send` wait: every frame goes straight into Twisted's write buffer,
which grows without bound when a client stops reading. Twisted's public answer is a streaming
producer (`IPushProducer`): the transport calls `pauseProducing()` once its buffer passes
`bufferSize` (64 KiB) and `resumeProducing()` when it has drained. We register one per socket
and stop handing frames to daphne while paused, so a stalled client costs at most Twisted's
buffer plus its bounded, coalescing outbox.

The transport is reached through the `send` callable daphne gives the application
(`functools.partial(server.handle_reply, protocol)`). That is daphne's implementation, not an
ASGI contract, so anything unexpected (another server, the in-memory test communicator)
simply yields no flow control and the outbox limit still applies.

A transport holds one producer. After daphne upgrades a request to a WebSocket, Twisted's
`HTTPChannel` is still registered there (it stops reading from a client whose replies pile
up). Ours takes its place and forwards every call to it, so its behaviour is kept.

`frame_writer` reaches the same transport to write a prepared WebSocket frame synchronously.
The relay's fan-out uses it: sending through ASGI costs, per socket and update, a woken sender
task, four coroutine layers (channels → daphne → autobahn) and the frame built again, which at
thousands of sockets per process was most of the server's CPU (docs/benchmarks.md, "WebSocket
fan-out"). It writes only in the state where autobahn's `sendMessage` would write exactly the
same bytes, and says False otherwise so the caller takes the ordinary path.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable
from typing import Any


class _PauseProducer:
    """`IPushProducer` relaying Twisted's pause/resume to the socket's outbox.

    Then to the producer it replaced, if any.
    """

    def __init__(
        self, on_pause: Callable[[], None], on_resume: Callable[[], None], previous: Any
    ) -> None:
        self._on_pause = on_pause
        self._on_resume = on_resume
        self.previous = previous

    # camelCase: Twisted's IPushProducer interface.
    def pauseProducing(self) -> None:
        self._on_pause()
        if self.previous is not None:
            self.previous.pauseProducing()

    def resumeProducing(self) -> None:
        self._on_resume()
        if self.previous is not None:
            self.previous.resumeProducing()

    def stopProducing(self) -> None:
        # The connection is gone; the consumer's disconnect handler does our cleanup.
        if self.previous is not None:
            self.previous.stopProducing()


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
    previous = getattr(transport, "producer", None)
    if previous is not None:
        if not getattr(transport, "streamingProducer", False):
            return None  # a pull producer cannot be chained behind a push producer
        transport.unregisterProducer()
    producer = _PauseProducer(on_pause, on_resume, previous)
    try:
        transport.registerProducer(producer, True)
    except RuntimeError:
        return None
    if getattr(transport, "producerPaused", False):
        on_pause()

    def detach() -> None:
        if getattr(transport, "producer", None) is producer:
            transport.unregisterProducer()
            if previous is not None and not getattr(transport, "disconnected", True):
                transport.registerProducer(previous, True)

    return detach


def frame_writer(send: Any) -> Callable[[bytes], bool] | None:
    """A function writing one prepared text frame (`frames.wire_text_frame`) to the socket.

    It returns True when the bytes went to the socket or to Twisted's buffer, False when it
    did not write and the caller must send the frame through ASGI instead: daphne has dropped
    the connection, the WebSocket is not open, autobahn has queued data of its own, or a
    negotiated extension (compression), fragmentation, a payload limit or octet logging would
    make autobahn write other bytes (or none). autobahn's traffic statistics do not count
    these frames.

    On a plain TCP transport with nothing buffered, the frame goes to the socket with one
    `send` (what asyncio's own transports do); only what the kernel does not take is handed
    to Twisted's `write`, which then buffers it, waits for writability and pauses the
    producer past 64 KiB as usual. Writing through Twisted alone cost a writer registration,
    an epoll wake-up and a deregistration per socket and update. Returns None (no writer)
    when `send` is not daphne's.
    """
    if not isinstance(send, functools.partial) or not send.args:
        return None
    protocol = send.args[0]
    connections = getattr(getattr(send.func, "__self__", None), "connections", None)
    transport = getattr(protocol, "transport", None)
    is_open_state = getattr(protocol, "STATE_OPEN", None)
    if (
        not isinstance(connections, dict)
        or transport is None
        or is_open_state is None
        or not hasattr(protocol, "send_queue")
    ):
        return None
    direct_socket = _plain_tcp_socket(transport)

    def write(wire: bytes) -> bool:
        details = connections.get(protocol)
        if (
            details is None
            or "disconnected" in details
            or protocol.state != is_open_state
            or protocol.send_queue
            or getattr(protocol, "_perMessageCompress", None) is not None
            or protocol.autoFragmentSize
            or protocol.logOctets
            or 0 < protocol.maxMessagePayloadSize < len(wire)
        ):
            return False
        if (
            direct_socket is not None
            and transport.connected
            and not transport.disconnecting
            and not transport._writeDisconnected
            and not transport.dataBuffer
            and not transport._tempDataLen
        ):
            try:
                sent = direct_socket.send(wire)
            except OSError:
                # EAGAIN, or an error Twisted's own write path meets and closes the socket on.
                sent = 0
            if sent == len(wire):
                return True
            wire = wire[sent:]
        transport.write(wire)
        return True

    return write


def _plain_tcp_socket(transport: Any) -> socket.socket | None:
    """The socket of a Twisted TCP connection without TLS, else None (no direct sends)."""
    from twisted.internet import tcp

    if not isinstance(transport, tcp.Connection) or getattr(transport, "TLS", True):
        return None
    sock = getattr(transport, "socket", None)
    required = ("dataBuffer", "_tempDataLen", "connected", "disconnecting", "_writeDisconnected")
    if not isinstance(sock, socket.socket) or not all(hasattr(transport, a) for a in required):
        return None
    return sock
