"""ASGI entry point: HTTP to Django, WebSocket (`/ws/`) to Channels."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpubroker.settings.development")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from gpubroker.routing import build_application  # noqa: E402

application = build_application(django_asgi_app)
