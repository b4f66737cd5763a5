"""Development: debug on, dev keys generated under var/ when unset."""

from .base import *  # noqa: F403
from .base import SECRET_KEY, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = SECRET_KEY or "dev-insecure-secret-key-change-me-0123456789abcdef"
JWT_GENERATE_DEV_KEYS = True
INTEGRATIONS_GENERATE_DEV_KEY = True
