"""Shared set-up for benchmark scripts: import path, settings, a dedicated database."""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
BACKEND = REPO / "backend"


def listing_bench() -> ModuleType:
    """bench/listing.py as a module: its synthetic market loader and wrk runner, for reuse."""
    spec = importlib.util.spec_from_file_location("bench_listing", REPO / "bench" / "listing.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setup(database: str) -> str:
    """Point Django at a fresh database named `database` on DATABASE_URL's server; migrate it."""
    import psycopg

    sys.path.insert(0, str(BACKEND))
    from gpubroker import dburl

    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        sys.exit("set DATABASE_URL and REDIS_URL (or run via `python -m gpubroker.embedded --`)")
    admin_url = dburl.with_database(base_url, "postgres")
    with psycopg.connect(_conninfo(admin_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    url = dburl.with_database(base_url, database)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpubroker.settings.development")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return url


def _conninfo(url: str) -> str:
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    return psycopg.conninfo.make_conninfo(
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        dbname=config.get("NAME"),
    )


def conninfo(url: str) -> str:
    return _conninfo(url)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    python = platform.python_version()
    try:
        pg = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        pg = "psql n/a"
    return f"{os.cpu_count()} cores, {cpu}, Python {python}, {pg}"
