"""WebSocket consumers."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PriceUpdateConsumer(AsyncJsonWebsocketConsumer):
    """Placeholder until the price stream lands (issue 7): accepts, then closes normally."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=1000)
