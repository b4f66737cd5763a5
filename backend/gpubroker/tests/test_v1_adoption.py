"""`migrate --fake-initial` adopts a database created by v1's schema without losing a row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from django.db import connection

from gpubroker import dburl
from gpubroker.testing.processes import child_environ

FIXTURES = Path(__file__).parent / "fixtures"
BACKEND_DIR = Path(__file__).resolve().parents[2]

READ_BACK = """
import json
from apps.auth_app.models import User, UserSession
from apps.providers.models import GPUOffer, PriceHistory, Provider
ada = User.objects.get(email="ada@example.com")
bob = User.objects.get(email="bob@example.com")
session = UserSession.objects.get(jti="v1-session-jti-1")
offer = GPUOffer.objects.select_related("provider").get(external_id="NVIDIA A100 80GB PCIe")
print(json.dumps({
    "users": User.objects.count(),
    "ada": [str(ada.id), ada.password, ada.full_name, ada.organization, ada.is_verified,
            ada.last_login.isoformat(), ada.role, ada.tenant_id, ada.is_staff],
    "bob_name": bob.full_name,
    "session": [session.user_id.hex, session.ip_address, session.user_agent],
    "provider": [offer.provider.name, offer.provider.supported_regions,
                 str(offer.provider.reliability_score), offer.provider.error_count],
    "offer": [str(offer.price_per_hour), offer.gpu_memory_gb, offer.compliance_tags,
              offer.gpu_count, offer.is_stale],
    "history_rows": PriceHistory.objects.count(),
}))
"""


def _admin_conninfo() -> str:
    params = dict(connection.get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold", "options"):
        params.pop(key, None)
    params["dbname"] = "postgres"
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


def _url_for(database: str) -> str:
    return dburl.url_from_settings({**connection.settings_dict, "NAME": database})


def _manage(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    env["DJANGO_SETTINGS_MODULE"] = "gpubroker.settings.test"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
def v1_database() -> Iterator[str]:
    name = f"gpubroker_v1_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _url_for(name)
        with psycopg.connect(_admin_conninfo().replace("dbname=postgres", f"dbname={name}")) as db:
            db.execute((FIXTURES / "v1_schema.sql").read_text())
            db.execute((FIXTURES / "v1_rows.sql").read_text())
        yield url
    finally:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
@pytest.mark.django_db
def test_fake_initial_adopts_v1_database(v1_database: str) -> None:
    migrated = _manage(v1_database, "migrate", "--fake-initial", "--no-input")
    assert migrated.returncode == 0, migrated.stderr
    assert "Applying auth_app.0001_initial... FAKED" in migrated.stdout
    assert "Applying providers.0001_initial... FAKED" in migrated.stdout
    assert "Applying providers.0002_v2_history_sync_integrations... OK" in migrated.stdout

    result = _manage(v1_database, "shell", "-c", READ_BACK)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["users"] == 2
    assert data["ada"] == [
        "11111111-1111-4111-8111-111111111111",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY",
        "Ada Lovelace",
        "Analytical Engines Ltd",
        True,
        "2025-06-01T10:00:00+00:00",
        "user",
        None,
        False,
    ]
    assert data["bob_name"] == "Robert'); DROP TABLE users;--"
    assert data["session"] == ["11111111111141118111111111111111", "203.0.113.7", "Mozilla/5.0"]
    assert data["provider"] == ["runpod", ["US-TX-3", "EU-RO-1"], "0.97", 0]
    assert data["offer"] == ["1.6400", 80, ["soc2", "hipaa"], None, False]
    assert data["history_rows"] == 0

    # The v1-only table is kept as it was.
    with psycopg.connect(
        _admin_conninfo().replace("dbname=postgres", f"dbname={urlsplit(v1_database).path[1:]}")
    ) as db:
        assert db.execute("SELECT name, scopes FROM api_keys").fetchall() == [("ci", ["read"])]

    # Nothing is left for Django to create or alter: models and the adopted schema agree.
    again = _manage(v1_database, "migrate", "--no-input")
    assert again.returncode == 0
    assert "No migrations to apply." in again.stdout


@pytest.mark.slow
@pytest.mark.django_db
def test_price_history_left_by_v1_is_adopted(v1_database: str) -> None:
    name = urlsplit(v1_database).path[1:]
    with psycopg.connect(_admin_conninfo().replace("dbname=postgres", f"dbname={name}")) as db:
        db.execute(
            "CREATE TABLE price_history (id UUID PRIMARY KEY DEFAULT gen_random_uuid(),"
            " offer_id UUID NOT NULL REFERENCES gpu_offers(id), price_per_hour DECIMAL(8,4)"
            " NOT NULL, availability_status VARCHAR(20), recorded_at TIMESTAMPTZ NOT NULL"
            " DEFAULT NOW())"
        )
        db.execute(
            "INSERT INTO price_history (offer_id, price_per_hour, availability_status)"
            " VALUES ('44444444-4444-4444-8444-444444444444', 1.7000, 'available')"
        )
    migrated = _manage(v1_database, "migrate", "--fake-initial", "--no-input")
    assert migrated.returncode == 0, migrated.stderr
    result = _manage(v1_database, "shell", "-c", READ_BACK)
    assert json.loads(result.stdout.strip().splitlines()[-1])["history_rows"] == 1


@pytest.mark.django_db
def test_models_and_migrations_agree() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=BACKEND_DIR,
        env=child_environ(DJANGO_SETTINGS_MODULE="gpubroker.settings.test"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
