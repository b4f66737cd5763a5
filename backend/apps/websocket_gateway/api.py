"""Price stream HTTP endpoints: `GET /api/v2/ws/status`."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from apps.websocket_gateway.consumers import STATS
from apps.websocket_gateway.relay import current_relay
from apps.websocket_gateway.schemas import RelayStatusOut, StreamStatusOut

router = Router(tags=["stream"])


@router.get("/status", response=StreamStatusOut, auth=None)
def get_stream_status(request: HttpRequest) -> StreamStatusOut:
    """Sockets and relay of the process that answers (no relay until its first socket)."""
    relay = current_relay()
    return StreamStatusOut(
        connected_clients=STATS.connected,
        accepted_total=STATS.accepted_total,
        refused_limit_total=STATS.refused_limit_total,
        refused_token_total=STATS.refused_token_total,
        closed_slow_total=STATS.closed_slow_total,
        relay=RelayStatusOut(**relay.status()) if relay is not None else None,
    )
