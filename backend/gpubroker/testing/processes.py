"""Real server processes for tests and benchmarks: daphne on loopback, waited for until healthy.

A child process reaches PostgreSQL through the DATABASE_URL it is given. Under the suite that
must be the test database (the one the test's rows are committed to), never the environment's
DATABASE_URL, whose database may not even exist: `child_environ()` and `daphne_server()` give
children the database this process is connected to unless told otherwise.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from gpubroker import dburl
from gpubroker.malloc import server_environ

BACKEND_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ServerProcess:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


def wait_until_healthy(base_url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base_url}/health", timeout=5.0)
            if response.status_code in (200, 503):
                return
            last_error = f"status {response.status_code}"
        except httpx.HTTPError as exc:
            last_error = exc.__class__.__name__
        time.sleep(0.1)
    raise RuntimeError(f"server at {base_url} did not come up: {last_error}")


def connected_database_url() -> str:
    """DATABASE_URL of the database Django is connected to (the test database under the suite).

    Raises RuntimeError under pytest when the test database has not been set up yet (tests
    marked `slow`, which start processes, get it set up by the root conftest).
    """
    from django.db import connection

    settings_dict = connection.settings_dict
    test_name = (settings_dict.get("TEST") or {}).get("NAME")
    is_test_database = settings_dict["NAME"] == test_name or (
        not test_name and str(settings_dict["NAME"]).startswith("test_")
    )
    if "PYTEST_CURRENT_TEST" in os.environ and not is_test_database:
        raise RuntimeError(
            f"a child process would use database {settings_dict['NAME']!r}, not the test "
            "database: mark the test `slow` or `django_db`"
        )
    return dburl.url_from_settings(settings_dict)


def child_environ(env: Mapping[str, str] | None = None, **overrides: str) -> dict[str, str]:
    """This process's environment for a child, with DATABASE_URL = `connected_database_url()`.

    `env` and `overrides` are applied last, so a test that means another database says so by
    passing its own DATABASE_URL.
    """
    merged = {**(env or {}), **overrides}
    database_url = merged.get("DATABASE_URL") or connected_database_url()
    return {**os.environ, **merged, "DATABASE_URL": database_url}


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM ``process`` and wait ``timeout`` seconds for it, then SIGKILL it."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextlib.contextmanager
def daphne_server(
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    settings_module: str = "gpubroker.settings.test",
    port: int | None = None,
) -> Iterator[ServerProcess]:
    """Start daphne (`python -m gpubroker.httpserver`) on 127.0.0.1 and stop it afterwards.

    The server uses the database this process is connected to (the test database under the
    suite) unless `env` names a DATABASE_URL; other variables come from this environment with
    `env` on top.
    """
    port = port or free_port()
    process_env = server_environ({**child_environ(env), "DJANGO_SETTINGS_MODULE": settings_module})
    log_path = log_dir / f"daphne-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gpubroker.httpserver",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "gpubroker.asgi:application",
            ],
            cwd=BACKEND_DIR,
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(port=port, process=process, log_path=log_path)
    try:
        wait_until_healthy(server.base_url)
        yield server
    finally:
        stop_process(process)


def database_url(settings_dict: Mapping[str, object]) -> str:
    """A DATABASE_URL for a Django `DATABASES` entry (`gpubroker.dburl.url_from_settings`)."""
    return dburl.url_from_settings(settings_dict)
