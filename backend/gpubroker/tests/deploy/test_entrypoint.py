"""`docker/entrypoint.sh`: `migrate` (then the first operator from the environment), `operator`
and `web`.

The script runs as the image runs it (`sh`, from the backend directory, `python` and `daphne` on
PATH) against the test database; migrations are already applied there, so `migrate` is a no-op.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.contrib.auth import get_user_model

from apps.auth_app.models import Role
from gpubroker.testing.processes import (
    BACKEND_DIR,
    child_environ,
    free_port,
    wait_until_healthy,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ENTRYPOINT = BACKEND_DIR.parent / "docker" / "entrypoint.sh"


OPERATOR_VARIABLES = (
    "DJANGO_SUPERUSER_EMAIL",
    "DJANGO_SUPERUSER_PASSWORD",
    "DJANGO_SUPERUSER_FULL_NAME",
)


def entrypoint_environ() -> dict[str, str]:
    """The test database, test settings, this venv's python and daphne first on PATH."""
    base = child_environ(DJANGO_SETTINGS_MODULE="gpubroker.settings.test")
    for name in OPERATOR_VARIABLES:
        base.pop(name, None)
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    return base


def run_entrypoint(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        cwd=BACKEND_DIR,
        env={**entrypoint_environ(), **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_migrate_creates_the_first_operator_and_then_leaves_it_alone() -> None:
    created = run_entrypoint(
        "migrate",
        DJANGO_SUPERUSER_EMAIL="ops@example.com",
        DJANGO_SUPERUSER_PASSWORD="first-Operator-pw-1",
        DJANGO_SUPERUSER_FULL_NAME="Ops Lead",
    )
    assert created.returncode == 0, created.stderr
    assert "Superuser created successfully." in created.stdout

    operator = get_user_model().objects.get(email="ops@example.com")
    assert (operator.is_superuser, operator.is_staff, operator.is_active) == (True, True, True)
    assert operator.role == Role.OPERATOR
    assert operator.full_name == "Ops Lead"
    assert operator.check_password("first-Operator-pw-1")

    # The next release runs with the variables still set (another case, another password).
    again = run_entrypoint(
        "migrate",
        DJANGO_SUPERUSER_EMAIL="OPS@example.com",
        DJANGO_SUPERUSER_PASSWORD="a-different-pw-2",
    )
    assert again.returncode == 0, again.stderr
    assert "entrypoint: operator OPS@example.com exists; left unchanged" in again.stdout
    assert get_user_model().objects.count() == 1
    operator.refresh_from_db()
    assert operator.check_password("first-Operator-pw-1")
    assert operator.full_name == "Ops Lead"


def test_full_name_defaults_to_the_email() -> None:
    result = run_entrypoint(
        "operator", DJANGO_SUPERUSER_EMAIL="root@example.com", DJANGO_SUPERUSER_PASSWORD="pw-3x"
    )
    assert result.returncode == 0, result.stderr
    assert get_user_model().objects.get(email="root@example.com").full_name == "root@example.com"


def test_without_a_password_no_operator_is_created() -> None:
    result = run_entrypoint("operator", DJANGO_SUPERUSER_EMAIL="ops@example.com")
    assert result.returncode == 0, result.stderr
    assert "no operator created" in result.stdout
    assert not get_user_model().objects.exists()


def test_a_database_error_stops_the_entrypoint(closed_port: int) -> None:
    url = f"postgres://postgres@127.0.0.1:{closed_port}/gpubroker"
    result = run_entrypoint(
        "operator",
        DATABASE_URL=url,
        DB_CONNECT_TIMEOUT_SECONDS="1",
        DJANGO_SUPERUSER_EMAIL="ops@example.com",
        DJANGO_SUPERUSER_PASSWORD="pw-4x",
    )
    assert result.returncode == 1
    assert "cannot connect to PostgreSQL" in result.stderr
    assert "Superuser created" not in result.stdout


def test_web_serves_its_own_addresses_besides_the_configured_hosts(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **entrypoint_environ(),
        "BIND_ADDRESS": "127.0.0.1",
        "PORT": str(port),
        "ALLOWED_HOSTS": "gpubroker.example.com",
    }
    log_path = tmp_path / "web.log"
    with open(log_path, "wb") as log:
        web = subprocess.Popen(
            ["sh", str(ENTRYPOINT), "web"], cwd=BACKEND_DIR, env=env, stdout=log, stderr=log
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_healthy(base_url)  # Host: 127.0.0.1, as the image's HEALTHCHECK sends
        public = httpx.get(f"{base_url}/health", headers={"Host": "gpubroker.example.com"})
        foreign = httpx.get(f"{base_url}/health", headers={"Host": "evil.example"})
        by_ip = httpx.get(f"{base_url}/api/v2/ping")
    finally:
        web.terminate()
        web.wait(timeout=10)

    assert public.status_code == 200
    assert by_ip.status_code == 200
    assert foreign.status_code == 400
