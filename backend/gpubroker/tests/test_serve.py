"""`make run`'s server: migrates, loads specs and the demo market, serves, stops on SIGTERM.

The demo market is on, as in `make run`: its rounds reach a real WebSocket client.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from django.db import connection
from websockets.asyncio.client import connect as ws_connect

from gpubroker import dburl
from gpubroker.malloc import HUGETLB_TUNABLE
from gpubroker.testing.processes import free_port, wait_until_healthy

BACKEND_DIR = Path(__file__).resolve().parents[2]


def _conninfo(dbname: str) -> dict:
    params = dict(connection.get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold", "options"):
        params.pop(key, None)
    params["dbname"] = dbname
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.slow
@pytest.mark.django_db
def test_serve_loads_the_demo_market_and_serves(tmp_path: Path) -> None:
    name = f"gpubroker_serve_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dburl.url_from_settings({**connection.settings_dict, "NAME": name}),
        "DJANGO_SETTINGS_MODULE": "gpubroker.settings.development",
        "PROVIDER_SYNC_INTERVAL_SECONDS": "3600",
        # The demo market's cadence, shortened so the test waits seconds, not 20 s.
        "GPUBROKER_DEMO_MARKET_INTERVAL_SECONDS": "2",
    }
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gpubroker.serve", "--port", str(port)],
        cwd=BACKEND_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # The address is printed once the port answers: it can be opened straight away.
        _wait_for_line(tmp_path / "serve.log", "GPUBROKER serving on", server, timeout=120)
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
        wait_until_healthy(f"http://127.0.0.1:{port}", timeout=30)
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/api/v2/docs", timeout=5).status_code == 200
        # daphne runs with malloc's huge pages for Argon2's memory (gpubroker.malloc).
        (daphne,) = [
            child
            for child in psutil.Process(server.pid).children()
            if "gpubroker.httpserver" in child.cmdline()
        ]
        assert HUGETLB_TUNABLE in daphne.environ()["GLIBC_TUNABLES"].split(":")
        with psycopg.connect(**_conninfo(name)) as db:
            providers = db.execute("SELECT count(*) FROM providers").fetchone()[0]
            offers = db.execute("SELECT count(*) FROM gpu_offers").fetchone()[0]
            specs = db.execute("SELECT count(*) FROM gpu_benchmarks").fetchone()[0]
            simulated_history = db.execute(
                "SELECT count(*) FROM price_history WHERE recorded_at < now() - interval '6 days'"
            ).fetchone()[0]
        assert providers >= 8
        assert offers >= 500
        assert specs >= 30
        assert simulated_history >= offers
        update = asyncio.run(_first_price_update(f"ws://127.0.0.1:{port}/ws/"))
        assert update["type"] == "price_update"
        assert update["data"]["old_price"] is not None
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) is not None
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
        log.close()
        with psycopg.connect(**_conninfo("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_for_line(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        assert process.poll() is None, path.read_text(errors="replace")
        assert time.monotonic() < deadline, f"no {text!r} within {timeout} s"
        time.sleep(0.1)


def test_serve_refuses_a_port_in_use_before_touching_anything() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
        done = subprocess.run(
            [sys.executable, "-m", "gpubroker.serve", "--port", str(port)],
            cwd=BACKEND_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in done.stderr
    assert "make run PORT=" in done.stderr
    assert "serving on" not in done.stdout


async def _first_price_update(url: str) -> dict:
    """The first `price_update` a client without an Origin header receives (bounded wait)."""
    async with ws_connect(url) as client:
        async with asyncio.timeout(60):
            while True:
                frame = json.loads(await client.recv())
                if frame["type"] == "price_update":
                    return frame  # type: ignore[no-any-return]
