"""Django app config of identity and limits."""

from django.apps import AppConfig


class AuthAppConfig(AppConfig):
    """The `auth_app` app: users, tenants, sessions, tokens, audit (bottom layer beside gpus)."""

    name = "apps.auth_app"
    label = "auth_app"
    verbose_name = "Accounts and tenants"
