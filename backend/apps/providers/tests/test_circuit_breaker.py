"""Circuit breaker behaviour with an injected clock (no sleeping, no Django)."""

from __future__ import annotations

import asyncio

import pytest

from apps.providers.circuit_breaker import (
    BreakerRegistry,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ProviderDown(Exception):
    pass


class ClientError(Exception):
    """Stands in for a non-retryable adapter error (a 4xx)."""


class FakeProvider:
    def __init__(self) -> None:
        self.calls = 0
        self.fail_with: Exception | None = None
        self.release = asyncio.Event()
        self.block = False

    async def fetch(self, value: str = "ok") -> str:
        self.calls += 1
        if self.block:
            await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return value


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker("vastai", clock=clock)


async def fail_times(breaker: CircuitBreaker, provider: FakeProvider, times: int) -> None:
    provider.fail_with = ProviderDown("503")
    for _ in range(times):
        with pytest.raises(ProviderDown):
            await breaker.call(provider.fetch)


@pytest.mark.asyncio
async def test_passes_result_and_arguments_through_when_closed(breaker: CircuitBreaker) -> None:
    provider = FakeProvider()

    assert await breaker.call(provider.fetch, value="offers") == "offers"
    assert breaker.snapshot().state is BreakerState.CLOSED
    assert breaker.snapshot().failure_count == 0


@pytest.mark.asyncio
async def test_opens_after_threshold_failures_within_window(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    provider = FakeProvider()

    await fail_times(breaker, provider, 4)
    assert breaker.snapshot().state is BreakerState.CLOSED
    assert breaker.snapshot().failure_count == 4

    clock.advance(29)
    await fail_times(breaker, provider, 1)

    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.OPEN
    assert snapshot.failure_count == 5
    assert snapshot.opened_at == clock.now
    assert snapshot.retry_after == 60.0


@pytest.mark.asyncio
async def test_failures_older_than_window_expire(breaker: CircuitBreaker, clock: FakeClock) -> None:
    provider = FakeProvider()

    await fail_times(breaker, provider, 4)
    clock.advance(31)
    await fail_times(breaker, provider, 1)

    assert breaker.snapshot().state is BreakerState.CLOSED
    assert breaker.snapshot().failure_count == 1


@pytest.mark.asyncio
async def test_successes_do_not_reset_failures_in_window(breaker: CircuitBreaker) -> None:
    provider = FakeProvider()

    for _ in range(4):
        await fail_times(breaker, provider, 1)
        provider.fail_with = None
        await breaker.call(provider.fetch)
    assert breaker.snapshot().state is BreakerState.CLOSED

    await fail_times(breaker, provider, 1)
    assert breaker.snapshot().state is BreakerState.OPEN


@pytest.mark.asyncio
async def test_open_fails_fast_without_calling_provider(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    provider = FakeProvider()
    await fail_times(breaker, provider, 5)
    calls_before = provider.calls
    clock.advance(15)

    with pytest.raises(CircuitOpenError) as excinfo:
        await breaker.call(provider.fetch)

    assert provider.calls == calls_before
    assert excinfo.value.name == "vastai"
    assert excinfo.value.state is BreakerState.OPEN
    assert excinfo.value.retry_after == 45.0


@pytest.mark.asyncio
async def test_reports_half_open_once_recovery_time_passed(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    provider = FakeProvider()
    await fail_times(breaker, provider, 5)

    clock.advance(59.9)
    assert breaker.snapshot().state is BreakerState.OPEN
    clock.advance(0.1)

    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.HALF_OPEN
    assert snapshot.retry_after == 0.0


@pytest.mark.asyncio
async def test_half_open_admits_exactly_one_concurrent_trial(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    provider = FakeProvider()
    await fail_times(breaker, provider, 5)
    clock.advance(60)
    provider.fail_with = None
    provider.block = True
    calls_before = provider.calls

    async def release_soon() -> None:
        # Let every gathered caller reach the breaker before the trial completes.
        for _ in range(10):
            await asyncio.sleep(0)
        provider.release.set()

    results = await asyncio.gather(
        *(breaker.call(provider.fetch) for _ in range(5)),
        release_soon(),
        return_exceptions=True,
    )

    outcomes = results[:5]
    assert provider.calls - calls_before == 1
    assert outcomes.count("ok") == 1
    rejected = [r for r in outcomes if isinstance(r, CircuitOpenError)]
    assert len(rejected) == 4
    assert all(r.state is BreakerState.HALF_OPEN for r in rejected)
    assert breaker.snapshot().state is BreakerState.CLOSED


@pytest.mark.asyncio
async def test_trial_success_closes_and_clears_failures(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    provider = FakeProvider()
    await fail_times(breaker, provider, 5)
    clock.advance(60)
    provider.fail_with = None

    assert await breaker.call(provider.fetch) == "ok"

    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.CLOSED
    assert snapshot.failure_count == 0
    assert snapshot.opened_at is None
    # History is cleared: four new failures do not re-open it.
    await fail_times(breaker, provider, 4)
    assert breaker.snapshot().state is BreakerState.CLOSED


@pytest.mark.asyncio
async def test_trial_failure_reopens_for_another_recovery_period(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    provider = FakeProvider()
    await fail_times(breaker, provider, 5)
    clock.advance(60)

    await fail_times(breaker, provider, 1)

    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.OPEN
    assert snapshot.opened_at == clock.now
    assert snapshot.retry_after == 60.0
    calls_before = provider.calls
    clock.advance(59)
    with pytest.raises(CircuitOpenError):
        await breaker.call(provider.fetch)
    assert provider.calls == calls_before


@pytest.mark.asyncio
async def test_cancelled_trial_releases_the_slot(breaker: CircuitBreaker, clock: FakeClock) -> None:
    provider = FakeProvider()
    await fail_times(breaker, provider, 5)
    clock.advance(60)
    provider.fail_with = None
    provider.block = True

    trial = asyncio.create_task(breaker.call(provider.fetch))
    await asyncio.sleep(0)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial

    provider.block = False
    assert await breaker.call(provider.fetch) == "ok"
    assert breaker.snapshot().state is BreakerState.CLOSED


@pytest.mark.asyncio
async def test_errors_excluded_by_predicate_do_not_count(clock: FakeClock) -> None:
    breaker = CircuitBreaker(
        "lambda", clock=clock, counts_as_failure=lambda exc: not isinstance(exc, ClientError)
    )
    provider = FakeProvider()
    provider.fail_with = ClientError("401 bad key")

    for _ in range(10):
        with pytest.raises(ClientError):
            await breaker.call(provider.fetch)

    assert breaker.snapshot().state is BreakerState.CLOSED
    assert breaker.snapshot().failure_count == 0


@pytest.mark.asyncio
async def test_excluded_error_during_trial_proves_provider_answers(clock: FakeClock) -> None:
    breaker = CircuitBreaker(
        "lambda", clock=clock, counts_as_failure=lambda exc: not isinstance(exc, ClientError)
    )
    provider = FakeProvider()
    await fail_times(breaker, provider, 5)
    clock.advance(60)
    provider.fail_with = ClientError("404")

    with pytest.raises(ClientError):
        await breaker.call(provider.fetch)

    assert breaker.snapshot().state is BreakerState.CLOSED


@pytest.mark.asyncio
async def test_late_failure_of_call_started_while_closed_does_not_extend_open(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    slow = FakeProvider()
    slow.block = True
    slow.fail_with = ProviderDown("timeout")
    slow_call = asyncio.create_task(breaker.call(slow.fetch))
    await asyncio.sleep(0)

    await fail_times(breaker, FakeProvider(), 5)
    opened_at = breaker.snapshot().opened_at
    clock.advance(10)
    slow.release.set()
    with pytest.raises(ProviderDown):
        await slow_call

    assert breaker.snapshot().opened_at == opened_at
    assert breaker.snapshot().retry_after == 50.0


@pytest.mark.asyncio
async def test_manual_record_failure_and_success(breaker: CircuitBreaker, clock: FakeClock) -> None:
    for _ in range(5):
        await breaker.record_failure()
    assert breaker.snapshot().state is BreakerState.OPEN

    await breaker.record_success()
    assert breaker.snapshot().state is BreakerState.OPEN

    clock.advance(60)
    await breaker.record_success()
    assert breaker.snapshot().state is BreakerState.CLOSED
    assert breaker.snapshot().failure_count == 0


def test_rejects_nonsensical_configuration() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("x", failure_threshold=0)
    with pytest.raises(ValueError, match="recovery_seconds"):
        CircuitBreaker("x", recovery_seconds=0)


@pytest.mark.asyncio
async def test_registry_returns_one_breaker_per_name(clock: FakeClock) -> None:
    registry = BreakerRegistry(failure_threshold=2, clock=clock)
    runpod = registry.get("runpod")

    assert registry.get("runpod") is runpod
    assert runpod.failure_threshold == 2
    registry.get("lambda")
    assert list(registry.all()) == ["lambda", "runpod"]

    await runpod.record_failure()
    await runpod.record_failure()
    assert registry.all()["runpod"].snapshot().state is BreakerState.OPEN
    assert registry.get("lambda").snapshot().state is BreakerState.CLOSED
