"""daphne as every GPUBROKER process runs it: the same server, with envelopes for what it refuses.

    python -m gpubroker.httpserver [daphne's arguments] gpubroker.asgi:application

daphne parses HTTP with Twisted, which refuses some requests before the ASGI application sees
them, so no middleware of ours can answer them. Out of the box it answers those with a bare
"400 Bad Request" and no body, and a request line or a single header line longer than 16 KiB
(a padded bearer token, say) with no answer at all: the connection is just closed. Here Twisted
gets a channel that answers each of them with the SPEC envelope instead:

- headers over `MAX_HEADER_BYTES` in all (request line included), a single line over it, or
  more than Twisted's 500 header lines: 431 `HEADERS_TOO_LARGE`;
- anything else Twisted cannot parse (a bad request line, a bad Content-Length, a broken
  chunked body): 400 `BAD_REQUEST`.

The answer carries `Connection: close` and a fresh `X-Trace-Id`; the server then stops reading
the request, shuts its side for writing and lets the client close (closing at once with unread
bytes in the socket would reset the connection before the client reads the answer).

`make run` (gpubroker.serve), the container's `web` role and the suite's server processes
(gpubroker.testing.processes) all start daphne through this module. Behind nginx, nginx's own
`large_client_header_buffers` apply first (nginx/gpubroker.conf answers them with the same
envelope). docs/security.md lists each server's limits.

The garbage collector is tuned for a server holding thousands of WebSocket connections (see
`settle_heap`).
"""

from __future__ import annotations

import gc
import json
import os
import sys
from http import HTTPStatus
from typing import Any

from daphne import cli as daphne_cli
from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory
from twisted.web import http

from gpubroker.core.context import new_trace_id, trace_id_var
from gpubroker.core.errors import BadRequest, HeadersTooLarge, error_body

#: The request line plus every header line, in bytes (Twisted's own default, stated here).
MAX_HEADER_BYTES = 16 * 1024
#: How long a refused client gets to read the answer and close before the socket is dropped.
REFUSED_LINGER_SECONDS = 5
#: Allocations between young collections (CPython's default is 700), `GC_GEN0_THRESHOLD`.
GC_GEN0_THRESHOLD_DEFAULT = 50_000


def refusal_response(status: int, reason: str, code: str, message: str, **details: Any) -> bytes:
    """A complete HTTP/1.1 response (status line, headers, envelope body) for a refused request.

    No request context exists at this point, so the trace id is a new one (`X-Trace-Id` too).
    """
    token = trace_id_var.set(new_trace_id())
    try:
        trace_id = trace_id_var.get()
        body = json.dumps(error_body(code, message, details)).encode()
    finally:
        trace_id_var.reset(token)
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Trace-Id: {trace_id}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class EnvelopeHTTPChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel answering the requests it refuses with the envelope."""

    MAX_LENGTH = MAX_HEADER_BYTES
    totalHeadersSize = MAX_HEADER_BYTES
    _refused = False

    # Once refused, the rest of the request is read and dropped: Twisted's parser, which may
    # be in the middle of a buffer of lines, must see none of it.
    def dataReceived(self, data: bytes) -> None:
        """Bytes from the client: parsed by Twisted, or dropped after a refusal."""
        if not self._refused:
            super().dataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        """One request or header line: parsed by Twisted, or dropped after a refusal."""
        if not self._refused:
            super().lineReceived(line)

    def rawDataReceived(self, data: bytes) -> None:
        """Body bytes: handled by Twisted, or dropped after a refusal."""
        if not self._refused:
            super().rawDataReceived(data)

    def lineLengthExceeded(self, line: bytes) -> None:
        """A request or header line longer than `MAX_HEADER_BYTES` (Twisted: close, no answer)."""
        self._refuse_headers_too_large()

    def _respondToBadRequestAndDisconnect(self) -> None:
        """Twisted's one exit for requests it cannot take (Twisted: a bodiless 400)."""
        too_many_bytes = self._receivedHeaderSize > self.totalHeadersSize
        too_many_lines = getattr(self, "_receivedHeaderCount", 0) > self.maxHeaders
        if too_many_bytes or too_many_lines:
            self._refuse_headers_too_large()
        else:
            self._refuse(
                refusal_response(400, "Bad Request", BadRequest.code, "Malformed HTTP request")
            )

    def _refuse_headers_too_large(self) -> None:
        self._refuse(
            refusal_response(
                431,
                "Request Header Fields Too Large",
                HeadersTooLarge.code,
                f"Request headers exceed {MAX_HEADER_BYTES} bytes",
                max_bytes=MAX_HEADER_BYTES,
            )
        )

    def _refuse(self, response: bytes) -> None:
        transport: Any = self.transport
        if self._refused or transport is None:
            return
        self._refused = True
        transport.write(response)
        if hasattr(transport, "loseWriteConnection"):
            transport.loseWriteConnection()
        else:
            transport.loseConnection()
        self.setTimeout(REFUSED_LINGER_SECONDS)

    def timeoutConnection(self) -> None:
        """A refused client that never closed: drop it; otherwise Twisted's idle timeout."""
        transport: Any = self.transport
        if self._refused and transport is not None:
            transport.abortConnection()
        else:
            super().timeoutConnection()


class EnvelopeHTTPFactory(HTTPFactory):
    """daphne's HTTP factory with `EnvelopeHTTPChannel` as its protocol (plain HTTP/1.1).

    Twisted's default wraps the channel to negotiate HTTP/2 over TLS; daphne serves plain TCP
    here (TLS ends at nginx or the ingress), so the channel is used directly.
    """

    protocol = EnvelopeHTTPChannel


def settle_heap() -> None:
    """Freeze what is alive now out of the collector's sight and raise the young threshold.

    Called once the application is imported (Django set up, models and middleware loaded).
    With thousands of sockets, CPython's default thresholds ran a full collection every few
    seconds, each walking every object of the process (~0.4-1.3 s on this machine): a pause
    longer than the whole fan-out budget (docs/benchmarks.md, "WebSocket fan-out"). Frozen
    start-up objects are never walked again, and with the young threshold at
    `GC_GEN0_THRESHOLD` (default 50,000; 0 keeps CPython's) short-lived frame objects die
    before they are promoted, so full collections become rare. Memory is still reclaimed by
    reference counting; only cycles wait longer.
    """
    threshold = int(os.environ.get("GC_GEN0_THRESHOLD", GC_GEN0_THRESHOLD_DEFAULT))
    gc.collect()
    gc.freeze()
    if threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(threshold, gen1, gen2)


def _import_application(path: str) -> Any:
    application = _import_by_path(path)
    settle_heap()
    return application


_import_by_path = daphne_cli.import_by_path


def add_reason_phrases() -> None:
    """Give Twisted the reason phrases it lacks, from the standard library's `HTTPStatus`.

    Twisted writes the status line from `twisted.web.http.RESPONSES` and falls back to
    "Unknown Status" for codes it does not list, among them the API's own 422 (validation),
    429 (rate limits) and 431: every such answer went out as `HTTP/1.1 429 Unknown Status`.
    Codes Twisted knows keep its phrase.
    """
    for status in HTTPStatus:
        http.RESPONSES.setdefault(status.value, status.phrase.encode("ascii"))


def main(argv: list[str] | None = None) -> None:
    """Run daphne's command line with `EnvelopeHTTPFactory` in place of its HTTP factory."""
    add_reason_phrases()
    # daphne.server.Server.run builds `HTTPFactory(self)` from its module's namespace, so that
    # name is where a factory of our own goes (tests/test_httpserver.py pins the behaviour).
    daphne_server.HTTPFactory = EnvelopeHTTPFactory
    # daphne.cli imports the application through this name: the heap is settled right after.
    daphne_cli.import_by_path = _import_application
    CommandLineInterface().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
