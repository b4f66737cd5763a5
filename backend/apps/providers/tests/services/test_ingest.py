"""The ingest loop (services/ingest.py): cadence per provider, bounded concurrency, open breakers
skipped, a clean stop. Real PostgreSQL; intervals of a second or two; syncs are the real
`provider_sync` (curated price lists: no HTTP) or a stand-in that records and blocks.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone

from apps.providers.models import Provider, ProviderSyncRun
from apps.providers.services.ingest import IngestReport, ingest_loop_run, provider_schedule
from apps.providers.services.sync import SyncResult, provider_sync
from gpubroker.testing.processes import BACKEND_DIR, child_environ

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_SECONDS = 30.0


class Recorder:
    """A sync stand-in: records (provider, start time), optionally blocks until released."""

    def __init__(self, *, block: bool = False) -> None:
        self.calls: list[tuple[str, datetime]] = []
        self.release = threading.Event()
        if not block:
            self.release.set()
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, name: str) -> SyncResult:
        with self._lock:
            self.calls.append((name, timezone.now()))
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            assert self.release.wait(WAIT_SECONDS)
        finally:
            with self._lock:
                self.running -= 1
        return SyncResult(provider=name, status="ok")

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


async def eventually(condition) -> None:
    """Wait (polling every 50 ms) until `condition()` holds, for at most WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def run_until(condition, *, names, sync, concurrency=4, grace=5.0, intervals=None):
    """Run the loop until `condition()` holds (checked every 50 ms), then stop it."""
    stop = asyncio.Event()

    async def watch() -> None:
        await eventually(condition)
        stop.set()

    watcher = asyncio.create_task(watch())
    report = await ingest_loop_run(
        names=names,
        stop=stop,
        concurrency=concurrency,
        stop_grace_seconds=grace,
        sync=sync,
        intervals=intervals,
    )
    await watcher
    return report


@override_settings(PROVIDER_SYNC_INTERVALS={"coreweave": 1, "paperspace": 3600})
def test_each_provider_is_synced_on_its_own_interval() -> None:
    starts: list[tuple[str, datetime]] = []

    def sync(name: str) -> SyncResult:
        starts.append((name, timezone.now()))
        return provider_sync(provider_name=name)

    def coreweave_thrice() -> bool:
        return [n for n, _ in starts].count("coreweave") >= 3

    report = asyncio.run(run_until(coreweave_thrice, names=["coreweave", "paperspace"], sync=sync))

    assert report.attempts["paperspace"] == 1
    assert report.attempts["coreweave"] >= 3
    assert report.abandoned == []
    coreweave = [at for name, at in starts if name == "coreweave"]
    # One interval (1 s) between two syncs of the same provider, never less.
    assert all(later - earlier >= timedelta(seconds=1) for earlier, later in pairwise(coreweave))
    runs = ProviderSyncRun.objects.filter(is_success=True)
    assert runs.filter(provider__name="paperspace").count() == 1
    assert runs.filter(provider__name="coreweave").count() == report.attempts["coreweave"]


def test_syncs_run_concurrently_at_most_concurrency_at_once() -> None:
    recorder = Recorder(block=True)
    names = ["coreweave", "paperspace", "tensordock"]

    async def scenario() -> IngestReport:
        stop = asyncio.Event()
        loop_task = asyncio.create_task(
            ingest_loop_run(
                names=names, stop=stop, concurrency=2, stop_grace_seconds=5.0, sync=recorder
            )
        )
        await eventually(lambda: len(recorder.calls) >= 2)
        await asyncio.sleep(0.3)
        started_while_blocked = len(recorder.calls)
        recorder.release.set()
        await eventually(lambda: len(recorder.calls) >= 3)
        stop.set()
        report = await loop_task
        assert started_while_blocked == 2
        return report

    report = asyncio.run(scenario())
    # Never synced: all three were due at once, but only two ran together.
    assert sorted(recorder.names()) == sorted(names)
    assert recorder.most_at_once == 2
    assert report.attempts == dict.fromkeys(names, 1)


def test_a_provider_whose_breaker_is_open_waits_for_its_half_open_time() -> None:
    half_open_at = timezone.now() + timedelta(seconds=1.5)
    Provider.objects.create(
        name="coreweave",
        display_name="CoreWeave",
        last_sync_at=timezone.now() - timedelta(days=2),
        breaker_state="open",
        breaker_open_until=half_open_at,
    )
    recorder = Recorder()
    report = asyncio.run(
        run_until(
            lambda: len(recorder.calls) >= 2, names=["coreweave", "paperspace"], sync=recorder
        )
    )
    calls = dict(recorder.calls)
    # Overdue by days, but its breaker said "not before half_open_at"; paperspace went first.
    assert recorder.names() == ["paperspace", "coreweave"]
    assert calls["coreweave"] >= half_open_at
    assert report.attempts == {"coreweave": 1, "paperspace": 1}


def test_a_disabled_provider_is_not_scheduled() -> None:
    Provider.objects.create(name="paperspace", display_name="Paperspace", status="disabled")
    recorder = Recorder()
    report = asyncio.run(
        run_until(
            lambda: len(recorder.calls) >= 1, names=["coreweave", "paperspace"], sync=recorder
        )
    )
    assert recorder.names() == ["coreweave"]
    assert report.attempts["paperspace"] == 0
    assert provider_schedule(names=["paperspace"])["paperspace"].due_at is None


async def stop_during_a_sync(recorder: Recorder, *, grace: float, release_after_stop: bool):
    """Start the loop on coreweave, stop it while its sync blocks; the report, and whether the
    loop was still waiting 0.2 s after the stop."""
    stop = asyncio.Event()
    loop_task = asyncio.create_task(
        ingest_loop_run(
            names=["coreweave"],
            stop=stop,
            concurrency=1,
            stop_grace_seconds=grace,
            sync=recorder,
            intervals={"coreweave": 1},
        )
    )
    await eventually(lambda: recorder.calls)
    stop.set()
    await asyncio.sleep(0.2)
    was_waiting = not loop_task.done()
    if release_after_stop:
        recorder.release.set()
    return await loop_task, was_waiting


def test_stop_lets_a_running_sync_finish_and_starts_no_new_one() -> None:
    recorder = Recorder(block=True)
    report, was_waiting = asyncio.run(
        stop_during_a_sync(recorder, grace=WAIT_SECONDS, release_after_stop=True)
    )
    assert was_waiting is True  # for the running sync
    assert report.abandoned == []
    assert report.attempts == {"coreweave": 1}
    assert recorder.running == 0


def test_stop_abandons_a_sync_that_outlives_the_grace() -> None:
    recorder = Recorder(block=True)
    try:
        report, _ = asyncio.run(stop_during_a_sync(recorder, grace=0.1, release_after_stop=False))
        assert report.abandoned == ["coreweave"]
        assert recorder.running == 1  # still in its (daemon) thread
    finally:
        recorder.release.set()


def test_a_crashing_sync_is_logged_and_retried_one_interval_later(caplog) -> None:
    calls: list[datetime] = []

    def crash(name: str) -> SyncResult:
        calls.append(timezone.now())
        raise RuntimeError("database went away")

    report = asyncio.run(
        run_until(
            lambda: len(calls) >= 2, names=["coreweave"], sync=crash, intervals={"coreweave": 1}
        )
    )
    assert report.attempts == {"coreweave": 2}
    assert calls[1] - calls[0] >= timedelta(seconds=1)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"][:2] == [
        "sync of coreweave crashed",
        "sync of coreweave crashed",
    ]


@pytest.mark.slow
def test_sigterm_stops_the_ingest_process_after_its_syncs(tmp_path) -> None:
    log_path = tmp_path / "ingest.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "sync_providers", "--loop", "--provider", "coreweave"],
            cwd=BACKEND_DIR,
            env={**child_environ(), "DJANGO_SETTINGS_MODULE": "gpubroker.settings.test"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not ProviderSyncRun.objects.filter(provider__name="coreweave").exists():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log_path.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log_path.read_text()
    assert "ingest loop started" in output
    assert output.count('"provider synced"') == 1
    run = ProviderSyncRun.objects.get(provider__name="coreweave")
    assert run.is_success is True
    assert Provider.objects.get(name="coreweave").offers.count() == run.offers_seen


def test_an_unreadable_schedule_is_retried_and_the_loop_carries_on(monkeypatch, caplog) -> None:
    from apps.providers.services import ingest

    monkeypatch.setattr(ingest, "SCHEDULE_RETRY_SECONDS", 0.1)
    failures = iter([OperationalError("server closed the connection")])
    real_schedule = ingest.provider_schedule

    def flaky_schedule(**kwargs):
        for error in failures:
            raise error
        return real_schedule(**kwargs)

    monkeypatch.setattr(ingest, "provider_schedule", flaky_schedule)
    recorder = Recorder()
    report = asyncio.run(run_until(lambda: recorder.calls, names=["coreweave"], sync=recorder))
    assert report.attempts == {"coreweave": 1}
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "ingest schedule unreadable, retrying"
    ]
