"""`make run`: migrate, load reference data and the demo market, then serve.

    python -m gpubroker.serve [--host 127.0.0.1] [--port 8000] [--no-ingest]

Runs daphne in the foreground and, unless `--no-ingest`, the ingestion loop beside it; Ctrl-C
stops both. Expects DATABASE_URL and REDIS_URL (`python -m gpubroker.embedded` provides them).

The demo market is on unless the environment says `GPUBROKER_DEMO_MARKET=false`: with replayed
providers, every round (`GPUBROKER_DEMO_MARKET_INTERVAL_SECONDS`, 20 s by default) moves a few
offers' prices by a seeded, bounded simulation, and the first load backfills a simulated week of
price history, so the price stream, history and trend have something to show. The banner says
so; no simulated price is ever presented as a provider's.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from gpubroker.malloc import server_environ

# Loaders run at start when their command exists; later ones may depend on earlier ones.
REFERENCE_DATA_COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("load_gpu_specs", ()),
    ("sync_providers", ()),
)


def prepare() -> None:
    """Migrate and load the reference data (GPU specs, the demo market) before serving."""
    import django
    from django.core.management import call_command, get_commands

    django.setup()
    call_command("migrate", interactive=False, verbosity=1)
    available = get_commands()
    for name, args in REFERENCE_DATA_COMMANDS:
        if name in available:
            call_command(name, *args)


#: How long the server may take to listen before `make run` gives up on it (seconds).
LISTEN_TIMEOUT_SECONDS = 60.0


def port_in_use(host: str, port: int) -> bool:
    """Whether something already accepts TCP connections on `host`:`port`."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until_listening(server: subprocess.Popen[bytes], host: str, port: int) -> bool:
    """Wait until `server` accepts connections on `host`:`port` (True) or exits (False).

    Polls every 0.1 s for at most LISTEN_TIMEOUT_SECONDS; False also when that runs out.
    """
    deadline = time.monotonic() + LISTEN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        if port_in_use(host, port):
            return True
        time.sleep(0.1)
    return False


def main(argv: list[str] | None = None) -> int:
    """`make run`: prepare, then run the ingestion loop and daphne until interrupted."""
    parser = argparse.ArgumentParser(description="Migrate, load demo data and serve GPUBROKER.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-ingest", action="store_true", help="do not run the ingestion loop")
    args = parser.parse_args(argv)
    if port_in_use(args.host, args.port):
        print(
            f"GPUBROKER: {args.host}:{args.port} is already in use (another `make run`?);"
            " stop it or choose another port: make run PORT=8001",
            file=sys.stderr,
            flush=True,
        )
        return 1
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpubroker.settings.development")
    # The launcher sets its children's environment: the ingestion loop inherits this.
    os.environ.setdefault("GPUBROKER_DEMO_MARKET", "true")
    prepare()

    from django.conf import settings
    from django.core.management import get_commands

    from apps.providers.services.demo_market import demo_market_from_settings

    is_demo_market = demo_market_from_settings() is not None
    children: list[subprocess.Popen[bytes]] = []

    def on_signal(signum: int, frame: Any) -> None:
        _terminate(children)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    if not args.no_ingest and "sync_providers" in get_commands():
        # Each provider on its cadence (PROVIDER_SYNC_INTERVALS), or every demo round.
        children.append(subprocess.Popen([sys.executable, "manage.py", "sync_providers", "--loop"]))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            # daphne, answering the requests it refuses itself with the envelope.
            "gpubroker.httpserver",
            # Our middleware writes one JSON line per request; daphne's own access log would
            # duplicate it in another format.
            "-v",
            "0",
            "-b",
            args.host,
            "-p",
            str(args.port),
            "gpubroker.asgi:application",
        ],
        env=server_environ(os.environ),
    )
    children.append(server)
    if not wait_until_listening(server, args.host, args.port):
        print(f"GPUBROKER: no server listening on {args.host}:{args.port}", file=sys.stderr)
        _stop(children)
        return 1
    # Said once the port answers, so the address printed can be opened straight away.
    print(f"GPUBROKER serving on http://{args.host}:{args.port}/ (docs: /api/v2/docs)", flush=True)
    print(
        f"Operators' console: http://{args.host}:{args.port}/admin/ (create the first operator"
        ' with `make manage ARGS="createsuperuser"` in another terminal)',
        flush=True,
    )
    if is_demo_market:
        print(
            "Demo market: prices are SIMULATED drift over recorded provider responses (replay"
            f" mode), a new round every {settings.GPUBROKER_DEMO_MARKET_INTERVAL_SECONDS} s;"
            " the past week's price history is simulated too. Live price stream:"
            f" ws://{args.host}:{args.port}/ws/ (GPUBROKER_DEMO_MARKET=false turns this off).",
            flush=True,
        )

    status = server.wait()
    _stop(children)
    return status


def _terminate(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    _terminate(children)
    for child in children:
        child.wait()


if __name__ == "__main__":
    sys.exit(main())
