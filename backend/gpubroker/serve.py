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
import subprocess
import sys
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


def main(argv: list[str] | None = None) -> int:
    """`make run`: prepare, then run the ingestion loop and daphne until interrupted."""
    parser = argparse.ArgumentParser(description="Migrate, load demo data and serve GPUBROKER.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-ingest", action="store_true", help="do not run the ingestion loop")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpubroker.settings.development")
    # The launcher sets its children's environment: the ingestion loop inherits this.
    os.environ.setdefault("GPUBROKER_DEMO_MARKET", "true")
    prepare()

    from django.conf import settings
    from django.core.management import get_commands

    from apps.providers.services.demo_market import demo_market_from_settings

    is_demo_market = demo_market_from_settings() is not None
    children: list[subprocess.Popen[bytes]] = []
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

    def stop(signum: int, frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = server.wait()
    stop(signal.SIGTERM, None)
    for child in children:
        child.wait()
    return status


if __name__ == "__main__":
    sys.exit(main())
