"""Password hashing: v1 format recognition and the per-process bound on concurrent hashes."""

from __future__ import annotations

import asyncio
import threading
import time

import argon2
import pytest
from django.test import override_settings

from apps.auth_app import hashers


def test_v1_hash_is_recognised_and_prefixed() -> None:
    v1 = argon2.PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("pw-v1")
    assert hashers.is_v1_hash(v1)
    assert hashers.django_encoded(v1) == "argon2" + v1
    assert hashers.password_verify("pw-v1", v1) == (True, True)
    assert hashers.password_verify("wrong", v1) == (False, False)


def test_django_hash_is_left_alone() -> None:
    encoded = hashers.password_make("a fine password")
    assert encoded.startswith("argon2$argon2id$")
    assert not hashers.is_v1_hash(encoded)
    assert hashers.password_verify("a fine password", encoded) == (True, False)


def test_production_params_are_argon2id_at_least_owasps_minimum() -> None:
    from django.contrib.auth.hashers import Argon2PasswordHasher

    from gpubroker.settings import base

    assert base.PASSWORD_HASHERS[0] == "apps.auth_app.hashers.ConfiguredArgon2PasswordHasher"
    assert hashers.LowCostArgon2PasswordHasher.algorithm == Argon2PasswordHasher.algorithm
    with override_settings(
        ARGON2_MEMORY_KIB=base.ARGON2_MEMORY_KIB,
        ARGON2_TIME_COST=base.ARGON2_TIME_COST,
        ARGON2_PARALLELISM=base.ARGON2_PARALLELISM,
    ):
        params = hashers.ConfiguredArgon2PasswordHasher().params()
    # OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 at least.
    assert params.type.name == "ID"
    assert (params.memory_cost, params.time_cost, params.parallelism) == (65536, 2, 1)
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2


@override_settings(
    PASSWORD_HASHERS=[
        "apps.auth_app.hashers.ConfiguredArgon2PasswordHasher",
        "apps.auth_app.hashers.LowCostArgon2PasswordHasher",
    ],
    ARGON2_MEMORY_KIB=2048,
    ARGON2_TIME_COST=2,
    ARGON2_PARALLELISM=1,
)
def test_configured_hasher_rehashes_other_parameters() -> None:
    old = hashers.LowCostArgon2PasswordHasher().encode("a fine password", "saltsaltsalt")
    assert "$m=1024,t=1,p=1$" in old

    assert hashers.password_verify("a fine password", old) == (True, True)
    new = hashers.password_make("a fine password")
    assert "$m=2048,t=2,p=1$" in new
    assert hashers.password_verify("a fine password", new) == (True, False)


@pytest.mark.asyncio
@override_settings(ARGON2_MAX_CONCURRENT_HASHES=2)
async def test_concurrent_hashes_are_bounded(monkeypatch) -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def slow_make_password(raw: str | None) -> str:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.05)
        with lock:
            in_flight -= 1
        return "argon2$fake"

    monkeypatch.setattr(hashers, "make_password", slow_make_password)
    results = await asyncio.gather(*(hashers.apassword_make(f"pw{n}") for n in range(8)))
    assert results == ["argon2$fake"] * 8
    assert peak == 2


@pytest.mark.asyncio
@override_settings(ARGON2_MAX_CONCURRENT_HASHES=3, ARGON2_THREAD_NICE=7)
async def test_hashing_threads_run_at_a_lower_priority_than_request_threads() -> None:
    import os

    def own_nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    base = own_nice()
    loop = asyncio.get_running_loop()
    in_pool = await loop.run_in_executor(hashers._executor(), own_nice)
    assert in_pool == min(19, base + 7)
    # The event loop's thread, and so every request thread it starts, keeps its priority.
    assert own_nice() == base
    assert await hashers.apassword_verify("pw", await hashers.apassword_make("pw")) == (True, False)
