"""A real Prometheus (Debian's package) scrapes a running daphne and evaluates the alert rules.

Prometheus listens on 127.0.0.1, keeps its storage in the test's temporary directory, scrapes
every second and is stopped at the end; every wait below is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from django.utils import timezone

from apps.providers.models import GPUOffer, Provider
from gpubroker.testing.processes import daphne_server
from gpubroker.tests.deploy.servers import PROMETHEUS_DIR, PrometheusServer, prometheus_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.requires_system_tool("prometheus"),
    # The server process reads the provider rows this test commits.
    pytest.mark.django_db(transaction=True),
]

ALERT_RULES = PROMETHEUS_DIR / "alerts.yml"

# Series a running server must get into Prometheus, as PromQL selectors: django-prometheus'
# request counter, and business metrics (docs/operations.md) of both kinds: counted in the
# process (the listing cache, the stream's relay) and read from PostgreSQL at scrape time (the
# provider's breaker and offers).
SCRAPED_SERIES = (
    'up{job="gpubroker-web"}',
    'django_http_requests_total_by_method_total{job="gpubroker-web", method="GET"}',
    'gpubroker_listing_cache_requests_total{job="gpubroker-web", result="miss"}',
    'gpubroker_listing_cache_requests_total{job="gpubroker-web", result="hit"}',
    'gpubroker_websocket_relay_up{job="gpubroker-web"}',
    'gpubroker_provider_breaker_state{job="gpubroker-web", provider="promtest"}',
    'gpubroker_offers{job="gpubroker-web", provider="promtest", availability="available"}',
)

WAIT_SECONDS = 30.0


def wait_for(description: str, probe: Callable[[], Any]) -> Any:
    """`probe()` until it returns something truthy, for at most WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{description}: nothing after {WAIT_SECONDS} s")
        time.sleep(0.25)


def alert_names() -> set[str]:
    groups = yaml.safe_load(ALERT_RULES.read_text())["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"]}


def loaded_rules(prometheus: PrometheusServer) -> list[dict[str, Any]]:
    response = httpx.get(f"{prometheus.base_url}/api/v1/rules")
    response.raise_for_status()
    return [rule for group in response.json()["data"]["groups"] for rule in group["rules"]]


def rules_evaluated(prometheus: PrometheusServer) -> list[dict[str, Any]] | None:
    """The loaded rules once each has been evaluated (health `ok` or `err`), else None."""
    rules = loaded_rules(prometheus)
    return rules if rules and all(rule["health"] != "unknown" for rule in rules) else None


def _market_with_an_open_breaker() -> None:
    provider = Provider.objects.create(
        name="promtest",
        display_name="Prometheus test",
        breaker_state="open",
        breaker_open_until=timezone.now() + timedelta(hours=1),
    )
    for index in range(2):
        GPUOffer.objects.create(
            provider=provider,
            external_id=f"promtest-{index}",
            gpu_type="H100 80GB",
            gpu_model="H100 SXM",
            gpu_name_raw="H100 80GB",
            gpu_memory_gb=80,
            price_per_hour=Decimal("2.0000"),
            region="us-east",
        )


def test_prometheus_scrapes_a_running_server_and_evaluates_the_alerts(tmp_path: Path) -> None:
    _market_with_an_open_breaker()
    with daphne_server(tmp_path) as server:
        for _ in range(3):
            assert httpx.get(f"{server.base_url}/api/v2/ping").status_code == 200
        # The same listing twice: a miss, then a hit.
        for _ in range(2):
            listing = httpx.get(f"{server.base_url}/api/v2/providers?provider=promtest")
            assert listing.status_code == 200
            assert listing.json()["total"] == 2
        target = f"127.0.0.1:{server.port}"
        with prometheus_server(
            tmp_path / "prometheus", targets=[target], rule_files=[ALERT_RULES]
        ) as prometheus:
            found = {
                selector: wait_for(selector, lambda s=selector: prometheus.query(s))
                for selector in SCRAPED_SERIES
            }
            # Every rule has been evaluated at least once, without an evaluation error.
            rules = wait_for("alert rules evaluated", lambda: rules_evaluated(prometheus))

    for selector, samples in found.items():
        assert [sample["metric"]["instance"] for sample in samples] == [target], selector
    assert found['up{job="gpubroker-web"}'][0]["value"][1] == "1"
    assert float(found[SCRAPED_SERIES[1]][0]["value"][1]) >= 3

    def value(selector: str) -> float:
        return float(found[selector][0]["value"][1])

    assert value(SCRAPED_SERIES[2]) == 1  # miss
    assert value(SCRAPED_SERIES[3]) == 1  # hit
    assert value(SCRAPED_SERIES[4]) == 0  # no socket yet, so no relay
    assert value(SCRAPED_SERIES[5]) == 2  # open
    assert value(SCRAPED_SERIES[6]) == 2
    assert {rule["name"] for rule in rules} == alert_names()
    assert [
        (rule["name"], rule.get("lastError", "")) for rule in rules if rule["health"] != "ok"
    ] == []
