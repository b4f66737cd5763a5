"""Complete settings for GPUBROKER.

The environment is read exactly once, here, through django-environ, after `.env` at the
repository root (when present) has filled in what the environment does not set. Every variable
is listed with a comment in `.env.example`. `development.py`, `production.py` and `test.py` only
adjust.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import environ

from gpubroker.envfile import read_env_file

BACKEND_DIR = Path(__file__).resolve().parents[2]
REPO_DIR = BACKEND_DIR.parent
VAR_DIR = REPO_DIR / "var"

read_env_file()
env = environ.Env()

SECRET_KEY = env.str("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS: list[str] = env.list("CORS_ALLOWED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "channels",
    "django_prometheus",
    "ninja",
    "apps.auth_app",
    "apps.gpus",
    "apps.providers",
    "apps.recommendations",
    "apps.kpi",
    "apps.math_core",
    "apps.ai_assistant",
    "apps.websocket_gateway",
    "apps.board",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "gpubroker.core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on HTML responses (the board): CONTENT_SECURITY_POLICY below.
    "csp.middleware.CSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Bearer token → request.user / request.tenant, then per-tenant / per-IP limits on /api/v2/.
    "apps.auth_app.middleware.JWTAuthenticationMiddleware",
    "apps.auth_app.middleware.RateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# /api/, /health and /metrics are served by gpubroker.core.fastpath.ApiASGIHandler with this
# stack: the same behaviour for a bearer-token API without sessions, CSRF or messages, and with
# the CPU-only hooks run inline (see that module for why).
API_MIDDLEWARE = [
    "gpubroker.core.fastpath.PrometheusBeforeMiddleware",
    "gpubroker.core.middleware.RequestContextMiddleware",
    "gpubroker.core.fastpath.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "gpubroker.core.fastpath.CommonMiddleware",
    "gpubroker.core.fastpath.AnonymousUserMiddleware",
    "apps.auth_app.middleware.JWTAuthenticationMiddleware",
    "apps.auth_app.middleware.RateLimitMiddleware",
    "gpubroker.core.fastpath.XFrameOptionsMiddleware",
    "gpubroker.core.fastpath.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "gpubroker.urls"
ASGI_APPLICATION = "gpubroker.asgi.application"
WSGI_APPLICATION = "gpubroker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project-wide admin templates (gpubroker.core.admin's large-table changelist).
        "DIRS": [BACKEND_DIR / "gpubroker" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------------
# No SQLite fallback: the models rely on PostgreSQL (ArrayField, GIN and partial indexes).
# `python -m gpubroker.embedded` starts embedded servers and exports these two URLs when unset.
DATABASE_URL = env.str("DATABASE_URL", default="")
REDIS_URL = env.str("REDIS_URL", default="")
DB_CONNECT_TIMEOUT_SECONDS = env.int("DB_CONNECT_TIMEOUT_SECONDS", default=2)
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=15000)
# The planner's cost of a random page read relative to a sequential one, for our connections
# (PostgreSQL's default 4.0 models spinning disks). With the offers in memory or on SSD a page
# read by an index costs little more than one read in order; at 4.0 the planner read whole
# (model, GPU count) groups through a bitmap and sorted them where a page of the index, in
# order, was all the grouped listing needed: 100,000 offers, `gpu=a100&region=us` 40 -> 8 ms,
# `gpu=H100` 9 -> 6 ms (docs/benchmarks.md, "Listing").
DB_RANDOM_PAGE_COST = env.float("DB_RANDOM_PAGE_COST", default=1.1)
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=0.25)
# Each /health probe's deadline: both run concurrently, so /health answers within ~100 ms.
HEALTH_PROBE_DEADLINE_SECONDS = env.float("HEALTH_PROBE_DEADLINE_SECONDS", default=0.08)

DB_CONN_MAX_AGE = env.int("DB_CONN_MAX_AGE", default=60)
# Connections per process in psycopg's pool (0 = no pool: one connection per thread, kept for
# DB_CONN_MAX_AGE). Under ASGI each request's sync code runs in a thread of its own: a new one per
# request outside the API handler (so there, without a pool, every request opens a connection),
# a kept one lent per request inside it (gpubroker.core.fastpath.RequestThreads).
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=8)
# With no DATABASE_URL there is nothing to pool: the first query then fails at once with its
# reason (manage.py turns that into one line) rather than after a pool timeout.
_pooled = bool(DB_POOL_MAX_SIZE and DATABASE_URL)
# Health checks on reuse let a restarted PostgreSQL be picked up again without a restart. With
# the pool, the same setting is what makes Django pass psycopg_pool's check_connection to it
# (bench/faults.py found 503s after a restart while it was off).
_database = dj_database_url.parse(
    DATABASE_URL or "postgres://unset/unset",
    conn_max_age=0 if _pooled else DB_CONN_MAX_AGE,
    conn_health_checks=True,
)
_database.setdefault("OPTIONS", {})
_database["OPTIONS"].update(
    {
        "connect_timeout": DB_CONNECT_TIMEOUT_SECONDS,
        "options": (
            f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS} "
            f"-c random_page_cost={DB_RANDOM_PAGE_COST}"
        ),
    }
)
if _pooled:
    # Django checks each pooled connection on checkout (psycopg_pool's check_connection), so
    # connections broken by a PostgreSQL restart are replaced without a restart of ours.
    _database["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": DB_CONNECT_TIMEOUT_SECONDS,
    }
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL or "redis://127.0.0.1:6379/0",
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="gpubroker"),
        "OPTIONS": {
            "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            "socket_timeout": REDIS_TIMEOUT_SECONDS,
        },
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL or "redis://127.0.0.1:6379/0"],
            "prefix": env.str("CHANNEL_LAYER_PREFIX", default="gpubroker"),
        },
    }
}

# --- Auth ----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "auth_app.User"
PASSWORD_HASHERS = [
    "apps.auth_app.hashers.ConfiguredArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Spaces only, or one letter repeated: NIST SP 800-63B's "repetitive characters".
    {"NAME": "apps.auth_app.password_rules.VariedCharactersValidator"},
]
JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", default="", multiline=True)
JWT_PUBLIC_KEY = env.str("JWT_PUBLIC_KEY", default="", multiline=True)
JWT_PUBLIC_KEY_PREVIOUS = env.str("JWT_PUBLIC_KEY_PREVIOUS", default="", multiline=True)
JWT_ISSUER = env.str("JWT_ISSUER", default="gpubroker")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="gpubroker-api")
JWT_ACCESS_TTL_SECONDS = env.int("JWT_ACCESS_TTL_SECONDS", default=15 * 60)
JWT_REFRESH_TTL_SECONDS = env.int("JWT_REFRESH_TTL_SECONDS", default=7 * 24 * 3600)
# Development may generate a key pair under var/ when the PEMs are unset; production may not.
JWT_GENERATE_DEV_KEYS = env.bool("JWT_GENERATE_DEV_KEYS", default=False)
INTEGRATIONS_ENCRYPTION_KEY: list[str] = env.list("INTEGRATIONS_ENCRYPTION_KEY", default=[])
INTEGRATIONS_GENERATE_DEV_KEY = env.bool("INTEGRATIONS_GENERATE_DEV_KEY", default=False)
# Argon2id cost for new hashes. OWASP's Password Storage Cheat Sheet minimum is m=19 MiB, t=2,
# p=1 (or an equivalent pair such as m=46 MiB, t=1); the default is 64 MiB x 2 passes, 3.4x that
# memory-time product: ~150 ms of one core on the 2-vCPU Xeon of docs/benchmarks.md "Login".
# One lane, because argon2-cffi runs the lanes one after another in the calling thread anyway.
ARGON2_MEMORY_KIB = env.int("ARGON2_MEMORY_KIB", default=64 * 1024)
ARGON2_TIME_COST = env.int("ARGON2_TIME_COST", default=2)
ARGON2_PARALLELISM = env.int("ARGON2_PARALLELISM", default=1)
# Hashes in flight per process, each taking one core and ARGON2_MEMORY_KIB: one per usable core.
ARGON2_MAX_CONCURRENT_HASHES = env.int(
    "ARGON2_MAX_CONCURRENT_HASHES", default=len(os.sched_getaffinity(0))
)
# Niceness of the hashing threads (Linux: per thread; 0 = as the rest of the process). A login
# is ~150 ms of pure CPU; at 10 the scheduler gives a competing request thread ~9x the share of
# a hashing thread, so a burst of logins waits longer and the reads around it do not.
ARGON2_THREAD_NICE = env.int("ARGON2_THREAD_NICE", default=10)

# --- Rate limits (per second unless named otherwise) ---------------------------------------------
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True)
RATE_LIMIT_ANON_RPS = env.int("RATE_LIMIT_ANON_RPS", default=10)
RATE_LIMIT_IP_PER_MINUTE = env.int("RATE_LIMIT_IP_PER_MINUTE", default=1000)
RATE_LIMIT_PLAN_RPS = {
    "free": env.int("RATE_LIMIT_FREE_RPS", default=10),
    "pro": env.int("RATE_LIMIT_PRO_RPS", default=100),
    "enterprise": env.int("RATE_LIMIT_ENTERPRISE_RPS", default=1000),
}
RATE_LIMIT_LOGIN_PER_MINUTE = env.int("RATE_LIMIT_LOGIN_PER_MINUTE", default=10)
# The limiter's Redis (default: REDIS_URL), its socket timeout, and how long it stays on the
# in-process fallback after Redis failed before trying again.
RATE_LIMIT_REDIS_URL = env.str("RATE_LIMIT_REDIS_URL", default="")
RATE_LIMIT_REDIS_TIMEOUT_SECONDS = env.float("RATE_LIMIT_REDIS_TIMEOUT_SECONDS", default=0.1)
RATE_LIMIT_REDIS_RETRY_SECONDS = env.float("RATE_LIMIT_REDIS_RETRY_SECONDS", default=5.0)
# Direct peers (e.g. nginx) whose X-Forwarded-For is believed for the client IP.
TRUSTED_PROXY_IPS: list[str] = env.list("TRUSTED_PROXY_IPS", default=[])

# --- Providers and ingestion ---------------------------------------------------------------------
# replay: the recordings under GPUBROKER_RECORDINGS_DIR; live: the providers' APIs; record: the
# live APIs, each answer also written (sanitised) to GPUBROKER_RECORDINGS_DIR (docs/providers.md).
GPUBROKER_PROVIDER_MODE = env.str("GPUBROKER_PROVIDER_MODE", default="replay")
# PROVIDER_FIXTURES_DIR is the older name of the same folder, still read when the new one is unset.
GPUBROKER_RECORDINGS_DIR = Path(
    env.str("GPUBROKER_RECORDINGS_DIR", default="")
    or env.str("PROVIDER_FIXTURES_DIR", default="")
    or BACKEND_DIR / "apps" / "providers" / "tests" / "fixtures" / "providers"
).resolve()
PROVIDER_FIXTURES_DIR = GPUBROKER_RECORDINGS_DIR
# How old an offer's price may be (now - price_as_of, seconds) before the listing flags it stale:
# per price source (marketplace APIs 30 minutes, hand-kept price lists 30 days), overridable per
# provider with PROVIDER_PRICE_MAX_AGE_SECONDS="vastai=600,coreweave=1209600".
PROVIDER_PRICE_MAX_AGE_BY_SOURCE = {
    "api": env.int("PROVIDER_PRICE_MAX_AGE_API_SECONDS", default=30 * 60),
    "manual": env.int("PROVIDER_PRICE_MAX_AGE_MANUAL_SECONDS", default=30 * 24 * 3600),
}
PROVIDER_PRICE_MAX_AGE_SECONDS: dict[str, int] = {
    name: int(seconds)
    for name, seconds in env.dict("PROVIDER_PRICE_MAX_AGE_SECONDS", default={}).items()
}
# Ingestion cadence (docs/operations.md, "Ingestion cadence"): each provider is synced every
# PROVIDER_SYNC_INTERVALS[name] seconds, each overridable by <NAME>_SYNC_INTERVAL_SECONDS
# (e.g. VASTAI_SYNC_INTERVAL_SECONDS=60); an operator's value on the provider row (console)
# wins over both. Marketplaces, whose offers come and go by the minute, every 2 minutes;
# neoclouds' catalogues every 15 minutes; the curated price lists daily. A provider missing
# from the table gets PROVIDER_SYNC_INTERVAL_SECONDS.
PROVIDER_SYNC_INTERVAL_SECONDS = env.int("PROVIDER_SYNC_INTERVAL_SECONDS", default=300)
_PROVIDER_SYNC_INTERVAL_DEFAULTS = {
    "vastai": 120,
    "runpod": 120,
    "tensordock": 120,
    "lambda": 900,
    "verda": 900,
    "vultr": 900,
    "cloudrift": 900,
    "shadeform": 900,
    "paperspace": 86_400,
    "coreweave": 86_400,
}
PROVIDER_SYNC_INTERVALS = {
    name: env.int(f"{name.upper()}_SYNC_INTERVAL_SECONDS", default=seconds)
    for name, seconds in _PROVIDER_SYNC_INTERVAL_DEFAULTS.items()
}
# Provider syncs the ingest process runs at once, and how long SIGTERM waits for running ones
# before abandoning them (their transaction then rolls back: no partial batch).
INGEST_CONCURRENCY = env.int("INGEST_CONCURRENCY", default=4)
INGEST_STOP_GRACE_SECONDS = env.float("INGEST_STOP_GRACE_SECONDS", default=20.0)
PROVIDERS_LIST_CACHE_TTL_SECONDS = env.int("PROVIDERS_LIST_CACHE_TTL_SECONDS", default=60)
# The listing counts its total exactly up to this many offers; beyond it, the total is
# PostgreSQL's planner estimate and the response says `"total_is_estimate": true` (counting a
# million offers costs more than the page itself; docs/benchmarks.md, "Listing").
PROVIDERS_LIST_EXACT_COUNT_MAX = env.int("PROVIDERS_LIST_EXACT_COUNT_MAX", default=10_000)
# Demo market (replay mode only; `make run` turns it on): each round moves a few offers' prices
# and availability by a seeded, bounded walk over the recordings, so the demo's price stream,
# history and trend are not empty. Simulated prices, never a provider's (apps/providers/services/
# demo_market.py). Rounds come every GPUBROKER_DEMO_MARKET_INTERVAL_SECONDS in `make run`.
GPUBROKER_DEMO_MARKET = env.bool("GPUBROKER_DEMO_MARKET", default=False)
GPUBROKER_DEMO_MARKET_SEED = env.int("GPUBROKER_DEMO_MARKET_SEED", default=1)
GPUBROKER_DEMO_MARKET_INTERVAL_SECONDS = env.int(
    "GPUBROKER_DEMO_MARKET_INTERVAL_SECONDS", default=20
)
# Platform credentials for live ingestion of providers whose price APIs need a key.
PROVIDER_API_KEYS = {
    "vastai": env.str("VASTAI_API_KEY", default=""),
    "runpod": env.str("RUNPOD_API_KEY", default=""),
    "lambda": env.str("LAMBDA_API_KEY", default=""),
    "shadeform": env.str("SHADEFORM_API_KEY", default=""),
}
VERDA_CLIENT_ID = env.str("VERDA_CLIENT_ID", default="")
VERDA_CLIENT_SECRET = env.str("VERDA_CLIENT_SECRET", default="")

# --- WebSocket -----------------------------------------------------------------------------------
WS_HEARTBEAT_SECONDS = env.float("WS_HEARTBEAT_SECONDS", default=30.0)
WS_SNAPSHOT_LIMIT = env.int("WS_SNAPSHOT_LIMIT", default=200)
WS_MAX_BACKLOG = env.int("WS_MAX_BACKLOG", default=1000)
WS_DEFAULT_TENANT_LIMIT = env.int("WS_DEFAULT_TENANT_LIMIT", default=10)

# --- AI assistant (docs/ai.md) --------------------------------------------------------------------
# builtin (offline, deterministic), openai (any OpenAI-compatible server) or somaagent (v1's
# agent). Unset: somaagent when SOMA_AGENT_URL is set (a v1 deployment's configuration), else
# builtin.
SOMA_AGENT_URL = env.str("SOMA_AGENT_URL", default="")
AI_BACKEND = env.str("AI_BACKEND", default="") or ("somaagent" if SOMA_AGENT_URL else "builtin")
AI_BASE_URL = env.str("AI_BASE_URL", default="")
AI_API_KEY = env.str("AI_API_KEY", default="")
AI_MODEL = env.str("AI_MODEL", default="")
# Deadline of one chat answer, all tool rounds included, and of each call to the backend.
AI_TIMEOUT_SECONDS = env.float("AI_TIMEOUT_SECONDS", default=30.0)
# Deadline of the backend probe behind GET /ai/health.
AI_HEALTH_TIMEOUT_SECONDS = env.float("AI_HEALTH_TIMEOUT_SECONDS", default=2.0)
AI_MAX_TOOL_ROUNDS = env.int("AI_MAX_TOOL_ROUNDS", default=5)
# Earlier turns (a user message and its reply) sent to the backend with each message.
AI_HISTORY_TURNS = env.int("AI_HISTORY_TURNS", default=10)
# Chat messages per minute per tenant (users without a tenant count as free).
AI_CHAT_RATE_LIMIT_PER_MINUTE = {
    "free": env.int("AI_CHAT_FREE_PER_MINUTE", default=20),
    "pro": env.int("AI_CHAT_PRO_PER_MINUTE", default=120),
    "enterprise": env.int("AI_CHAT_ENTERPRISE_PER_MINUTE", default=600),
}

# --- HTTP hardening ------------------------------------------------------------------------------
# Bodies above this are refused with 413-class envelope before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# django-csp: pages may load scripts, styles, images and connections (fetch, the /ws/ price
# stream: CSP 3 'self' covers ws:/wss: to the same host) from this origin only; no inline
# script or style, no plugins, no framing, forms post only here. The admin keeps Django's own
# pages as they are (it is not written against a CSP; `apps.board` is).
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "manifest-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or REPO_DIR / "staticfiles")

# --- Observability -------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# The per-request log line (`gpubroker.request`, core/middleware.py) costs ~10-15 % of a cached
# read's CPU (docs/benchmarks.md, "Request path"). Successful requests are logged with this
# probability (1.0: all, 0.1: one in ten, 0: none); an answer with status >= 400, or slower
# than REQUEST_LOG_SLOW_MS, is always logged. Metrics count every request whatever this says.
REQUEST_LOG_SAMPLE_RATE = env.float("REQUEST_LOG_SAMPLE_RATE", default=1.0)
REQUEST_LOG_SLOW_MS = env.float("REQUEST_LOG_SLOW_MS", default=1000.0)
# One JSON object per line on stdout, stdlib and structlog records alike (core/logging.py).
LOGGING_CONFIG = "gpubroker.core.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "gpubroker.core.logging.JsonFormatter"}},
    "filters": {"client_mistakes": {"()": "gpubroker.core.logging.ClientMistakeNotice"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own request logger duplicates our request line and prints tracebacks.
        "django.request": {"handlers": [], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": [], "level": "ERROR", "propagate": False},
        # Ninja's "Unexpected auth" (a client's other auth scheme) at INFO, not ERROR.
        "django": {"filters": ["client_mistakes"]},
        "daphne": {"level": "WARNING"},
        # httpx logs every request URL at INFO; provider URLs are not ours to log verbatim.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "asyncio": {"level": "WARNING"},
        # The mcp SDK logs "Terminating session: None" for every stateless /mcp request;
        # mcp_server.py writes the request line itself.
        "mcp": {"level": "WARNING"},
    },
}
OTEL_ENABLED = env.bool("OTEL_ENABLED", default=False)
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="gpubroker")
PROMETHEUS_EXPORT_MIGRATIONS = False
# Daphne serves Swagger UI's bundled assets itself unless nginx serves collected static files.
SERVE_STATIC = env.bool("SERVE_STATIC", default=True)
CSRF_FAILURE_VIEW = "gpubroker.core.views.csrf_failure"
