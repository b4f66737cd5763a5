from django.apps import AppConfig


class MathCoreConfig(AppConfig):
    name = "apps.math_core"
    label = "math_core"
    verbose_name = "Math core"
