"""Connection URLs for child processes read back into the same Django settings, socket or TCP."""

from __future__ import annotations

import dj_database_url
import psycopg
import pytest
from django.db import connection

from gpubroker import dburl
from gpubroker.testing.processes import connected_database_url

PASSWORD = "p@ss:w/rd %?#&=+'\"é"
FIELDS = ("HOST", "PORT", "USER", "PASSWORD", "NAME")


def _fields(url: str) -> dict[str, object]:
    parsed = dj_database_url.parse(url)
    return {key: parsed[key] for key in FIELDS}  # type: ignore[literal-required]


@pytest.mark.parametrize(
    "settings_dict",
    [
        # A unix-socket directory (the embedded PostgreSQL), with upper case and a space in it.
        {"HOST": "/srv/Work Tree/var/postgres", "PORT": 5432, "USER": "postgres", "NAME": "gb"},
        {"HOST": "/var/run/postgresql", "PORT": "", "USER": "postgres", "NAME": "test_gb"},
        # TCP: a name, IPv4 and IPv6 literals; a password and names with URL syntax in them.
        {"HOST": "db.example.com", "PORT": 6432, "USER": "app@tenant", "NAME": "x/y z"},
        {"HOST": "127.0.0.1", "PORT": 5432, "USER": "postgres", "NAME": "test_gb_emb"},
        {"HOST": "::1", "PORT": 5433, "USER": "broker", "NAME": "gpubroker"},
    ],
)
def test_url_reads_back_into_the_same_settings(settings_dict: dict[str, object]) -> None:
    for password in ("", PASSWORD):
        expected = {**settings_dict, "PASSWORD": password}
        url = dburl.url_from_settings(expected)
        assert url.startswith("postgres://")
        assert _fields(url) == expected


def test_socket_directory_is_the_host_not_the_path() -> None:
    url = dburl.postgres_url(
        host="/srv/x/var/postgres", port=5432, user="postgres", name="test_gpubroker"
    )
    assert url == "postgres://postgres@%2Fsrv%2Fx%2Fvar%2Fpostgres:5432/test_gpubroker"
    # libpq (psycopg) reads the same parts.
    assert psycopg.conninfo.conninfo_to_dict(url) == {
        "host": "/srv/x/var/postgres",
        "port": "5432",
        "user": "postgres",
        "dbname": "test_gpubroker",
    }


def test_with_database_keeps_server_and_credentials() -> None:
    base = dburl.postgres_url(
        host="/srv/Var", port=5432, user="u ser", password=PASSWORD, name="gpubroker"
    )
    other = dburl.with_database(base, "gpubroker bench")
    assert _fields(other) == {
        "HOST": "/srv/Var",
        "PORT": 5432,
        "USER": "u ser",
        "PASSWORD": PASSWORD,
        "NAME": "gpubroker bench",
    }


def test_describe_leaves_the_password_out() -> None:
    url = dburl.postgres_url(host="db", port=5432, user="app", password=PASSWORD, name="gb")
    assert dburl.describe(url) == "postgres://app@db:5432/gb"
    assert dburl.describe("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_a_database_name_is_required() -> None:
    with pytest.raises(ValueError, match="database name"):
        dburl.postgres_url(host="db", name="")
    with pytest.raises(ValueError, match="database name"):
        dburl.with_database("postgres://db/gb", "")


@pytest.mark.django_db
def test_a_child_reaches_the_test_database_through_the_url() -> None:
    # Whatever this run uses (embedded: a socket directory; machine servers: TCP).
    url = connected_database_url()
    fields, settings_dict = _fields(url), connection.settings_dict
    for key in ("HOST", "USER", "PASSWORD", "NAME"):
        assert fields[key] == (settings_dict[key] or "")
    assert str(fields["PORT"]) == str(settings_dict["PORT"] or "")
    with psycopg.connect(url) as child:
        name = child.execute("SELECT current_database()").fetchone()
    assert name == (connection.settings_dict["NAME"],)
