"""Password hashing: Django's Argon2 hasher, v1 passlib hashes, and a per-process bound.

- v1 stored passlib strings `$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>` in `password_hash`.
  That is argon2's PHC string; Django's Argon2 hasher stores the same string behind an
  `argon2` prefix (`argon2$argon2id$v=19$...`). Django identifies a hasher by the text before the
  first `$`, which is empty for a v1 string, so `django_encoded` adds the prefix before
  verification. A v1 hash always needs an upgrade: the caller rewrites it on a successful login.
- New hashes are argon2id at the cost in settings (`ARGON2_MEMORY_KIB`, `ARGON2_TIME_COST`,
  `ARGON2_PARALLELISM`; defaults 64 MiB, 2 passes, 1 lane, above OWASP's minimum, see
  docs/benchmarks.md "Login"); a stored hash with other parameters still verifies (argon2 reads
  them from the hash) and is rewritten on the next successful login.
- One hash takes one core for its whole duration (argon2-cffi runs the lanes in the calling
  thread). Every hash or verify in the process holds one of `ARGON2_MAX_CONCURRENT_HASHES`
  slots (default: the cores this process may run on); async callers queue on a dedicated
  executor of that size, so a burst of logins waits instead of exhausting memory or cores, and
  never blocks the event loop or Django's thread for sync views. The executor's threads run at
  `ARGON2_THREAD_NICE` (default 10, Linux), so hashing yields the cores to other requests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, make_password

T = TypeVar("T")

logger = logging.getLogger(__name__)

_V1_ARGON2 = re.compile(
    r"^\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$"
)

_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}
_executors: dict[int, ThreadPoolExecutor] = {}


def is_v1_hash(encoded: str) -> bool:
    """Whether a stored password is v1's passlib argon2id string (`$argon2id$v=19$...`)."""
    return bool(_V1_ARGON2.match(encoded or ""))


def django_encoded(encoded: str) -> str:
    """A stored password in the form Django's hashers identify (v1 strings get `argon2`)."""
    return f"argon2{encoded}" if is_v1_hash(encoded) else encoded


def _capacity() -> int:
    return max(1, int(settings.ARGON2_MAX_CONCURRENT_HASHES))


def _semaphore() -> threading.BoundedSemaphore:
    capacity = _capacity()
    with _lock:
        if capacity not in _slots:
            _slots[capacity] = threading.BoundedSemaphore(capacity)
        return _slots[capacity]


def _lower_priority(nice: int) -> None:
    """Raise this thread's niceness by `nice` (Linux: PRIO_PROCESS with a thread id is one thread).

    Lowering one's own priority needs no privilege; where the platform refuses, hashing runs at
    the process's priority and the refusal is logged once per thread.
    """
    if nice <= 0:
        return
    try:
        current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, current + nice))
    except (AttributeError, OSError) as exc:
        logger.warning("argon2 thread priority not lowered: %s", exc)


def _executor() -> ThreadPoolExecutor:
    capacity = _capacity()
    with _lock:
        if capacity not in _executors:
            _executors[capacity] = ThreadPoolExecutor(
                max_workers=capacity,
                thread_name_prefix="argon2",
                initializer=_lower_priority,
                initargs=(int(settings.ARGON2_THREAD_NICE),),
            )
        return _executors[capacity]


def _bounded(fn: Callable[[], T]) -> T:
    with _semaphore():
        return fn()


def password_verify(raw_password: str, encoded: str) -> tuple[bool, bool]:
    """Check `raw_password` against a stored hash: `(is_valid, needs_rehash)`.

    `needs_rehash` is true for v1 hashes and for hashes made with another hasher or other
    parameters than the current first `PASSWORD_HASHERS` entry.
    """
    needs_rehash = is_v1_hash(encoded)
    outdated: list[bool] = []

    def check() -> bool:
        return check_password(
            raw_password, django_encoded(encoded), setter=lambda _raw: outdated.append(True)
        )

    is_valid = _bounded(check)
    return is_valid, is_valid and (needs_rehash or bool(outdated))


def password_make(raw_password: str | None) -> str:
    """Hash with the first configured hasher (Argon2), holding a slot."""
    return _bounded(lambda: make_password(raw_password))


async def apassword_verify(raw_password: str, encoded: str) -> tuple[bool, bool]:
    """`password_verify` in the bounded hashing pool: (is valid, needs rehash)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), password_verify, raw_password, encoded)


async def apassword_make(raw_password: str) -> str:
    """`password_make` in the bounded hashing pool: the encoded hash."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), password_make, raw_password)


class ConfiguredArgon2PasswordHasher(Argon2PasswordHasher):
    """Django's argon2id hasher (same `argon2$` format) at the cost set in settings.

    `ARGON2_MEMORY_KIB` (KiB), `ARGON2_TIME_COST` (passes) and `ARGON2_PARALLELISM` (lanes) are
    read when Django builds its hashers (once per process, again when PASSWORD_HASHERS changes).
    """

    def __init__(self) -> None:
        self.memory_cost = int(settings.ARGON2_MEMORY_KIB)
        self.time_cost = int(settings.ARGON2_TIME_COST)
        self.parallelism = int(settings.ARGON2_PARALLELISM)


class LowCostArgon2PasswordHasher(Argon2PasswordHasher):
    """Same `argon2$` format at a tiny cost: for test settings only, to keep the suite fast.

    Verification always uses the parameters stored in the hash, so v1 hashes in tests are still
    checked at v1's production cost (m=64 MiB, t=3, p=4).
    """

    time_cost = 1
    memory_cost = 1024
    parallelism = 1
