"""`make screenshots`: regenerate docs/img/board.png from the board on the replayed demo market.

    .venv/bin/python -m gpubroker.embedded --instance screenshots -- \
        .venv/bin/python -P bench/board_screenshots.py [--output docs/img/board.png]

Not a benchmark; it lives beside bench/board.py and shares its set-up: a dedicated database
(`gpubroker_screenshots`, dropped and recreated on DATABASE_URL's server) with the demo market
loaded, a daphne on a free loopback port, and Debian's Chromium at 1366x768. One price update is
published for a visible offer just before the shot, so the picture shows a live change.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import tempfile  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from bench import _django  # noqa: E402

DATABASE = "gpubroker_screenshots"
VIEW = "/?gpu=H100&gpu_count_min=2"


def main() -> None:
    """Load the demo market, serve it, and write the screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(_django.REPO / "docs" / "img" / "board.png"))
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("set REDIS_URL (or run via `python -m gpubroker.embedded --`)")
    url = _django.setup(DATABASE)

    import redis

    from apps.providers.events import PRICE_UPDATES_CHANNEL, PriceUpdate
    from gpubroker.testing.browser import DESKTOP, chromium
    from gpubroker.testing.market import demo_market_load
    from gpubroker.testing.processes import daphne_server

    demo_market_load()
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as logs,
        daphne_server(Path(logs), env={"DATABASE_URL": url, "LOG_LEVEL": "WARNING"}) as server,
        chromium(viewport=DESKTOP) as context,
    ):
        page = context.new_page()
        page.goto(server.base_url + VIEW)
        page.wait_for_selector('[data-ws-state="live"]', timeout=15_000)
        row = page.locator("tr[data-offer-id]").nth(2)
        cell = row.locator('[data-field="price_per_hour"]')
        price = float(cell.get_attribute("data-value") or 0)
        update = PriceUpdate(
            offer_id=row.get_attribute("data-offer-id") or "",
            provider=row.get_attribute("data-provider") or "",
            gpu=row.get_attribute("data-gpu") or "",
            region="demo",
            old_price=price,
            new_price=round(price * 0.93, 4),
            availability_status="available",
            timestamp=datetime.now(UTC).isoformat(),
        )
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        client.publish(PRICE_UPDATES_CHANNEL, update.to_json())
        client.close()
        page.wait_for_selector(
            f'tr[data-offer-id="{update.offer_id}"] [data-field="price_per_hour"].flash-down'
        )
        page.wait_for_timeout(250)
        page.screenshot(path=str(output))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
