"""Django app config of the price stream."""

from django.apps import AppConfig


class WebsocketGatewayConfig(AppConfig):
    """The `websocket_gateway` app: the `/ws/` price stream (top layer)."""

    name = "apps.websocket_gateway"
    label = "websocket_gateway"

    def ready(self) -> None:
        """Register the price stream's series with Prometheus' default registry."""
        from apps.websocket_gateway.metrics import stream_collector_register

        stream_collector_register()
