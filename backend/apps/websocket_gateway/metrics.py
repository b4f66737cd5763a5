"""Prometheus series of the price stream, from this process's counters (docs/operations.md).

- `gpubroker_websocket_connections`: open sockets of the price stream in this process.
- `gpubroker_websocket_frames_sent_total`: frames written to sockets.
- `gpubroker_websocket_frames_dropped_total`: price updates never sent (coalesced, or the
  backlog of a socket closed for being slow).
- `gpubroker_websocket_relay_up`: 1 while this process's relay is subscribed to
  `price_updates`; 0 before its first socket started it, and while it reconnects.

Read from `consumers.STATS` and the relay at scrape time, so the sockets' code paths carry no
Prometheus objects. Per process: each daphne process has its own sockets and relay.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from apps.websocket_gateway.consumers import STATS
from apps.websocket_gateway.relay import current_relay


class StreamCollector(Collector):
    """The price stream's series of this process (no I/O: counters and the relay's flag)."""

    def collect(self) -> Iterable[Metric]:
        """The four stream series, as they are now."""
        relay = current_relay()
        return [
            GaugeMetricFamily(
                "gpubroker_websocket_connections",
                "Open price-stream sockets in this process.",
                value=STATS.connected,
            ),
            CounterMetricFamily(
                "gpubroker_websocket_frames_sent",
                "Frames written to price-stream sockets.",
                value=STATS.frames_sent_total,
            ),
            CounterMetricFamily(
                "gpubroker_websocket_frames_dropped",
                "Price updates never sent: coalesced, or the backlog of a slow socket closed.",
                value=STATS.frames_dropped_total,
            ),
            GaugeMetricFamily(
                "gpubroker_websocket_relay_up",
                "1 while this process's relay is subscribed to price_updates.",
                value=1 if relay is not None and relay.is_subscribed else 0,
            ),
        ]

    def describe(self) -> Iterable[Metric]:
        """The same families (cheap: no I/O)."""
        return self.collect()


_collector: StreamCollector | None = None


def stream_collector_register() -> None:
    """Add `StreamCollector` to the default registry once per process (AppConfig.ready)."""
    global _collector
    if _collector is None:
        _collector = StreamCollector()
        REGISTRY.register(_collector)
