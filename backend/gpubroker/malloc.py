"""glibc's allocator settings for the server processes: huge pages for large blocks.

A login verifies an argon2id hash whose working memory (`ARGON2_MEMORY_KIB`, 64 MiB) argon2's C
code takes from malloc. glibc maps a block that large afresh each time (it is above glibc's
32 MiB ceiling for keeping freed blocks), and the kernel then faults it in one 4 KiB page at a
time: 16,385 page faults and 30 to 55 ms of kernel time per hash on the 2-vCPU machine of
docs/benchmarks.md ("Login"), a third of the hash's ~150 ms of CPU. With glibc's tunable
`glibc.malloc.hugetlb=1` (glibc ≥ 2.35), malloc asks for transparent huge pages on such
mappings (`madvise`), and where the kernel allows them (`/sys/kernel/mm/transparent_hugepage/
enabled` is `madvise` or `always`) the same hash takes 33 to 544 faults and ~10 ms of kernel time.
The hash's parameters, result and memory use are unchanged; where the kernel says `never`, or
the C library is not glibc, the variable is ignored.

Tunables are read once when a process starts, so the launchers put the variable in the server's
environment: `make run` (gpubroker.serve), the suite's and benches' servers
(gpubroker.testing.processes) and the container image (Dockerfile `ENV`, which compose and
Kubernetes inherit). A `GLIBC_TUNABLES` that already sets `glibc.malloc.hugetlb` is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

#: glibc's tunable: malloc madvises transparent huge pages for the blocks it maps.
HUGETLB_TUNABLE = "glibc.malloc.hugetlb=1"


def server_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` for a server process, `GLIBC_TUNABLES` asking malloc for huge pages.

    Other tunables in `GLIBC_TUNABLES` (colon-separated `name=value` pairs) are kept, and an
    operator's own `glibc.malloc.hugetlb` value (0 turns it off) wins.
    """
    env = dict(environ)
    tunables = [part for part in env.get("GLIBC_TUNABLES", "").split(":") if part]
    if not any(part.split("=", 1)[0] == "glibc.malloc.hugetlb" for part in tunables):
        env["GLIBC_TUNABLES"] = ":".join([*tunables, HUGETLB_TUNABLE])
    return env
