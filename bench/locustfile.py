"""The API's realistic read-mostly mix, for Locust (headless), against nginx on loopback.

    bench/load.py starts the stack and runs this file; by hand, against a running stack:
    .venv/bin/locust -f bench/locustfile.py --headless -u 50 -r 25 -t 60s \
        --host http://127.0.0.1:8080

The mix (task weights): the listing with varied filters 60 %, one offer's detail 15 %, its
price history 10 %, the KPI endpoints 10 %, login 5 %. Each simulated user waits 0.5-1.5 s
between requests (a person clicking through the board, not a tight loop).

Inputs, from the environment (bench/load.py sets them):
- `LOAD_OFFER_IDS`: a file with one listed offer id per line (else the first 100 listed offers
  are read from the API when the test starts);
- `LOAD_ACCOUNTS`: a file with `email password` per line of registered users (else login is a
  wrong-password attempt, a 401 counted as such, never as a failure).

Every request is grouped under a stable name (`/api/v2/providers`, `/api/v2/providers/offers/[id]`,
...) so the statistics are per endpoint, not per URL.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

# Filters a person sets on the board: GPU names as people type them, regions, price caps,
# sorts and page sizes. Their combinations repeat, as real traffic's do, so the listing's Redis
# cache (60 s) serves most of them.
GPUS = ["H100", "A100", "RTX 4090", "L40S", "A6000", "H200", "RTX 3090", "V100", "MI300X", "L4"]
REGIONS = ["us", "eu", "us-east", "eu-west", "asia"]
SORTS = ["price", "-price", "gpu_memory", "cost_per_token", "updated"]
PER_PAGE = [20, 20, 20, 50, 100]
KPI_PATHS = [
    ("/api/v2/kpi/overview", "/api/v2/kpi/overview"),
    ("/api/v2/kpi/insights/market", "/api/v2/kpi/insights/market"),
    ("/api/v2/kpi/gpu/H100 SXM", "/api/v2/kpi/gpu/[gpu]"),
    ("/api/v2/kpi/gpu/RTX 4090", "/api/v2/kpi/gpu/[gpu]"),
    ("/api/v2/kpi/provider/vastai", "/api/v2/kpi/provider/[name]"),
    ("/api/v2/kpi/provider/runpod", "/api/v2/kpi/provider/[name]"),
]
WINDOWS = ["24h", "7d", "30d"]

# The login task's weight (of 100); LOAD_LOGIN_WEIGHT=0 runs the reads alone (bench/load.py
# --login-weight), to tell the read path's capacity from the Argon2 hashing's share of the cores.
LOGIN_WEIGHT = int(os.environ.get("LOAD_LOGIN_WEIGHT", "5"))

OFFER_IDS: list[str] = []
ACCOUNTS: list[tuple[str, str]] = []


def _lines(variable: str) -> list[str]:
    path = os.environ.get(variable)
    if not path:
        return []
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


@events.test_start.add_listener
def _load_inputs(environment: Any, **_: Any) -> None:
    """Offer ids and accounts, from the runner's files or (ids) from the API itself."""
    OFFER_IDS[:] = _lines("LOAD_OFFER_IDS")
    ACCOUNTS[:] = [tuple(line.split(" ", 1)) for line in _lines("LOAD_ACCOUNTS")]  # type: ignore[misc]
    if not OFFER_IDS and environment.host:
        import httpx

        body = httpx.get(
            f"{environment.host}/api/v2/providers", params={"per_page": 100}, timeout=30
        ).json()
        OFFER_IDS[:] = [item["id"] for item in body["items"]]


def listing_params(rng: Any) -> dict[str, Any]:
    """One listing query: zero to three filters, a sort, a page size, mostly the first page."""
    params: dict[str, Any] = {"sort": rng.choice(SORTS), "per_page": rng.choice(PER_PAGE)}
    if rng.random() < 0.7:
        params["gpu"] = rng.choice(GPUS)
    if rng.random() < 0.3:
        params["region"] = rng.choice(REGIONS)
    if rng.random() < 0.3:
        params["max_price"] = rng.choice([1, 2, 3, 5, 10, 25])
    if rng.random() < 0.15:
        params["availability"] = "available"
    if rng.random() < 0.2:
        params["page"] = rng.choice([2, 3])
    return params


class BoardVisitor(FastHttpUser):
    """A person using the board and the API: mostly reading, now and then logging in."""

    wait_time = between(0.5, 1.5)

    @task(60)
    def list_offers(self) -> None:
        """The listing with a few filters, as the board sends it."""
        self.client.get(
            "/api/v2/providers", params=listing_params(random), name="/api/v2/providers"
        )

    @task(15)
    def offer_detail(self) -> None:
        """One offer with its KPIs."""
        if OFFER_IDS:
            offer_id = random.choice(OFFER_IDS)
            self.client.get(
                f"/api/v2/providers/offers/{offer_id}", name="/api/v2/providers/offers/[id]"
            )

    @task(10)
    def offer_history(self) -> None:
        """One offer's price history over a window."""
        if OFFER_IDS:
            offer_id = random.choice(OFFER_IDS)
            self.client.get(
                f"/api/v2/providers/offers/{offer_id}/history",
                params={"window": random.choice(WINDOWS)},
                name="/api/v2/providers/offers/[id]/history",
            )

    @task(10)
    def kpis(self) -> None:
        """A KPI page: overview, market insights, one GPU or one provider."""
        path, name = random.choice(KPI_PATHS)
        self.client.get(path, name=name)

    def login(self) -> None:
        """Log in (Argon2 verification: the most expensive request of the mix)."""
        if ACCOUNTS:
            email, password = random.choice(ACCOUNTS)
            self.client.post(
                "/api/v2/auth/login",
                json={"email": email, "password": password},
                name="/api/v2/auth/login",
            )
            return
        with self.client.post(
            "/api/v2/auth/login",
            json={"email": "nobody@example.com", "password": "not the password"},
            name="/api/v2/auth/login (refused)",
            catch_response=True,
        ) as response:
            if response.status_code == 401:
                response.success()


if LOGIN_WEIGHT > 0:
    BoardVisitor.login = task(LOGIN_WEIGHT)(BoardVisitor.login)  # type: ignore[method-assign]
