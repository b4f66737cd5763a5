"""ASGI entry point: HTTP to Django, WebSocket (`/ws/`) to Channels."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpubroker.settings.development")
django.setup(set_prefix=False)

# Tracing first: it adds its middleware before the handlers below load theirs.
from gpubroker.core.tracing import tracing_configure  # noqa: E402

tracing_configure()

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from gpubroker.routing import build_application  # noqa: E402

application = build_application(django_asgi_app)
