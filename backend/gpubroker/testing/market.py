"""The replayed demo market loaded into the current database, for browser tests, benches and
screenshots: the GPU specs, then every provider's recorded responses through the real adapters
with the demo market's simulated week of history (what `make run` shows)."""

from __future__ import annotations

from django.test import override_settings

from apps.gpus.kpis import gpu_kpi_inputs_reset
from apps.gpus.services import gpu_specs_load
from apps.providers.services.sync import providers_sync_all


def demo_market_load(*, seed: int = 1) -> int:
    """Load the specs and replay every provider once (demo market on); returns offers seen."""
    gpu_specs_load()
    gpu_kpi_inputs_reset()
    with override_settings(
        GPUBROKER_PROVIDER_MODE="replay",
        GPUBROKER_DEMO_MARKET=True,
        GPUBROKER_DEMO_MARKET_SEED=seed,
    ):
        results = providers_sync_all()
    return sum(result.offers_seen for result in results)
