#!/usr/bin/env python
"""Django's command-line utility for GPUBROKER.

A command that cannot reach PostgreSQL or Redis ends with one line saying what is wrong and what
to do (exit status 1), not a traceback; `make manage ARGS="…"` runs commands with the embedded
servers when DATABASE_URL / REDIS_URL are unset.
"""

import os
import sys


def main() -> None:
    """Run a management command; one line instead of a traceback when a server is unreachable."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpubroker.settings.development")
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError
    from redis import RedisError

    try:
        execute_from_command_line(sys.argv)
    except (DatabaseError, RedisError) as exc:
        from gpubroker.core.connectivity import close_connection_pools, unreachable_store_message

        message = unreachable_store_message(exc, sys.argv[1:])
        if message is None:
            raise
        close_connection_pools()  # their workers would go on logging failed attempts
        print(f"manage.py: {message}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
