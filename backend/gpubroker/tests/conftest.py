from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


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
