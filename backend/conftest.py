"""Suite-wide fixtures: real PostgreSQL and Redis, a clean cache per test, JSON log capture."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from apps.auth_app.models import User
from apps.gpus.services import gpu_specs_load
from gpubroker.core.logging import ContextFilter, JsonFormatter


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that start processes (marked `slow`) get the test database set up.

    `gpubroker.testing.processes` hands child processes the database this process is connected
    to; pytest-django creates the test database only when some collected test asks for it.
    """
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("django_db"):
            item.add_marker(pytest.mark.django_db)


@pytest.fixture
def specs(db: Any) -> None:
    """The GPU catalogue loaded into gpu_benchmarks."""
    gpu_specs_load()


@pytest.fixture
def staff_client(specs: None) -> Client:
    """A Django test client logged in as a superuser, with the GPU specs loaded."""
    client = Client()
    client.force_login(User.objects.create_superuser("root@example.com", "pw-for-tests-only"))
    return client


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    """Each test starts with an empty cache database (rate-limit counters included)."""
    cache.clear()


class CapturedLogs:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def json_logs() -> Iterator[CapturedLogs]:
    """Everything logged during the test, rendered by the production JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
