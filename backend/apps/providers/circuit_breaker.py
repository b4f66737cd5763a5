"""Asyncio-native circuit breaker for provider adapters.

Framework-free on purpose: ingestion, the status endpoint and tests share it without Django.
pybreaker is not an option because it serialises every call behind one lock and has no
asyncio support; here the lock guards only state transitions, never the awaited call, so
concurrent calls to a healthy provider run in parallel.

States and contract (defaults match issue 4):

* ``closed``: calls pass. A call that raises an exception for which ``counts_as_failure``
  is true adds a failure timestamp; ``failure_threshold`` failures inside the rolling
  ``window_seconds`` open the breaker. Successes do not erase earlier failures: the rule is
  "N failures within the window", so a provider failing every other call still trips.
* ``open``: calls fail fast with :class:`CircuitOpenError` (carrying ``retry_after``) and the
  wrapped function is not called. After ``recovery_seconds`` the breaker becomes half-open.
* ``half_open``: exactly one trial call is admitted; concurrent callers fail fast while it
  runs. Trial success closes the breaker and clears the failure history; trial failure
  re-opens it for another ``recovery_seconds``. A trial that ends in an exception excluded
  by ``counts_as_failure`` (say a 4xx) proves the provider answered, so it closes the
  breaker. A cancelled trial releases the slot and the next caller becomes the trial.

Time comes from an injected monotonic ``clock`` so tests never sleep.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import ParamSpec, TypeVar

__all__ = [
    "BreakerRegistry",
    "BreakerSnapshot",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "default_registry",
]

P = ParamSpec("P")
T = TypeVar("T")


class BreakerState(StrEnum):
    """A circuit breaker's state, mirrored to `Provider.breaker_state`."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(Exception):
    """Raised instead of calling the provider while its breaker is open or probing.

    ``retry_after`` is the number of seconds until a trial call will be admitted; it is 0.0
    when a trial is already in flight (the outcome is pending, not scheduled).
    """

    def __init__(self, name: str, state: BreakerState, retry_after: float) -> None:
        self.name = name
        self.state = state
        self.retry_after = retry_after
        super().__init__(f"circuit {name!r} is {state.value}; retry after {retry_after:.1f}s")


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """Read-only view for status endpoints and logs.

    ``opened_at`` is on the breaker's clock (``time.monotonic`` by default), so it is only
    meaningful relative to other readings of that clock; use ``retry_after`` for display.
    ``state`` is the effective state: an open breaker whose recovery time has passed reports
    ``half_open`` because the next call will be the trial.
    """

    name: str
    state: BreakerState
    failure_count: int
    opened_at: float | None
    retry_after: float


def _every_exception_counts(_exc: Exception) -> bool:
    return True


class CircuitBreaker:
    """Per-provider breaker; see the module docstring for the state machine."""

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        window_seconds: float = 30.0,
        recovery_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        counts_as_failure: Callable[[Exception], bool] = _every_exception_counts,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if window_seconds <= 0 or recovery_seconds <= 0:
            raise ValueError("window_seconds and recovery_seconds must be > 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.window_seconds = window_seconds
        self.recovery_seconds = recovery_seconds
        self._clock = clock
        self._counts_as_failure = counts_as_failure
        self._state = BreakerState.CLOSED
        self._failures: deque[float] = deque()
        self._opened_at: float | None = None
        # Identity of the admitted half-open trial; None when no trial is running.
        self._trial: object | None = None
        # Guards transitions only. No critical section awaits, so the lock is never
        # contended and never binds to an event loop; it keeps the invariant explicit and
        # stays correct if a transition ever needs to await (e.g. shared state in Redis).
        self._lock = asyncio.Lock()

    # -- public API -------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """Effective state at the current clock reading (see :class:`BreakerSnapshot`)."""
        return self._effective_state(self._clock())

    async def call(
        self, coro_fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Await ``coro_fn(*args, **kwargs)`` through the breaker.

        Raises :class:`CircuitOpenError` without calling ``coro_fn`` while open, or while
        another caller holds the half-open trial. Otherwise returns the result or re-raises
        the function's exception unchanged after recording the outcome.
        """
        async with self._lock:
            trial = self._admit(self._clock())
        try:
            result = await coro_fn(*args, **kwargs)
        except Exception as exc:
            async with self._lock:
                if self._counts_as_failure(exc):
                    self._on_failure(trial, self._clock())
                else:
                    self._on_success(trial)
            raise
        except BaseException:
            # Cancellation or interpreter exit says nothing about the provider's health.
            async with self._lock:
                self._release_trial(trial)
            raise
        async with self._lock:
            self._on_success(trial)
        return result

    async def record_success(self) -> None:
        """Record a success observed outside :meth:`call`.

        In half-open (or open past its recovery time) this closes the breaker, as a trial
        success would; in closed it changes nothing.
        """
        async with self._lock:
            if self._effective_state(self._clock()) is BreakerState.HALF_OPEN:
                self._close()

    async def record_failure(self) -> None:
        """Record a failure observed outside :meth:`call`.

        Closed: counts towards the threshold. Half-open (or open past recovery): re-opens.
        Open within recovery: ignored, so a burst of late failures cannot extend the wait.
        """
        async with self._lock:
            now = self._clock()
            state = self._effective_state(now)
            if state is BreakerState.CLOSED:
                self._add_failure(now)
            elif state is BreakerState.HALF_OPEN:
                self._open(now)

    def snapshot(self) -> BreakerSnapshot:
        """Consistent read of the breaker; never blocks and never changes state."""
        now = self._clock()
        state = self._effective_state(now)
        if state is BreakerState.CLOSED:
            failure_count = sum(1 for at in self._failures if at > now - self.window_seconds)
        else:
            failure_count = len(self._failures)
        return BreakerSnapshot(
            name=self.name,
            state=state,
            failure_count=failure_count,
            opened_at=self._opened_at,
            retry_after=self._retry_after(now),
        )

    # -- transitions (callers hold self._lock; none of them awaits) ----------------------

    def _effective_state(self, now: float) -> BreakerState:
        if self._state is BreakerState.OPEN and self._recovery_elapsed(now):
            return BreakerState.HALF_OPEN
        return self._state

    def _recovery_elapsed(self, now: float) -> bool:
        return self._opened_at is not None and now >= self._opened_at + self.recovery_seconds

    def _retry_after(self, now: float) -> float:
        if self._state is BreakerState.OPEN and self._opened_at is not None:
            return max(0.0, self._opened_at + self.recovery_seconds - now)
        return 0.0

    def _admit(self, now: float) -> object | None:
        """Return None for an ordinary call, a trial token for the half-open probe."""
        state = self._effective_state(now)
        if state is BreakerState.CLOSED:
            return None
        if state is BreakerState.HALF_OPEN and self._trial is None:
            self._state = BreakerState.HALF_OPEN
            self._trial = object()
            return self._trial
        raise CircuitOpenError(self.name, state, self._retry_after(now))

    def _on_success(self, trial: object | None) -> None:
        if trial is not None and trial is self._trial:
            self._close()
        # A success from a call admitted while closed changes nothing: failures expire
        # with the window, and if the breaker opened meanwhile a stale success is no proof.

    def _on_failure(self, trial: object | None, now: float) -> None:
        if trial is not None:
            if trial is self._trial:
                self._open(now)
            return
        # Only count failures while still closed: calls started before the breaker opened
        # must not push the recovery time further out.
        if self._state is BreakerState.CLOSED:
            self._add_failure(now)

    def _release_trial(self, trial: object | None) -> None:
        if trial is not None and trial is self._trial:
            self._trial = None

    def _add_failure(self, now: float) -> None:
        self._failures.append(now)
        horizon = now - self.window_seconds
        while self._failures and self._failures[0] <= horizon:
            self._failures.popleft()
        if len(self._failures) >= self.failure_threshold:
            self._open(now)

    def _open(self, now: float) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = now
        self._trial = None

    def _close(self) -> None:
        self._state = BreakerState.CLOSED
        self._opened_at = None
        self._trial = None
        self._failures.clear()


class BreakerRegistry:
    """Per-process map of breaker name (usually the provider name) to breaker.

    ``get`` creates a breaker with the registry's defaults on first use, so ingestion and
    the status endpoint see the same instance. A threading lock guards creation because
    Django may serve sync and async code from several threads in one process.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        window_seconds: float = 30.0,
        recovery_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        counts_as_failure: Callable[[Exception], bool] = _every_exception_counts,
    ) -> None:
        self._failure_threshold = failure_threshold
        self._window_seconds = window_seconds
        self._recovery_seconds = recovery_seconds
        self._clock = clock
        self._counts_as_failure = counts_as_failure
        self._breakers: dict[str, CircuitBreaker] = {}
        self._create_lock = threading.Lock()

    def get(self, name: str) -> CircuitBreaker:
        """Return the breaker for ``name``, creating it with the registry defaults."""
        breaker = self._breakers.get(name)
        if breaker is not None:
            return breaker
        with self._create_lock:
            breaker = self._breakers.get(name)
            if breaker is None:
                breaker = CircuitBreaker(
                    name,
                    failure_threshold=self._failure_threshold,
                    window_seconds=self._window_seconds,
                    recovery_seconds=self._recovery_seconds,
                    clock=self._clock,
                    counts_as_failure=self._counts_as_failure,
                )
                self._breakers[name] = breaker
            return breaker

    def all(self) -> dict[str, CircuitBreaker]:
        """A copy of the registered breakers, sorted by name."""
        with self._create_lock:
            return dict(sorted(self._breakers.items()))


default_registry = BreakerRegistry()
