from django.apps import AppConfig


class KpiConfig(AppConfig):
    name = "apps.kpi"
    label = "kpi"
