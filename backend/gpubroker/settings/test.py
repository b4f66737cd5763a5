"""Tests: same stack as development, faster password hashing where a test does not need Argon2."""

from .development import *  # noqa: F403

DEBUG = False
WS_HEARTBEAT_SECONDS = 0.5
