"""Django app config of the marketplace."""

from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    """The `providers` app: offers and ingestion (above gpus and auth_app)."""

    name = "apps.providers"
    label = "providers"
    verbose_name = "Providers and offers"

    def ready(self) -> None:
        """Register the database-derived provider series with Prometheus' default registry."""
        from apps.providers.metrics import provider_collector_register

        provider_collector_register()
