"""Django app config of the KPIs."""

from django.apps import AppConfig


class KpiConfig(AppConfig):
    """The `kpi` app: market KPIs (top layer, reads providers and gpus)."""

    name = "apps.kpi"
    label = "kpi"
