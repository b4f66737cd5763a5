"""Fixtures of the board's tests: a small market for the views, the replayed demo market
behind a real daphne and a real Chromium for the browser tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from apps.providers.models import GPUOffer
from apps.providers.tests.selectors.market import benchmarks_load, offer_make, provider_make
from gpubroker.testing.market import demo_market_load
from gpubroker.testing.processes import ServerProcess, daphne_server


@pytest.fixture
def market(db: Any) -> dict[str, GPUOffer]:
    """Six listed offers at two providers, one sold out, one stale; specs loaded."""
    benchmarks_load()
    alpha, beta = provider_make("alpha"), provider_make("beta")
    return {
        "h100": offer_make(
            alpha, "H100 SXM", "2.4900", gpu_count=1, region="Quebec, CA", country="CA"
        ),
        "h100x8": offer_make(alpha, "H100 SXM", "19.9000", gpu_count=8),
        "a100": offer_make(beta, "A100 SXM 80GB", "1.2900", gpu_count=2),
        "4090": offer_make(beta, "RTX 4090", "0.3400", gpu_memory_gb=24, spot_pricing=True),
        "l40s": offer_make(
            beta, "L40S", "0.8900", gpu_memory_gb=48, availability_status="unavailable"
        ),
        "stale": offer_make(alpha, "A10", "0.6000", gpu_memory_gb=24, is_stale=True),
    }


@pytest.fixture(scope="module")
def demo_server(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """daphne serving the replayed demo market (committed; the tables are emptied afterwards)."""
    with django_db_blocker.unblock():
        demo_market_load()
        try:
            with daphne_server(tmp_path_factory.mktemp("board-daphne")) as server:
                yield server
        finally:
            _wait_for_other_sessions_to_end()
            call_command("flush", interactive=False, verbosity=0)


def _wait_for_other_sessions_to_end(seconds: float = 5.0) -> None:
    """PostgreSQL ends a stopped server's sessions a moment after it exits; the test database
    can only be dropped once they are gone."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)


def output_dir(tmp_path: Path) -> Path:
    """Where a browser test writes its screenshots."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    return tmp_path
