"""Errors of the GPU catalogue, named for the domain."""

from __future__ import annotations

from gpubroker.core.errors import NotFound


class GpuNotFound(NotFound):
    """404: the name resolves to no catalogue GPU (or its spec row is not loaded)."""

    default_message = "GPU not found"
