"""Fixtures for the framework-free serving model: the GPU catalogue file, no database, no Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from algorithms.hardware import GpuFigures, gpu_figures_load

CATALOGUE_PATH = Path(__file__).resolve().parents[3] / "apps" / "gpus" / "data" / "gpus.json"


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    """These tests touch no cache: override the suite-wide Redis flush so they run without it."""


@pytest.fixture(scope="session")
def gpus() -> dict[str, GpuFigures]:
    """The GPU catalogue (gpus.json) read as plain figures, by canonical gpu_model.

    Read by path: `algorithms` (its tests included) imports nothing of the project.
    """
    return gpu_figures_load(CATALOGUE_PATH)
