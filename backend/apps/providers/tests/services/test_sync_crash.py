"""A sync killed mid-batch leaves nothing half-written: the batch is one transaction."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from apps.providers.models import GPUOffer, PriceHistory, ProviderSyncRun
from gpubroker.testing.processes import child_environ

BACKEND_DIR = Path(__file__).resolve().parents[4]


def _conninfo() -> dict:
    params = dict(connection.get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold", "options"):
        params.pop(key, None)
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_killed_sync_leaves_no_partial_batch() -> None:
    env = child_environ(DJANGO_SETTINGS_MODULE="gpubroker.settings.test")
    with psycopg.connect(**_conninfo()) as blocker:
        # Hold price_history so the sync blocks after writing its offers, inside its transaction.
        blocker.execute("LOCK TABLE price_history IN ACCESS EXCLUSIVE MODE")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "sync_providers", "--provider", "vultr"],
            cwd=BACKEND_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            waiting = False
            with psycopg.connect(**_conninfo(), autocommit=True) as observer:
                while time.monotonic() < deadline and not waiting:
                    row = observer.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query LIKE '%%INSERT INTO price_history%%' AND datname = %s",
                        [connection.settings_dict["NAME"]],
                    ).fetchone()
                    waiting = bool(row and row[0])
                    time.sleep(0.1)
            assert waiting, "the sync never reached its history insert"
            # Offers are already written in the open transaction when the process dies.
            process.kill()
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
        blocker.rollback()
    time.sleep(0.5)
    assert GPUOffer.objects.filter(provider__name="vultr").count() == 0
    assert PriceHistory.objects.count() == 0
    assert ProviderSyncRun.objects.count() == 0
