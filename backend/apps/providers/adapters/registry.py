"""Name → adapter class lookup.

``default_registry`` holds every adapter shipped with GPUBROKER. Services look adapters up by
the provider's ``name`` (the ``providers.name`` column) and instantiate them with their own
``httpx.AsyncClient``.
"""

from __future__ import annotations

from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.cloudrift import CloudRiftAdapter
from apps.providers.adapters.lambda_cloud import LambdaAdapter
from apps.providers.adapters.manual import CoreWeaveAdapter, PaperspaceAdapter
from apps.providers.adapters.runpod import RunPodAdapter
from apps.providers.adapters.shadeform import ShadeformAdapter
from apps.providers.adapters.tensordock import TensorDockAdapter
from apps.providers.adapters.vastai import VastAiAdapter
from apps.providers.adapters.verda import VerdaAdapter
from apps.providers.adapters.vultr import VultrAdapter


class UnknownProviderError(LookupError):
    """No adapter is registered under the requested name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown provider {name!r}; known providers: {', '.join(known)}")
        self.name = name
        self.known = known


class ProviderRegistry:
    """A registry of adapter classes keyed by provider name."""

    def __init__(self) -> None:
        self._adapters: dict[str, type[ProviderAdapter]] = {}

    def register(self, name: str, adapter_class: type[ProviderAdapter]) -> None:
        """Add ``adapter_class`` under ``name``; a name can be registered once only."""
        if not name:
            raise ValueError("provider name must not be empty")
        if name in self._adapters:
            raise ValueError(f"provider {name!r} is already registered")
        self._adapters[name] = adapter_class

    def get_adapter(self, name: str) -> type[ProviderAdapter]:
        """The adapter class for ``name``; UnknownProviderError lists the known names."""
        try:
            return self._adapters[name]
        except KeyError:
            raise UnknownProviderError(name, self.list_adapters()) from None

    def list_adapters(self) -> list[str]:
        """Registered provider names, sorted."""
        return sorted(self._adapters)

    def __contains__(self, name: object) -> bool:
        return name in self._adapters


ALL_ADAPTERS: tuple[type[ProviderAdapter], ...] = (
    VastAiAdapter,
    RunPodAdapter,
    LambdaAdapter,
    VerdaAdapter,
    VultrAdapter,
    CloudRiftAdapter,
    TensorDockAdapter,
    ShadeformAdapter,
    PaperspaceAdapter,
    CoreWeaveAdapter,
)


def build_default_registry() -> ProviderRegistry:
    """A registry of every shipped adapter, keyed by provider name."""
    registry = ProviderRegistry()
    for adapter_class in ALL_ADAPTERS:
        registry.register(adapter_class.name, adapter_class)
    return registry


default_registry = build_default_registry()
