from django.apps import AppConfig


class WebsocketGatewayConfig(AppConfig):
    name = "apps.websocket_gateway"
    label = "websocket_gateway"
