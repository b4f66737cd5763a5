"""`manage.py` without a reachable database: one line saying what is wrong and what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpubroker import dburl
from gpubroker.testing.processes import child_environ

BACKEND_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BACKEND_DIR,
        env={**env, "GPUBROKER_ENV_FILE": "/nonexistent/.env"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _without_database(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DB_POOL_MAX_SIZE")}
    env["DJANGO_SETTINGS_MODULE"] = "gpubroker.settings.development"
    return {**env, **extra}


def test_no_database_url_is_one_line_not_a_traceback() -> None:
    result = _manage(_without_database(), "verify_audit_chain")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "manage.py: DATABASE_URL is not set, so there is no PostgreSQL to use. Run the command "
        'as `make manage ARGS="verify_audit_chain"` (it uses the servers of a running `make run`,'
        " or starts embedded ones for the command), or set DATABASE_URL."
    ]


def test_unreachable_database_names_it_without_the_password(closed_port: int) -> None:
    url = dburl.postgres_url(
        host="127.0.0.1", port=closed_port, user="ops", password="s3cret-pw", name="gpubroker"
    )
    for pool_size in ("0", "2"):  # direct connection, and psycopg's pool (which only times out)
        env = _without_database(
            DATABASE_URL=url, DB_POOL_MAX_SIZE=pool_size, DB_CONNECT_TIMEOUT_SECONDS="1"
        )
        result = _manage(env, "migrate", "--check")
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "s3cret-pw" not in result.stderr + result.stdout
        last = result.stderr.splitlines()[-1]
        assert last.startswith(
            f"manage.py: cannot connect to PostgreSQL at postgres://ops@127.0.0.1:{closed_port}"
            f'/gpubroker: connection to server at "127.0.0.1", port {closed_port} failed:'
            " Connection refused."
        ), last
        assert last.endswith('`make manage ARGS="migrate --check"` uses the embedded servers).')


def test_other_database_errors_keep_their_traceback() -> None:
    env = child_environ(DJANGO_SETTINGS_MODULE="gpubroker.settings.test")
    command = "from django.db import connection; connection.cursor().execute('SELECT 1/0')"
    result = _manage(env, "shell", "-c", command)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "division by zero" in result.stderr
    assert "manage.py:" not in result.stderr
