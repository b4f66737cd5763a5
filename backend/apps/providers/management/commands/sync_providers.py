"""`manage.py sync_providers [--provider X ...] [--loop [--concurrency N]] [-v 2]`.

Without `--loop`: one sync of each provider, in turn. With `--loop` (the ingest process): each
provider on its own cadence, several at once, until SIGTERM or SIGINT
(`services/ingest.py`). `--interval N` makes every provider's interval N seconds for this run
only (tests, one-off runs; `/providers/status` does not know it).

Each sync is reported once, by the service's JSON log line (`sync.sync_log`), which is what
`make run`, the compose `ingest` service and log shippers read. A plain-text summary line per
provider is added only at verbosity 2 or more (`-v 2`), for an operator reading a terminal:
printing both by default put every sync in the log twice, in two formats.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from apps.providers.adapters.registry import UnknownProviderError, default_registry
from apps.providers.services.demo_market import demo_market_from_settings
from apps.providers.services.ingest import IngestReport, ingest_loop_run
from apps.providers.services.sync import SyncResult, provider_sync

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
        """--provider, --loop, --concurrency and --interval (seconds)."""
        parser.add_argument("--provider", action="append", dest="providers", default=None)
        parser.add_argument(
            "--loop", action="store_true", help="sync each provider on its cadence until stopped"
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=settings.INGEST_CONCURRENCY,
            help="syncs at once with --loop (INGEST_CONCURRENCY)",
        )
        parser.add_argument(
            "--interval",
            type=int,
            default=None,
            help="with --loop: every provider every this many seconds (default: its cadence)",
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
        if options["interval"] is not None and options["interval"] < 1:
            raise CommandError("--interval must be at least 1 second")
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1")
        self._announce_demo_market()
        if not options["loop"]:
            self._round(names)
            return
        intervals = None
        if options["interval"] is not None:
            intervals = dict.fromkeys(names, options["interval"])
        report = asyncio.run(self._loop(names, options["concurrency"], intervals))
        if self.verbosity >= 2:
            self.stdout.write(f"stopped: attempts={report.attempts} abandoned={report.abandoned}")

    async def _loop(
        self, names: list[str], concurrency: int, intervals: dict[str, int] | None
    ) -> IngestReport:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        logger.info(
            "ingest loop started",
            extra={"providers": names, "concurrency": concurrency, "intervals": intervals},
        )
        try:
            return await ingest_loop_run(
                names=names,
                stop=stop,
                concurrency=concurrency,
                stop_grace_seconds=settings.INGEST_STOP_GRACE_SECONDS,
                sync=self._sync_reported,
                intervals=intervals,
            )
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

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

    def _round(self, names: list[str]) -> None:
        for name in names:
            _drop_broken_connection()
            try:
                self._sync_reported(name)
            except Exception:
                # The round's outer boundary. provider_sync reports provider faults in its
                # result; anything raised here is our own bug or a lost database, and must not
                # stop the other providers.
                logger.exception("sync of %s crashed", name, extra={"provider": name})
                if self.verbosity >= 2:
                    self.stderr.write(f"{name}: crashed (see the log)")

    def _sync_reported(self, name: str) -> SyncResult:
        """One provider's sync; at -v 2 also a plain summary line."""
        result = provider_sync(provider_name=name)
        if self.verbosity >= 2:
            line = (
                f"{name}: {result.status} seen={result.offers_seen} new={result.offers_inserted}"
                f" changed={result.offers_changed} gone={result.offers_gone}"
                f" skipped={result.offers_skipped} quarantined={result.offers_quarantined}"
                f" elements_skipped={result.elements_skipped}"
            )
            if result.skip_reasons:
                reasons = "; ".join(
                    f"{reason} x{count}" for reason, count in sorted(result.skip_reasons.items())
                )
                line += f" skip_reasons=[{reasons}]"
            if result.error:
                line += f" error={result.error}"
            self.stdout.write(line)
        return result
