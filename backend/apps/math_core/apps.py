"""Django app config of the calculators' HTTP face."""

from django.apps import AppConfig


class MathCoreConfig(AppConfig):
    """The `math_core` app: /math endpoints over the calculators (top layer, no models)."""

    name = "apps.math_core"
    label = "math_core"
    verbose_name = "Math core"
