"""Production: only hardening. Refuses to start when a secret is missing."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    ALLOWED_HOSTS,
    DATABASE_URL,
    INTEGRATIONS_ENCRYPTION_KEY,
    JWT_PRIVATE_KEY,
    JWT_PUBLIC_KEY,
    REDIS_URL,
    SECRET_KEY,
    env,
)

_required = {
    "SECRET_KEY": SECRET_KEY,
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "JWT_PRIVATE_KEY": JWT_PRIVATE_KEY,
    "JWT_PUBLIC_KEY": JWT_PUBLIC_KEY,
    "INTEGRATIONS_ENCRYPTION_KEY": ",".join(INTEGRATIONS_ENCRYPTION_KEY),
    "ALLOWED_HOSTS": ",".join(ALLOWED_HOSTS),
}
_missing = sorted(name for name, value in _required.items() if not value)
if _missing:
    raise ImproperlyConfigured(f"production settings need: {', '.join(_missing)}")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters of random data")

DEBUG = False
JWT_GENERATE_DEV_KEYS = False
INTEGRATIONS_GENERATE_DEV_KEY = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The orchestrator's probes (readiness /health, liveness /api/v2/ping) and Prometheus speak
# plain HTTP to each replica.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^metrics$", r"^api/v2/ping$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
