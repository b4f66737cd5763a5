"""glibc's huge-page tunable for the server processes (gpubroker.malloc)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpubroker.malloc import HUGETLB_TUNABLE, server_environ

# One argon2id hash at the settings' default cost (64 MiB, 2 passes, 1 lane) after a warm-up,
# printing the page faults the process took during it.
_HASH_FAULTS = """
import resource, argon2
hasher = argon2.PasswordHasher(memory_cost=64 * 1024, time_cost=2, parallelism=1)
encoded = hasher.hash("correct horse")
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
hasher.verify(encoded, "correct horse")
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_server_environ_adds_the_tunable() -> None:
    env = server_environ({"PATH": "/bin"})
    assert env == {"PATH": "/bin", "GLIBC_TUNABLES": HUGETLB_TUNABLE}


def test_server_environ_keeps_other_tunables() -> None:
    env = server_environ({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"})
    assert env["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{HUGETLB_TUNABLE}"


def test_an_operators_own_hugetlb_value_wins() -> None:
    environ = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0:glibc.malloc.arena_max=2"}
    assert server_environ(environ) == environ


def test_server_environ_leaves_its_argument_alone() -> None:
    environ = {"GLIBC_TUNABLES": ""}
    assert server_environ(environ)["GLIBC_TUNABLES"] == HUGETLB_TUNABLE
    assert environ == {"GLIBC_TUNABLES": ""}


def _hash_faults(tunables: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", _HASH_FAULTS],
        env={**os.environ, "GLIBC_TUNABLES": tunables},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(result.stdout)


def test_the_tunable_takes_argon2s_memory_in_huge_pages() -> None:
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not thp.exists() or "[never]" in thp.read_text():
        pytest.skip("the kernel gives no transparent huge pages here, so the tunable cannot act")
    without = _hash_faults("glibc.malloc.hugetlb=0")
    with_tunable = _hash_faults(server_environ({})["GLIBC_TUNABLES"])
    # 64 MiB in 4 KiB pages is 16,384 faults; in 2 MiB pages, 32 (plus whatever else runs).
    assert without >= 16_384
    assert with_tunable < without // 8
