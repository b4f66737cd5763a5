"""One line for an operator whose command cannot reach PostgreSQL or Redis.

`manage.py` calls `unreachable_store_message` at its outer boundary: a connection failure becomes
one line saying what is wrong and what to do, anything else keeps its traceback.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Sequence

import psycopg
import redis
from psycopg_pool import PoolTimeout

# SQLSTATE classes of a connection that broke after it was made (08 connection exception,
# 57P admin/crash shutdown); failures to connect at all carry no SQLSTATE in psycopg.
_LOST_CONNECTION_SQLSTATES = ("08", "57P")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else ""
    line = line.removeprefix("connection failed: ")
    return re.sub(r"\s+", " ", line)


def _database_reason(exc: BaseException) -> str | None:
    for error in _chain(exc):
        if isinstance(error, PoolTimeout):
            return _probe_database() or _first_line(str(error))
        if isinstance(error, psycopg.OperationalError) and (
            error.sqlstate is None or error.sqlstate.startswith(_LOST_CONNECTION_SQLSTATES)
        ):
            return _first_line(str(error))
    return None


def _probe_database() -> str | None:
    # The pool only says it timed out; one direct attempt tells why.
    from django.db import connection

    params = dict(connection.get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold", "options", "pool"):
        params.pop(key, None)
    params["connect_timeout"] = 2
    try:
        psycopg.connect(**{k: v for k, v in params.items() if v is not None}).close()
    except psycopg.Error as error:
        return _first_line(str(error))
    return None


def close_connection_pools() -> None:
    """Close every psycopg pool Django opened (their workers stop retrying and logging)."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()


def unreachable_store_message(exc: BaseException, argv: Sequence[str]) -> str | None:
    """What to tell the operator when `exc` means PostgreSQL or Redis cannot be reached.

    `argv` is the command's arguments after `manage.py` (quoted back into the hint). Returns
    None for any other error, which the caller re-raises.
    """
    from django.conf import settings

    from gpubroker import dburl

    hint = f'make manage ARGS="{shlex.join(argv)}"'
    reason = _database_reason(exc)
    if reason is not None:
        if not settings.DATABASE_URL:
            return (
                "DATABASE_URL is not set, so there is no PostgreSQL to use. Run the command as "
                f"`{hint}` (it uses the servers of a running `make run`, or starts embedded "
                "ones for the command), or set DATABASE_URL."
            )
        return (
            f"cannot connect to PostgreSQL at {dburl.describe(settings.DATABASE_URL)}: {reason}. "
            "Start that server or correct DATABASE_URL (unset, "
            f"`{hint}` uses the embedded servers)."
        )
    for error in _chain(exc):
        if isinstance(error, redis.ConnectionError | redis.TimeoutError):
            location = dburl.describe(settings.CACHES["default"]["LOCATION"])
            return (
                f"cannot connect to Redis at {location}: {_first_line(str(error))}. Start it or "
                f"correct REDIS_URL (unset, `{hint}` uses the embedded servers)."
            )
    return None
