"""WSGI entry point (admin-only deployments, management tooling). Daphne serves ASGI."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpubroker.settings.development")
django.setup(set_prefix=False)

from django.core.wsgi import get_wsgi_application  # noqa: E402

from gpubroker.core.tracing import tracing_configure  # noqa: E402

tracing_configure()
application = get_wsgi_application()
