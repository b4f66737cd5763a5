"""Django app config of the GPU catalogue (the bottom layer: imports no other app)."""

from django.apps import AppConfig


class GpusConfig(AppConfig):
    """The `gpus` app: canonical GPUs, name resolution, `gpu_benchmarks` and per-GPU KPI inputs."""

    name = "apps.gpus"
    label = "gpus"
    verbose_name = "GPUs"
