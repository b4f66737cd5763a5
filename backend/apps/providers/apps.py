"""Django app config of the marketplace."""

from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    """The `providers` app: offers and ingestion (above gpus and auth_app)."""

    name = "apps.providers"
    label = "providers"
    verbose_name = "Providers and offers"
