"""WebSocket URL patterns."""

from django.urls import path

from apps.websocket_gateway.consumers import PriceUpdateConsumer

websocket_urlpatterns = [
    path("ws/", PriceUpdateConsumer.as_asgi()),
]
