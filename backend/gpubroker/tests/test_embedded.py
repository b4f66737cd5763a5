"""The embedded default: with no DATABASE_URL/REDIS_URL, real servers start under var/ and stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

BACKEND_DIR = Path(__file__).resolve().parents[2]

CHILD = """
import json, os
import psycopg, redis
from django.conf import settings
import dj_database_url
db = dj_database_url.parse(os.environ["DATABASE_URL"])
with psycopg.connect(host=db["HOST"], dbname=db["NAME"], user=db["USER"]) as conn:
    version = conn.execute("SHOW server_version_num").fetchone()[0]
client = redis.Redis.from_url(os.environ["REDIS_URL"])
client.set("embedded-probe", "yes")
print(json.dumps({"pg": int(version), "redis": client.get("embedded-probe").decode(),
                  "db_url": os.environ["DATABASE_URL"], "redis_url": os.environ["REDIS_URL"]}))
"""


def _servers_under(path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(attrs=["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(path) in cmdline:
            found.append(proc)
    return found


@pytest.mark.slow
def test_embedded_services_start_serve_and_stop(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["GPUBROKER_VAR_DIR"] = str(var_dir)
    result = subprocess.run(
        [sys.executable, "-m", "gpubroker.embedded", "--", sys.executable, "-c", CHILD],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["pg"] >= 150000
    assert data["redis"] == "yes"
    assert data["db_url"].startswith("postgres://postgres@")
    assert data["db_url"].endswith("/gpubroker")
    assert data["redis_url"].startswith("redis://127.0.0.1:")
    assert (var_dir / "postgres" / "PG_VERSION").exists()
    # Both servers were stopped when the command ended.
    assert _servers_under(var_dir) == []


def test_embedded_leaves_configured_urls_alone(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["GPUBROKER_VAR_DIR"] = str(tmp_path / "unused")
    env["DATABASE_URL"] = "postgres://someone@db.invalid/x"
    env["REDIS_URL"] = "redis://cache.invalid:6379/0"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gpubroker.embedded",
            "--",
            sys.executable,
            "-c",
            "import os; print(os.environ['DATABASE_URL'], os.environ['REDIS_URL'])",
        ],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "postgres://someone@db.invalid/x",
        "redis://cache.invalid:6379/0",
    ]
    assert not (tmp_path / "unused").exists()


def test_embedded_passes_the_exit_code_through(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://x@db.invalid/x")
    env.setdefault("REDIS_URL", "redis://cache.invalid:6379/0")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gpubroker.embedded",
            "--",
            sys.executable,
            "-c",
            "raise SystemExit(7)",
        ],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 7
