"""Fixtures for the framework-free serving model: the GPU catalogue file, no database, no Redis."""

from __future__ import annotations

import pytest

from algorithms.hardware import GpuFigures, gpu_figures_load


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    """These tests touch no cache: override the suite-wide Redis flush so they run without it."""


@pytest.fixture(scope="session")
def gpus() -> dict[str, GpuFigures]:
    """The GPU catalogue (gpus.json) read as plain figures, by canonical gpu_model."""
    return gpu_figures_load()
