"""WebSocket gateway router (stream status lives here once the stream exists)."""

from ninja import Router

router = Router(tags=["stream"])
