from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

# The v1 parity table (test_v1_parity.py), printed at the end of the session.
_PARITY_KEY = pytest.StashKey[list[str]]()


@pytest.fixture
def hung_port() -> Iterator[int]:
    """A loopback port whose listener completes TCP handshakes and then never says anything.

    It stands in for a dependency that hangs: connections succeed, replies never come.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening: connections are refused at once."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def parity_report(request: pytest.FixtureRequest) -> list[str]:
    """Lines of the v1 parity table; the session prints them in its summary."""
    return request.config.stash.setdefault(_PARITY_KEY, [])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The v1 parity table (endpoint, v2 route, parity, what differs) when the test ran."""
    lines = config.stash.get(_PARITY_KEY, [])
    if lines:
        terminalreporter.section("v1 parity (docs/verification.md)")
        for line in lines:
            terminalreporter.write_line(line)
