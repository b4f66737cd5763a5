"""PostgreSQL connection URLs for child processes, built from parts in one place.

Framework-free on purpose: `gpubroker.embedded` uses it before Django settings exist, and tests and
benchmarks use it to hand a child process (daphne, manage.py) the database they are connected to.

A URL built here reads back through dj-database-url (which the settings use) into the same
HOST, PORT, USER, PASSWORD and NAME, and libpq/psycopg accept it as a connection URI:

- a host starting with `/` is a Unix-socket directory and is percent-encoded into the host part
  (`postgres://postgres@%2Fsrv%2Fvar%2Fpostgres/gpubroker`); upper-case letters are escaped too,
  because dj-database-url reads the host through `urlsplit().hostname`, which lower-cases it;
- an IPv6 address is put in brackets;
- user, password and database name are percent-encoded, so any character survives.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlsplit, urlunsplit

SCHEME = "postgres"


def _encode_host(host: str) -> str:
    if host.startswith("/"):
        # `hostname` lower-cases the host; an escaped letter survives that and is decoded back.
        return "".join(
            f"%{ord(char):02X}" if char.isascii() and char.isupper() else quote(char, safe="")
            for char in host
        )
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def postgres_url(
    *,
    name: str,
    host: str = "",
    port: int | str | None = None,
    user: str = "",
    password: str = "",
) -> str:
    """A `postgres://` URL for database `name`.

    `host` is a TCP host name or address, or a Unix-socket directory (an absolute path); empty
    means libpq's default socket. `port` is the TCP port (or the socket file's number); empty or
    None leaves it out. Raises ValueError when `name` is empty.
    """
    if not name:
        raise ValueError("a database name is required")
    credentials = quote(user, safe="")
    if password:
        credentials = f"{credentials}:{quote(password, safe='')}"
    netloc = _encode_host(host)
    if port not in (None, ""):
        netloc = f"{netloc}:{int(port)}"
    if credentials:
        netloc = f"{credentials}@{netloc}"
    return f"{SCHEME}://{netloc}/{quote(name, safe='')}"


def url_from_settings(settings_dict: Mapping[str, object]) -> str:
    """The URL of a Django `DATABASES` entry (HOST, PORT, USER, PASSWORD, NAME).

    Under the test suite, `django.db.connection.settings_dict` names the test database, so a
    child process given this URL sees the rows the test committed. Options (timeouts, pool) are
    not carried: the child's own settings add them.
    """
    port = settings_dict.get("PORT")
    return postgres_url(
        name=str(settings_dict.get("NAME") or ""),
        host=str(settings_dict.get("HOST") or ""),
        port=str(port) if port not in (None, "") else None,
        user=str(settings_dict.get("USER") or ""),
        password=str(settings_dict.get("PASSWORD") or ""),
    )


def with_database(url: str, name: str) -> str:
    """`url` with its database replaced by `name` (same server, user and password)."""
    if not name:
        raise ValueError("a database name is required")
    return urlunsplit(urlsplit(url)._replace(path=f"/{quote(name, safe='')}"))


def describe(url: str) -> str:
    """`url` without its password, for messages (`postgres://user@host:port/name`)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{host}"))
