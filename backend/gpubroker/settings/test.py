"""Tests: same stack as development, faster password hashing where a test does not need Argon2."""

from .development import *  # noqa: F403
from .development import env

DEBUG = False
WS_HEARTBEAT_SECONDS = 0.5
# Tests replay the recordings exactly; the demo market's tests turn it on where they need it.
GPUBROKER_DEMO_MARKET = False

# Argon2 in Django's format at a tiny cost (v1 hashes still verify at their own cost).
PASSWORD_HASHERS = [
    "apps.auth_app.hashers.LowCostArgon2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
# The suite sends many requests per second from 127.0.0.1; tests of the limits override these
# (and the two-process test lowers them through the environment of its servers).
RATE_LIMIT_ANON_RPS = env.int("RATE_LIMIT_ANON_RPS", default=100_000)
RATE_LIMIT_IP_PER_MINUTE = env.int("RATE_LIMIT_IP_PER_MINUTE", default=1_000_000)

# Several suites may share one PostgreSQL server (parallel developers, CI next to a dev run):
# TEST_DATABASE_NAME gives this run its own test database.
_test_database_name = env.str("TEST_DATABASE_NAME", default="")
if _test_database_name:
    DATABASES["default"]["TEST"] = {"NAME": _test_database_name}  # noqa: F405

# The hang tests prove the deadline applies (they answer in well under a second instead of
# waiting on a hung server); a wider deadline keeps "ok" from flaking on a loaded CI machine.
# bench/health.py measures the production deadline.
HEALTH_PROBE_DEADLINE_SECONDS = env.float("HEALTH_PROBE_DEADLINE_SECONDS", default=0.5)

# The suite runs without psycopg's pool by default: several tests repoint the live connection at
# a stopped or hung server, which a pool created once would hide. Tests of the pooled path set
# DB_POOL_MAX_SIZE for the servers they start.
if not env.int("DB_POOL_MAX_SIZE", default=0):
    DATABASES["default"]["OPTIONS"].pop("pool", None)  # noqa: F405
    DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
