"""WebSocket URL patterns: the price stream at `/ws/` (and `/ws`), anything else refused cleanly."""

from django.urls import path, re_path

from apps.websocket_gateway.consumers import PriceUpdateConsumer, UnknownPathConsumer

websocket_urlpatterns = [
    path("ws/", PriceUpdateConsumer.as_asgi()),
    # Clients often drop the trailing slash; without this route Channels raised a ValueError
    # (a 500 with a traceback in the server log).
    path("ws", PriceUpdateConsumer.as_asgi()),
    # Every other path: an `error` frame and close code 4404, never an exception.
    re_path(r"", UnknownPathConsumer.as_asgi()),
]
