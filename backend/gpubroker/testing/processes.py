"""Real server processes for tests and benchmarks: daphne on loopback, waited for until healthy."""

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


def wait_until_healthy(base_url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base_url}/health", timeout=1.0)
            if response.status_code in (200, 503):
                return
            last_error = f"status {response.status_code}"
        except httpx.HTTPError as exc:
            last_error = exc.__class__.__name__
        time.sleep(0.1)
    raise RuntimeError(f"server at {base_url} did not come up: {last_error}")


@contextlib.contextmanager
def daphne_server(
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    settings_module: str = "gpubroker.settings.test",
    port: int | None = None,
) -> Iterator[ServerProcess]:
    """Start `daphne gpubroker.asgi:application` on 127.0.0.1 and stop it afterwards."""
    port = port or free_port()
    process_env = {**os.environ, **(env or {}), "DJANGO_SETTINGS_MODULE": settings_module}
    log_path = log_dir / f"daphne-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
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
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def database_url(settings_dict: Mapping[str, object]) -> str:
    """A DATABASE_URL for the database Django is connected to (e.g. the test database)."""
    from urllib.parse import quote

    host = str(settings_dict.get("HOST") or "")
    port = str(settings_dict.get("PORT") or "")
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    netloc = quote(host, safe="") if host.startswith("/") else host
    if port:
        netloc = f"{netloc}:{port}"
    return f"postgres://{user}@{netloc}/{settings_dict['NAME']}"
