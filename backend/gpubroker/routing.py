"""Protocol routing, kept apart from asgi.py so tests can build the same application."""

from __future__ import annotations

from typing import Any

from channels.routing import ProtocolTypeRouter, URLRouter
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from apps.ai_assistant.mcp_server import MCP_PATH, McpApp
from apps.websocket_gateway.middleware import QueryTokenAuthMiddleware
from apps.websocket_gateway.origin import origin_validator
from apps.websocket_gateway.routing import websocket_urlpatterns
from gpubroker.core.fastpath import ApiASGIHandler, HttpRouter


def build_application(django_asgi_app: Any) -> Any:
    """HTTP to Django (API fast path, then the full stack), WebSocket to the price stream.

    Behind a reverse proxy (`TRUSTED_PROXY_IPS`: addresses or CIDR networks), the client
    address of both protocols is the last `X-Forwarded-For` hop that is not a trusted proxy,
    and the scheme comes from `X-Forwarded-Proto`; from any other peer both headers are
    ignored. daphne's own `--proxy-headers` would believe the first hop from anyone.
    """
    default_app = (
        ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app
    )
    # /mcp is the Model Context Protocol endpoint (apps/ai_assistant/mcp_server.py), served by
    # the mcp SDK outside Django's request handling; /api/, /health and /metrics go to the API
    # handler, the rest to Django's standard one.
    http_app = HttpRouter(ApiASGIHandler(), default_app, mounts={MCP_PATH: McpApp()})
    application = ProtocolTypeRouter(
        {
            "http": http_app,
            # Origin first: a foreign page is refused before its token is even decoded; a
            # client without an Origin (not a browser) is let through (origin.py says why).
            "websocket": origin_validator(
                QueryTokenAuthMiddleware(URLRouter(websocket_urlpatterns))
            ),
        }
    )
    if settings.TRUSTED_PROXY_IPS:
        return ProxyHeadersMiddleware(application, trusted_hosts=settings.TRUSTED_PROXY_IPS)
    return application
