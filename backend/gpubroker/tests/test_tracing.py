"""OpenTelemetry: a daphne with OTEL_ENABLED exports request spans over OTLP/HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from gpubroker.core.tracing import _traces_url
from gpubroker.testing.processes import daphne_server


class Collector:
    """A stand-in OTLP/HTTP collector on loopback that keeps every span it receives."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, dict[str, str]]] = []
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                with collector.lock:
                    for resource_spans in request.resource_spans:
                        service = {
                            a.key: a.value.string_value for a in resource_spans.resource.attributes
                        }
                        for scope_spans in resource_spans.scope_spans:
                            for span in scope_spans.spans:
                                collector.spans.append((span.trace_id.hex(), span.name, service))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        return Handler

    def wait_for(self, trace_id: str, seconds: float = 15.0) -> list[tuple[str, str, dict]]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                found = [s for s in self.spans if s[0] == trace_id]
            if found:
                return found
            time.sleep(0.1)
        return []


@pytest.fixture
def collector() -> Iterator[tuple[Collector, int]]:
    sink = Collector()
    server = HTTPServer(("127.0.0.1", 0), sink.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink, server.server_address[1]
    finally:
        server.shutdown()


def test_traces_url_accepts_base_or_full_endpoint() -> None:
    assert _traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert _traces_url("http://collector:4318/v1/traces/") == "http://collector:4318/v1/traces"


@pytest.mark.slow
def test_request_spans_are_exported_and_share_the_trace_id(tmp_path: Path, collector) -> None:
    sink, port = collector
    env = {
        "OTEL_ENABLED": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_SERVICE_NAME": "gpubroker-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    with daphne_server(tmp_path, env=env) as server:
        continued = httpx.get(
            f"{server.base_url}/api/v2/ping",
            headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
            timeout=5,
        )
        fresh = httpx.get(f"{server.base_url}/api/v2/nope", timeout=5)
        continued_spans = sink.wait_for(trace)
        fresh_spans = sink.wait_for(fresh.headers["X-Trace-Id"])
    # The caller's trace is continued, and our trace id is the span's.
    assert continued.headers["X-Trace-Id"] == trace
    assert [name for _, name, _ in continued_spans] == ["GET api/v2/ping"]
    assert continued_spans[0][2]["service.name"] == "gpubroker-test"
    # Without traceparent the span starts the trace, and X-Trace-Id names it.
    assert fresh.status_code == 404
    assert len(fresh_spans) == 1
