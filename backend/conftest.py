"""Suite-wide fixtures: real PostgreSQL and Redis, a clean cache per test, JSON log capture."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from apps.auth_app.models import User
from apps.gpus.services import gpu_specs_load
from gpubroker.core.logging import JsonFormatter
from gpubroker.testing.system_tools import find_binary, install_hint

# Tests not run because a system program is missing: {program: number of tests}.
_MISSING_SYSTEM_TOOLS: dict[str, int] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that start processes (marked `slow`) get the test database set up.

    `gpubroker.testing.processes` hands child processes the database this process is connected
    to; pytest-django creates the test database only when some collected test asks for it.
    """
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("django_db"):
            item.add_marker(pytest.mark.django_db)
        _require_system_tools(item)


def _require_system_tools(item: pytest.Item) -> None:
    """Tests marked `requires_system_tool(name)` need that program on this machine.

    Missing under GPUBROKER_REQUIRE_SYSTEM_TOOLS=1 (what .ci/run sets after installing them):
    the test fails. Missing elsewhere (a newcomer's `make test` without the Debian packages):
    the test is not run, and the session ends with a banner saying which and how to install.
    """
    for marker in item.iter_markers("requires_system_tool"):
        name = str(marker.args[0])
        if find_binary(name) is not None:
            continue
        if os.environ.get("GPUBROKER_REQUIRE_SYSTEM_TOOLS") == "1":
            item.add_marker(pytest.mark.usefixtures("_fail_missing_system_tool"))
            item.user_properties.append(("missing_system_tool", name))
        else:
            _MISSING_SYSTEM_TOOLS[name] = _MISSING_SYSTEM_TOOLS.get(name, 0) + 1
            item.add_marker(pytest.mark.skip(reason=f"NOT RUN: {install_hint(name)}"))


@pytest.fixture
def _fail_missing_system_tool(request: pytest.FixtureRequest) -> None:
    missing = [value for key, value in request.node.user_properties if key == "missing_system_tool"]
    pytest.fail("; ".join(install_hint(name) for name in missing))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """A loud banner when tests were not run for want of a system program."""
    if not _MISSING_SYSTEM_TOOLS:
        return
    terminalreporter.section("SYSTEM PROGRAMS MISSING: SOME TESTS DID NOT RUN", sep="!")
    for name, count in sorted(_MISSING_SYSTEM_TOOLS.items()):
        terminalreporter.write_line(f"{count} test(s) not run: {install_hint(name)}")


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
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
