"""`manage.py sync_providers [--provider X ...] [--loop --interval 300] [-v 2]`.

Each sync is reported once, by the service's JSON log line (`sync.sync_log`), which is what
`make run`, the compose `ingest` service and log shippers read. A plain-text summary line per
provider is added only at verbosity 2 or more (`-v 2`), for an operator reading a terminal:
printing both by default put every sync in the log twice, in two formats.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from apps.providers.adapters.registry import UnknownProviderError, default_registry
from apps.providers.circuit_breaker import BreakerRegistry
from apps.providers.services.demo_market import demo_market_from_settings
from apps.providers.services.sync import breaker_registry_for, provider_sync

logger = logging.getLogger(__name__)


def _drop_broken_connection() -> None:
    # A lost database leaves this long-lived process's connection broken, and Django replaces
    # broken connections only around requests: the loop does it itself, so ingestion resumes
    # once PostgreSQL is back (bench/faults.py). Only after a database error, so a healthy
    # round costs no extra query (and a test's transaction is left alone).
    if connection.errors_occurred and not connection.is_usable():
        connection.close()


class Command(BaseCommand):
    """Ingest offers from every provider (or one), once or in a loop."""

    help = (
        "Fetch offers from providers (replay or live) into the catalogue. One JSON log line per"
        " sync; -v 2 adds a plain summary line per provider."
    )
    verbosity = 1

    def add_arguments(self, parser: CommandParser) -> None:
        """--provider, --loop and --interval (seconds)."""
        parser.add_argument("--provider", action="append", dest="providers", default=None)
        parser.add_argument("--loop", action="store_true", help="sync forever")
        parser.add_argument(
            "--interval",
            type=int,
            default=settings.PROVIDER_SYNC_INTERVAL_SECONDS,
            help="seconds between rounds with --loop",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Sync, writing one JSON log line per provider (a plain summary too with -v 2)."""
        self.verbosity = int(options["verbosity"])
        names: list[str] = options["providers"] or default_registry.list_adapters()
        for name in names:
            if name not in default_registry:
                raise CommandError(
                    str(UnknownProviderError(name, default_registry.list_adapters()))
                )
        if options["interval"] < 1:
            raise CommandError("--interval must be at least 1 second")
        self._announce_demo_market()
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        if options["loop"]:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        # The breakers' window follows the rounds actually run (`--interval`).
        self.breakers = breaker_registry_for(interval_seconds=options["interval"])
        while True:
            self._round(names)
            if not options["loop"]:
                return
            deadline = time.monotonic() + options["interval"]
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.5)
            if stopping:
                return

    @staticmethod
    def _announce_demo_market() -> None:
        if demo_market_from_settings() is not None:
            logger.info(
                "demo market on: prices and availability are simulated drift over recorded"
                " provider responses, not provider data",
                extra={"demo_market": True, "seed": settings.GPUBROKER_DEMO_MARKET_SEED},
            )
        elif settings.GPUBROKER_DEMO_MARKET:
            logger.warning(
                "GPUBROKER_DEMO_MARKET is ignored: the demo market only drifts replayed offers,"
                " and GPUBROKER_PROVIDER_MODE is %s",
                settings.GPUBROKER_PROVIDER_MODE,
            )

    breakers: BreakerRegistry

    def _round(self, names: list[str]) -> None:
        for name in names:
            _drop_broken_connection()
            try:
                result = provider_sync(provider_name=name, breaker_registry=self.breakers)
            except Exception:
                # The loop's outer boundary. provider_sync reports provider faults in its result;
                # anything raised here is our own bug or a lost database, and must not stop the
                # other providers.
                logger.exception("sync of %s crashed", name, extra={"provider": name})
                if self.verbosity >= 2:
                    self.stderr.write(f"{name}: crashed (see the log)")
                continue
            if self.verbosity < 2:
                continue
            line = (
                f"{name}: {result.status} seen={result.offers_seen} new={result.offers_inserted}"
                f" changed={result.offers_changed} gone={result.offers_gone}"
                f" skipped={result.offers_skipped} quarantined={result.offers_quarantined}"
            )
            if result.error:
                line += f" error={result.error}"
            self.stdout.write(line)
