"""daphne as every process runs it (gpubroker.httpserver): what the server refuses itself gets
the envelope too, and the connection stays readable until the answer is out."""

from __future__ import annotations

import gc
import json
import socket
from pathlib import Path

import httpx
import pytest

from gpubroker.httpserver import MAX_HEADER_BYTES, settle_heap
from gpubroker.testing.processes import daphne_server

ME = "/api/v2/auth/me"


def _raw_exchange(port: int, request: bytes) -> tuple[str, dict[str, str], dict]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    return status_line, headers, json.loads(body)


def _assert_envelope(body: dict, code: str, trace_id: str) -> None:
    assert body["error"]["code"] == code
    assert body["detail"] == body["error"]["message"]
    assert body["error"]["trace_id"] == trace_id
    assert len(trace_id) == 32


@pytest.mark.slow
def test_oversized_and_malformed_requests_get_envelopes(tmp_path: Path) -> None:
    with daphne_server(tmp_path) as server, httpx.Client(base_url=server.base_url) as client:
        # A padded token the server accepts reaches the application: 401 from the auth layer.
        padded = client.get(ME, headers={"Authorization": "Bearer " + "x" * 8 * 1024})
        assert padded.status_code == 401
        assert padded.json()["error"]["code"] == "UNAUTHORIZED"
        # 16 KiB of token (daphne alone closed the connection without a word): 431.
        for size in (16 * 1024, 2 * 1024 * 1024):
            response = client.get(ME, headers={"Authorization": "Bearer " + "x" * size})
            assert response.status_code == 431
            assert response.headers["Connection"] == "close"
            _assert_envelope(response.json(), "HEADERS_TOO_LARGE", response.headers["X-Trace-Id"])
            assert response.json()["error"]["details"] == {"max_bytes": MAX_HEADER_BYTES}
        # Many headers, each small, together over the limit: 431 as well.
        many = {f"X-Padding-{n}": "y" * 100 for n in range(200)}
        assert client.get("/api/v2/ping", headers=many).status_code == 431
        # Not HTTP at all, a bad header line, a bad Content-Length: 400 envelopes.
        for request in (
            b"GARBAGE\r\n\r\n",
            b"GET /api/v2/ping HTTP/1.1\r\nno-colon-here\r\n\r\n",
            b"POST /api/v2/ping HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n",
        ):
            status_line, headers, body = _raw_exchange(server.port, request)
            assert status_line == "HTTP/1.1 400 Bad Request"
            assert headers["content-type"] == "application/json"
            _assert_envelope(body, "BAD_REQUEST", headers["x-trace-id"])
        # Codes Twisted has no phrase for go out with the standard one, not "Unknown Status".
        invalid = client.get("/api/v2/providers?per_page=0")
        assert (invalid.status_code, invalid.reason_phrase) == (422, "Unprocessable Entity")
        assert invalid.json()["error"]["code"] == "VALIDATION_ERROR"
        # The server keeps serving.
        assert client.get("/api/v2/ping").json() == {"status": "ok"}


@pytest.mark.parametrize(("setting", "expected"), [("12345", 12345), ("0", None)])
def test_settle_heap_sets_the_young_threshold_and_freezes(
    monkeypatch: pytest.MonkeyPatch, setting: str, expected: int | None
) -> None:
    before = gc.get_threshold()
    monkeypatch.setenv("GC_GEN0_THRESHOLD", setting)
    try:
        settle_heap()
        assert gc.get_threshold() == (expected or before[0], *before[1:])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
