"""The ingest loop: every provider on its own cadence, several syncs at once, a clean stop.

`ingest_loop_run` is what `manage.py sync_providers --loop` (the ingest process) runs. Each
pass reads the schedule from the provider rows (`provider_schedule`, one query): a provider is
due at `selectors.status.next_sync_at` (one interval, `sync_interval_for`, after its last
attempt; not before an open breaker's half-open time; never while disabled), the same time
`GET /providers/status` shows as `next_sync_at`. Because the schedule lives in PostgreSQL,
several ingest replicas agree on it, and `provider_sync`'s advisory lock keeps two of them
from syncing one provider at once.

Due providers are synced concurrently, at most `concurrency` at a time, each in a thread of
its own with its own database connection (`provider_sync` is synchronous: the adapter's fetch
runs in an event loop inside it). A sync that raises is logged and retried one interval later;
a schedule that cannot be read (database unreachable) is retried every few seconds.

Stopping (SIGTERM, SIGINT): no new sync starts; running ones get `stop_grace_seconds` to
finish. One that does not is abandoned: its thread is a daemon, and when the process exits
its connection closes and PostgreSQL rolls its transaction back, so a batch is written whole
or not at all (`sync_write.offers_apply` writes one transaction per sync).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import DatabaseError, connections
from django.utils import timezone

from apps.providers.adapters.registry import default_registry
from apps.providers.models import Provider
from apps.providers.selectors.status import next_sync_at, sync_interval_for
from apps.providers.services.sync import SyncResult, provider_ensure, provider_sync

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The loop reads the schedule again at least this often (an operator may enable a provider or
# change its interval; another replica may have synced it).
MAX_IDLE_SECONDS = 30.0
# After the schedule could not be read (database unreachable), the next try.
SCHEDULE_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class ScheduleEntry:
    """One provider's next sync (None while disabled) and its interval in seconds."""

    due_at: datetime | None
    interval_seconds: int


def provider_schedule(
    *, names: Iterable[str], intervals: Mapping[str, int] | None = None
) -> dict[str, ScheduleEntry]:
    """When each named provider is due (`next_sync_at`) and its interval (one query).

    `intervals` replaces a provider's interval in force (`sync_interval_for`) for this run.
    Rows missing for a registered adapter are created first (`provider_ensure`), so a new
    adapter is due at once.

    Raises:
        UnknownProviderError: a name has no adapter.
    """
    wanted = list(names)
    rows = {p.name: p for p in Provider.objects.filter(name__in=wanted)}
    for name in wanted:
        if name not in rows:
            rows[name] = provider_ensure(adapter_class=default_registry.get_adapter(name))
    schedule = {}
    for name in wanted:
        interval = (intervals or {}).get(name) or sync_interval_for(rows[name])
        schedule[name] = ScheduleEntry(
            due_at=next_sync_at(rows[name], interval_seconds=interval), interval_seconds=interval
        )
    return schedule


def _in_daemon_thread(function: Callable[[], T], *, name: str) -> asyncio.Future[T]:
    """Run `function` in a new daemon thread; the future resolves on the calling loop.

    Daemon, so a sync still running when the process exits is abandoned rather than waited
    for. The thread closes its own database connections when done.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def hand_over(result: T | None, error: BaseException | None) -> None:
        # An abandoned sync may end after the loop has closed: nobody waits for it then.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    def target() -> None:
        try:
            result = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            hand_over(None, exc)
        else:
            hand_over(result, None)
        finally:
            connections.close_all()

    threading.Thread(target=target, name=name, daemon=True).start()
    return future


@dataclass
class IngestReport:
    """What a run of the loop did: sync attempts per provider, and those abandoned at stop."""

    attempts: dict[str, int] = field(default_factory=dict)
    abandoned: list[str] = field(default_factory=list)


def _sync_guarded(sync: Callable[[str], SyncResult], name: str) -> SyncResult | None:
    try:
        return sync(name)
    except Exception:
        # The loop's outer boundary. provider_sync reports provider faults in its result;
        # anything raised is our own bug or a lost database, and must not stop the others.
        logger.exception("sync of %s crashed", name, extra={"provider": name})
        return None


def _default_sync(name: str) -> SyncResult:
    return provider_sync(provider_name=name)


async def ingest_loop_run(
    *,
    names: list[str],
    stop: asyncio.Event,
    concurrency: int,
    stop_grace_seconds: float,
    sync: Callable[[str], SyncResult] = _default_sync,
    intervals: Mapping[str, int] | None = None,
    now: Callable[[], datetime] = timezone.now,
) -> IngestReport:
    """Sync each provider in `names` when due until `stop` is set (module docstring).

    Args:
        names: Registered provider names.
        stop: Set to stop (the command sets it on SIGTERM and SIGINT).
        concurrency: At most this many syncs at once (≥ 1).
        stop_grace_seconds: How long a stop waits for running syncs before abandoning them.
        sync: One provider's sync (default `provider_sync`); runs in a thread of its own.
        intervals: Seconds per provider replacing its cadence for this run (`--interval`).
        now: The clock (aware datetimes), for the due times.

    Returns:
        Attempts started per provider and the providers whose sync was abandoned at stop.
    """
    report = IngestReport(attempts=dict.fromkeys(names, 0))
    slots = asyncio.Semaphore(concurrency)
    running: dict[str, asyncio.Task[None]] = {}
    # One interval after this process's last attempt, even if the row did not move (the sync
    # crashed before writing, e.g. the database was lost; another process held the lock).
    not_before: dict[str, datetime] = {}

    async def attempt(name: str, interval_seconds: int) -> None:
        async with slots:
            if stop.is_set():
                return
            report.attempts[name] += 1
            started = now()
            # Set first: the wait below may be cancelled at stop.
            not_before[name] = started + timedelta(seconds=interval_seconds)
            await _in_daemon_thread(lambda: _sync_guarded(sync, name), name=f"sync-{name}")

    while not stop.is_set():
        try:
            schedule = await asyncio.to_thread(
                _thread_db, provider_schedule, names=names, intervals=intervals
            )
        except DatabaseError as exc:
            # PostgreSQL is away (failover): nothing can be scheduled or written; try again.
            logger.warning(
                "ingest schedule unreadable, retrying",
                extra={"error": exc.__class__.__name__, "retry_seconds": SCHEDULE_RETRY_SECONDS},
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SCHEDULE_RETRY_SECONDS)
            continue
        moment = now()
        next_wake = moment + timedelta(seconds=MAX_IDLE_SECONDS)
        for name, entry in schedule.items():
            if entry.due_at is None or name in running:
                continue
            due = max(entry.due_at, not_before.get(name, entry.due_at))
            if due <= moment:
                task = asyncio.create_task(
                    attempt(name, entry.interval_seconds), name=f"ingest-{name}"
                )
                running[name] = task
                task.add_done_callback(functools.partial(_forget, running, name))
            else:
                next_wake = min(next_wake, due)
        # Sleep until the next due time, a sync finishing (its row moved), or the stop.
        stopped = asyncio.ensure_future(stop.wait())
        timeout = max(0.0, (next_wake - now()).total_seconds())
        await asyncio.wait(
            {stopped, *running.values()}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        stopped.cancel()

    if running:
        _, pending = await asyncio.wait(set(running.values()), timeout=stop_grace_seconds)
        report.abandoned = sorted(name for name, task in running.items() if task in pending)
        for task in pending:
            task.cancel()
        if report.abandoned:
            logger.warning(
                "ingest stopping: syncs abandoned, their transactions roll back",
                extra={"providers": report.abandoned, "grace_seconds": stop_grace_seconds},
            )
    return report


def _forget(running: dict[str, asyncio.Task[None]], name: str, task: asyncio.Task[None]) -> None:
    running.pop(name, None)


def _thread_db(function: Callable[..., T], **kwargs: Any) -> T:
    """`function(**kwargs)` in a worker thread, then that thread's connections closed."""
    try:
        return function(**kwargs)
    finally:
        connections.close_all()
