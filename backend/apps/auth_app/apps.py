from django.apps import AppConfig


class AuthAppConfig(AppConfig):
    name = "apps.auth_app"
    label = "auth_app"
    verbose_name = "Accounts and tenants"
