"""A minimal WebSocket client for fan-out benchmarks: thousands of sockets in one process.

The `websockets` asyncio client costs ~40 µs of Python per received frame (a reader task, an
assembler, a queue, UTF-8 decoding), so 5,000 sockets in the bench process took as much CPU as
a server process and the bench measured itself. This client is an `asyncio.Protocol` that
parses RFC 6455 frames straight from `data_received` and keeps, per text frame, only
(monotonic arrival time, payload bytes); everything is decoded after the run.

Handles what the servers send: unmasked text frames (FIN set; continuation frames are joined),
pings (answered with a masked pong, which daphne's autobahn keep-alive requires) and close.
No compression is offered, so frames are never compressed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time

_OP_CONTINUATION, _OP_TEXT, _OP_CLOSE, _OP_PING, _OP_PONG = 0x0, 0x1, 0x8, 0x9, 0xA


def _masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client → server frame (clients must mask; payloads here are < 126 bytes)."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


class BenchClient(asyncio.Protocol):
    """One socket. `frames` collects (arrival, payload) of every text frame after the first."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1\r\n\r\n"
        ).encode()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.is_open = False
        self.fragments: list[bytes] = []
        self.first_frame: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.frames: list[tuple[float, bytes]] = []
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.first_frame.done():
            self.first_frame.set_exception(ConnectionError(f"closed before a frame: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        arrived = time.monotonic()
        buffer = self.buffer
        buffer += data
        if not self.is_open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[: buffer.find(b"\r\n")])
            if b" 101 " not in status:
                raise ConnectionError(f"handshake refused: {status!r}")
            del buffer[: end + 4]
            self.is_open = True
        offset = 0
        while len(buffer) - offset >= 2:
            head, length = buffer[offset], buffer[offset + 1] & 0x7F
            start = offset + 2
            if length == 126:
                if len(buffer) - start < 2:
                    break
                (length,) = struct.unpack_from("!H", buffer, start)
                start += 2
            elif length == 127:
                if len(buffer) - start < 8:
                    break
                (length,) = struct.unpack_from("!Q", buffer, start)
                start += 8
            if len(buffer) - start < length:
                break
            payload = bytes(buffer[start : start + length])
            offset = start + length
            self._frame(head, payload, arrived)
        del buffer[:offset]

    def _frame(self, head: int, payload: bytes, arrived: float) -> None:
        opcode = head & 0x0F
        if opcode in (_OP_TEXT, _OP_CONTINUATION):
            self.fragments.append(payload)
            if not head & 0x80:
                return
            text = b"".join(self.fragments) if len(self.fragments) > 1 else payload
            self.fragments = []
            if self.first_frame.done():
                self.frames.append((arrived, text))
            else:
                self.first_frame.set_result(text)
        elif opcode == _OP_PING and self.transport is not None:
            self.transport.write(_masked_frame(_OP_PONG, payload))
        elif opcode == _OP_CLOSE and self.transport is not None:
            self.transport.write(_masked_frame(_OP_CLOSE, payload[:2]))
            self.transport.close()

    async def close(self) -> None:
        """Send a close frame (1000) and wait up to 5 s for the server to drop the connection."""
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(_masked_frame(_OP_CLOSE, struct.pack("!H", 1000)))
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), 5)
        except TimeoutError:
            self.transport.abort()


async def connect(url: str) -> BenchClient:
    """Open `ws://host:port/path` and wait for its first text frame (the connect snapshot)."""
    rest = url.removeprefix("ws://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: BenchClient(host, int(port), "/" + path), host, int(port)
    )
    await asyncio.wait_for(client.first_frame, 120)
    return client
