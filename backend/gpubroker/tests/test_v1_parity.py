"""v1 parity: every v1 endpoint (shared/V1-CONTRACT.md) called on v2 as a v1 client calls it.

Each row of `ENDPOINTS` is one v1 endpoint: the request a v1 client sends (same body and
query, under `/api/v2/`), the keys and JSON types that client reads from the answer (from the
v1 contract), and the parity this suite claims. The test makes each request through the
whole Django stack on replayed provider data and computes the parity:

- `same`: every v1 key with its type, nothing more;
- `compatible superset`: every v1 key with its type, plus v2's own keys;
- `intentional difference`: the endpoint is gone or moved, needs a token v1 did not ask
  for, refuses a v1 input, or a v1 key is missing or has another type. Each such endpoint
  has a row in docs/migration.md's "v1 endpoints in v2" table, naming every such key.

The computed table must equal the claimed one, the table in docs/verification.md must equal
it too, and the session prints it (`pytest_terminal_summary` in this directory's conftest).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client, override_settings

from apps.gpus.services import gpu_specs_load
from apps.providers.services.sync import providers_sync_all
from apps.websocket_gateway.relay import current_relay
from gpubroker.asgi import application

REPO_DIR = Path(__file__).resolve().parents[3]
MIGRATION_DOC = REPO_DIR / "docs" / "migration.md"
VERIFICATION_DOC = REPO_DIR / "docs" / "verification.md"

SAME = "same"
SUPERSET = "compatible superset"
DIFFERENT = "intentional difference"

NONE = type(None)
NUM = (int, float)
OPT_NUM = (int, float, NONE)
OPT_STR = (str, NONE)

# Shapes: {key: type | tuple of types | nested shape}; [shape] is a list whose items have
# that shape; `list` / `dict` alone accept any items.
USER = {
    "id": str,
    "email": str,
    "full_name": str,
    "organization": OPT_STR,
    "is_active": bool,
    "created_at": str,
}
PROVIDER_ITEM = {
    "id": str,
    "provider": str,
    "name": str,
    "gpu": str,
    "gpu_memory_gb": int,
    "price_per_hour": NUM,
    "currency": OPT_STR,
    "availability": str,
    "region": str,
    "tags": list,
    "last_updated": str,
}
PROVIDER_LIST = {"total": int, "items": [PROVIDER_ITEM], "warnings": (list, NONE)}
MARKET_OFFER = {"price_per_hour": str, "gpu_type": str, "region": str, "provider": str}
TOPSIS_BODY = {
    "decision_matrix": [[2.5, 80, 0.99], [1.2, 24, 0.95], [3.9, 80, 0.999]],
    "weights": [0.5, 0.3, 0.2],
    "criteria_types": ["cost", "benefit", "benefit"],
}
V1_OFFERS = [
    {"id": "vastai:1:us", "provider": "vastai", "gpu_type": "RTX 3090", "price_per_hour": 0.3},
    {"id": "runpod:2:eu", "provider": "runpod", "gpu_type": "RTX 4090", "price_per_hour": 0.7},
]
PRICES = [
    {"timestamp": f"2025-01-01T{hour:02d}:00:00Z", "price": 2 + hour / 100} for hour in range(24)
]


@dataclass(frozen=True)
class Endpoint:
    """One v1 endpoint and how a v1 client calls it.

    `path` is v2's path for the same request (None: v2 has no such endpoint); `token`: v2
    needs an access token where v1 needed none (the request is made without one first, which
    must be a 401, then with one to read the shape); `shape` None: not JSON (compared by
    content type) or not defined by v1 (passed through from another service).
    """

    v1: str
    method: str
    path: str | None
    claimed: str
    shape: Any = None
    body: Any = None
    query: dict[str, Any] = field(default_factory=dict)
    bearer: bool = False
    token: bool = False
    status: int = 200
    content_type: str = "application/json"
    instead: str = "-"


ENDPOINTS: list[Endpoint] = [
    # auth-service
    Endpoint(
        "POST /auth/register",
        "POST",
        "/auth/register",
        SAME,
        USER,
        body={"email": "v1@example.com", "password": "v1 parity password 7", "full_name": "V"},
        status=201,
    ),
    Endpoint(
        "POST /auth/login",
        "POST",
        "/auth/login",
        SUPERSET,
        {"access_token": str, "refresh_token": str, "token_type": str},
        body={"email": "parity@example.com", "password": "v1 parity password 1"},
    ),
    Endpoint("GET /auth/me", "GET", "/auth/me", SUPERSET, USER, bearer=True),
    Endpoint("GET /auth/health", "GET", None, DIFFERENT, instead="GET /health"),
    # provider-service
    Endpoint("GET / (provider-service)", "GET", None, DIFFERENT, instead="GET /api/v2/ping"),
    Endpoint(
        "GET /health (provider-service)",
        "GET",
        "/health",
        DIFFERENT,
        {"status": str, "providers": list, "timestamp": str},
    ),
    Endpoint(
        "GET /metrics",
        "GET",
        "/metrics",
        SAME,
        content_type="text/plain",
    ),
    Endpoint(
        "POST /config/integrations",
        "POST",
        "/config/integrations",
        DIFFERENT,
        {"status": str, "provider": str},
        body={"provider": "runpod", "api_key": "rp-parity-key-0001"},
        token=True,
    ),
    Endpoint(
        "GET /config/integrations",
        "GET",
        "/config/integrations",
        DIFFERENT,
        [{"provider": str, "status": str, "message": OPT_STR, "last_checked": OPT_STR}],
        token=True,
    ),
    Endpoint("GET /providers", "GET", "/providers", DIFFERENT, PROVIDER_LIST),
    Endpoint(
        "GET /providers?gpu=&region=&max_price=",
        "GET",
        "/providers",
        DIFFERENT,
        PROVIDER_LIST,
        query={"gpu": "RTX 4090", "region": "us", "max_price": 5},
    ),
    Endpoint(
        "GET /providers?gpu_type=&provider=&availability=",
        "GET",
        "/providers",
        DIFFERENT,
        PROVIDER_LIST,
        query={"gpu_type": "A100", "provider": "vastai", "availability": "available"},
    ),
    Endpoint(
        "GET /providers?availability=AVAILABLE",
        "GET",
        "/providers",
        DIFFERENT,
        PROVIDER_LIST,
        query={"availability": "AVAILABLE"},
    ),
    Endpoint(
        "GET /providers?gpu_memory_min=&gpu_memory_max=&price_min=&page=&per_page=",
        "GET",
        "/providers",
        DIFFERENT,
        PROVIDER_LIST,
        query={
            "gpu_memory_min": 24,
            "gpu_memory_max": 80,
            "price_min": 0.2,
            "page": 2,
            "per_page": 10,
        },
    ),
    Endpoint(
        "GET /providers?per_page=25",
        "GET",
        "/providers",
        DIFFERENT,
        PROVIDER_LIST,
        query={"per_page": 25},
    ),
    Endpoint(
        "GET /providers?availability=busy",
        "GET",
        "/providers",
        DIFFERENT,
        PROVIDER_LIST,
        query={"availability": "busy"},
    ),
    # kpi-service
    Endpoint("GET /kpi/", "GET", None, DIFFERENT, instead="GET /api/v2/ping"),
    Endpoint(
        "GET /kpi/overview",
        "GET",
        "/kpi/overview",
        SUPERSET,
        {
            "cost_per_token": OPT_NUM,
            "uptime_pct": OPT_NUM,
            "avg_latency_ms": OPT_NUM,
            "active_providers": int,
        },
    ),
    Endpoint(
        "GET /kpi/kpis/gpu/{gpu_type}",
        "GET",
        "/kpi/gpu/RTX 4090",
        DIFFERENT,
        {
            "gpu_type": str,
            "provider": str,
            "avg_price_per_hour": NUM,
            "cost_per_token": OPT_NUM,
            "cost_per_gflop": OPT_NUM,
            "availability_score": NONE,
            "reliability_score": NONE,
            "performance_score": NONE,
            "region": str,
            "last_updated": str,
        },
    ),
    Endpoint(
        "GET /kpi/kpis/provider/{name}",
        "GET",
        "/kpi/provider/vastai",
        DIFFERENT,
        {
            "provider": str,
            "total_offers": int,
            "avg_price_per_hour": NUM,
            "price_volatility": NUM,
            "uptime_percentage": OPT_NUM,
            "response_time_ms": OPT_NUM,
            "customer_satisfaction": NONE,
            "cost_efficiency_score": NUM,
            "reliability_index": NUM,
        },
    ),
    Endpoint(
        "GET /kpi/insights/market",
        "GET",
        "/kpi/insights/market",
        DIFFERENT,
        {
            "total_providers": int,
            "total_offers": int,
            "cheapest_gpu_offer": MARKET_OFFER,
            "most_expensive_gpu_offer": MARKET_OFFER,
            "avg_market_price": NUM,
            "price_trend_7d": NUM,
            "demand_hotspots": list,
            "supply_constraints": list,
            "generated_at": str,
        },
    ),
    Endpoint(
        "POST /kpi/optimize/workload",
        "POST",
        None,
        DIFFERENT,
        instead="POST /api/v2/math/estimate-workload",
    ),
    Endpoint("GET /kpi/health", "GET", None, DIFFERENT, instead="GET /health"),
    # math-core
    Endpoint(
        "POST /math/cost-per-token",
        "POST",
        "/math/cost-per-token",
        DIFFERENT,
        {
            "cost_per_token": NUM,
            "cost_per_million_tokens": NUM,
            "tokens_per_second": int,
            "confidence": NUM,
            "calculation_details": {
                "price_per_hour": NUM,
                "gpu_type": str,
                "model_size": str,
                "tokens_per_hour": NUM,
                "formula": str,
            },
        },
        body={"price_per_hour": 0.7, "gpu_type": "RTX 4090", "model_size": "7b"},
    ),
    Endpoint(
        'POST /math/cost-per-token (gpu_type "A100")',
        "POST",
        "/math/cost-per-token",
        DIFFERENT,
        {"cost_per_token": NUM},
        body={"price_per_hour": 2.5, "gpu_type": "A100", "model_size": "7b"},
    ),
    Endpoint(
        "POST /math/cost-per-gflop",
        "POST",
        "/math/cost-per-gflop",
        SUPERSET,
        {"cost_per_gflop": NUM, "cost_per_tflop_hour": NUM, "gpu_tflops": NUM, "confidence": NUM},
        body={"price_per_hour": 0.7, "gpu_type": "RTX 4090"},
    ),
    Endpoint("POST /math/efficiency-score", "POST", None, DIFFERENT),
    Endpoint(
        "POST /math/topsis",
        "POST",
        "/math/topsis",
        SAME,
        {"rankings": list, "scores": list, "ideal_solution": list, "anti_ideal_solution": list},
        body=TOPSIS_BODY,
    ),
    Endpoint(
        "POST /math/content-similarity",
        "POST",
        None,
        DIFFERENT,
        instead="POST /api/v2/math/ensemble-recommend",
    ),
    Endpoint(
        "POST /math/ensemble-recommend",
        "POST",
        "/math/ensemble-recommend",
        DIFFERENT,
        {
            "recommendations": [
                {
                    "id": str,
                    "provider": str,
                    "ensemble_score": NUM,
                    "score_breakdown": {
                        "topsis": NUM,
                        "collaborative": OPT_NUM,
                        "content_based": OPT_NUM,
                    },
                }
            ],
            "algorithm_contributions": dict,
            "confidence": NUM,
        },
        body={"workload_profile": {}, "candidate_offers": V1_OFFERS, "top_k": 2},
    ),
    Endpoint(
        "POST /math/estimate-workload",
        "POST",
        "/math/estimate-workload",
        SUPERSET,
        {
            "min_vram_gb": NUM,
            "recommended_vram_gb": NUM,
            "recommended_gpu_tiers": list,
            "estimated_cost_range": {"low": NUM, "high": NUM},
            "estimated_time_per_unit": NUM,
            "confidence": NUM,
            "reasoning": list,
        },
        body={"workload_type": "image_generation", "quantity": 1000, "duration_hours": 2},
    ),
    Endpoint(
        "POST /math/map-workload-to-gpu",
        "POST",
        None,
        DIFFERENT,
        instead="POST /api/v2/math/estimate-workload",
    ),
    Endpoint(
        "GET /math/benchmarks",
        "GET",
        "/math/benchmarks",
        DIFFERENT,
        [{"gpu_model": str, "tflops_fp32": NUM, "vram_gb": NUM}],
    ),
    Endpoint(
        "GET /math/benchmarks/{gpu_type}",
        "GET",
        "/math/benchmarks/RTX 4090",
        SUPERSET,
        {
            "gpu_model": str,
            "tflops_fp32": NUM,
            "tflops_fp16": NUM,
            "memory_bandwidth_gbps": NUM,
            "vram_gb": NUM,
            "tokens_per_second_7b": OPT_NUM,
            "source": str,
        },
    ),
    Endpoint("PUT /math/benchmarks/{gpu_type}", "PUT", None, DIFFERENT),
    Endpoint(
        "POST /math/analyze-prices",
        "POST",
        None,
        DIFFERENT,
        instead="GET /api/v2/providers/offers/{id}/history",
    ),
    Endpoint("POST /math/forecast-price", "POST", None, DIFFERENT),
    Endpoint("POST /math/detect-anomaly", "POST", None, DIFFERENT),
    Endpoint("POST /math/compare-providers", "POST", None, DIFFERENT),
    Endpoint("POST /math/mcda-rank", "POST", None, DIFFERENT, instead="POST /api/v2/math/topsis"),
    Endpoint("POST /math/sensitivity-analysis", "POST", None, DIFFERENT),
    Endpoint("GET / and GET /health (math-core)", "GET", None, DIFFERENT, instead="GET /health"),
    # ai-assistant
    Endpoint(
        "POST /ai/chat",
        "POST",
        "/ai/chat",
        DIFFERENT,
        {"reply": str, "sources": NONE, "elapsed_ms": NUM},
        body={"message": "cheapest A100 for inference", "context": {}, "history": []},
        token=True,
    ),
    Endpoint(
        "GET /ai/sessions/{session_id}/history",
        "GET",
        None,
        DIFFERENT,
        instead="GET /api/v2/ai/sessions/{id}/history (owner)",
    ),
    Endpoint("GET /ai/tools", "GET", "/ai/tools", DIFFERENT),
    Endpoint("GET /ai/health", "GET", "/ai/health", DIFFERENT),
    Endpoint(
        "POST /ai/parse-workload",
        "POST",
        "/ai/parse-workload",
        SUPERSET,
        {
            "workload_type": OPT_STR,
            "quantity": OPT_NUM,
            "duration": OPT_NUM,
            "region": OPT_STR,
            "quality": OPT_STR,
        },
        body={"text": "fine-tune a 7B model for 10 hours in us-east"},
    ),
    Endpoint(
        "GET /health (ai-assistant)",
        "GET",
        "/health",
        DIFFERENT,
        {"status": str, "llm_provider": str},
    ),
    # websocket-gateway
    Endpoint("WS /ws", "WS", "/ws", SAME),
    Endpoint(
        "GET /health (websocket-gateway)",
        "GET",
        "/health",
        DIFFERENT,
        {"status": str, "redis": bool, "channel": str},
    ),
]


def _type_name(expected: Any) -> str:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    names = {
        NONE: "null",
        int: "int",
        float: "float",
        str: "string",
        bool: "bool",
        list: "array",
        dict: "object",
    }
    return "|".join(names.get(kind, str(kind)) for kind in kinds)


def shape_problems(value: Any, shape: Any, path: str = "") -> tuple[list[str], bool]:
    """(problems, has_extra_keys) of a JSON value against a v1 shape.

    A problem names the key path: `missing key`, or `<path>: <v1 type> != <v2 type>`.
    """
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{path or 'body'}: object != {type(value).__name__}"], False
        problems: list[str] = []
        extra = bool(set(value) - set(shape))
        for key, sub in shape.items():
            where = f"{path}.{key}" if path else key
            if key not in value:
                problems.append(f"{where}: missing")
                continue
            sub_problems, sub_extra = shape_problems(value[key], sub, where)
            problems += sub_problems
            extra = extra or sub_extra
        return problems, extra
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{path or 'body'}: array != {type(value).__name__}"], False
        if not value:
            return [], False
        return shape_problems(value[0], shape[0], f"{path}[]")
    kinds = shape if isinstance(shape, tuple) else (shape,)
    if value is None and NONE in kinds:
        return [], False
    # JSON numbers: an int is a valid float; a bool is never a number.
    if isinstance(value, bool):
        matches = bool in kinds
    else:
        matches = isinstance(value, kinds) or (float in kinds and isinstance(value, int))
    if matches:
        return [], False
    return [f"{path}: {_type_name(shape)} != {_type_name(type(value))}"], False


@dataclass
class Outcome:
    """What calling one endpoint showed."""

    endpoint: Endpoint
    parity: str
    v2: str
    findings: list[str]


def _v2_label(endpoint: Endpoint) -> str:
    if endpoint.path is None:
        return endpoint.instead
    prefix = "" if endpoint.path in ("/health", "/metrics", "/ws") else "/api/v2"
    return f"{endpoint.method} {prefix}{endpoint.path}"


def _request(client: Client, endpoint: Endpoint, token: str | None) -> Any:
    assert endpoint.path is not None
    url = endpoint.path if endpoint.path in ("/health", "/metrics") else f"/api/v2{endpoint.path}"
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if endpoint.method == "GET":
        return client.get(url, endpoint.query, **headers)
    return client.generic(
        endpoint.method,
        url,
        json.dumps(endpoint.body),
        content_type="application/json",
        **headers,
    )


async def _websocket_opens(path: str) -> bool:
    """A v1 client's socket (no token) is accepted on `path` and gets its first frame."""
    communicator = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, _ = await communicator.connect(timeout=5)
    try:
        return connected and json.loads(await communicator.receive_from(timeout=5))["type"] in (
            "snapshot",
            "heartbeat",
        )
    finally:
        await communicator.disconnect()
        relay = current_relay()
        if relay is not None:
            await relay.stop()
        await sync_to_async(connections.close_all)()


def call(client: Client, endpoint: Endpoint, token: str) -> Outcome:
    """Make the v1 client's request on v2 and compute the parity."""
    label = _v2_label(endpoint)
    if endpoint.path is None:
        return Outcome(endpoint, DIFFERENT, label, ["no such endpoint in v2"])
    if endpoint.method == "WS":
        opened = async_to_sync(_websocket_opens)(endpoint.path)
        return Outcome(
            endpoint, SAME if opened else DIFFERENT, label, [] if opened else ["refused"]
        )
    findings: list[str] = []
    if endpoint.token:
        anonymous = _request(client, endpoint, None)
        assert anonymous.status_code == 401, (endpoint.v1, anonymous.content[:300])
        findings.append("access token required (401 without)")
    response = _request(client, endpoint, token if endpoint.bearer or endpoint.token else None)
    if response.status_code != endpoint.status:
        body = response.json()
        # A v1 input v2 refuses: the SPEC envelope, with `detail` for v1 clients.
        assert body["detail"] == body["error"]["message"], body
        findings.append(f"v1 input refused: {response.status_code} {body['error']['code']}")
        return Outcome(endpoint, DIFFERENT, label, findings)
    content_type = response.headers["Content-Type"]
    assert content_type.startswith(endpoint.content_type), (endpoint.v1, content_type)
    if endpoint.shape is None:
        if endpoint.content_type != "application/json":
            return Outcome(endpoint, DIFFERENT if findings else SAME, label, findings)
        findings.append("v1 passed another service's answer through; v2 answers its own")
        return Outcome(endpoint, DIFFERENT, label, findings)
    problems, extra = shape_problems(response.json(), endpoint.shape)
    findings += problems
    if findings:
        return Outcome(endpoint, DIFFERENT, label, findings)
    return Outcome(endpoint, SUPERSET if extra else SAME, label, findings)


def format_table(outcomes: list[Outcome]) -> list[str]:
    """The parity table as Markdown rows (header first)."""
    lines = ["| v1 endpoint | v2 | parity | what differs |", "|---|---|---|---|"]
    for outcome in outcomes:
        findings = "; ".join(outcome.findings) or "-"
        lines.append(
            f"| `{outcome.endpoint.v1}` | `{outcome.v2}` | {outcome.parity} | {findings} |"
        )
    return lines


def _doc_section(path: Path, heading: str) -> str:
    text = path.read_text()
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else None]


@pytest.fixture
def market(db: Any) -> None:
    """Three providers' recorded responses replayed into the catalogue (demo market off)."""
    gpu_specs_load()
    with override_settings(GPUBROKER_PROVIDER_MODE="replay", GPUBROKER_DEMO_MARKET=False):
        providers_sync_all(names=["vastai", "runpod", "lambda"])


@pytest.mark.django_db(transaction=True)
def test_every_v1_endpoint_keeps_what_v1_clients_read_or_the_difference_is_documented(
    market: None, parity_report: list[str]
) -> None:
    client = Client()
    account = {"email": "parity@example.com", "password": "v1 parity password 1"}
    assert (
        client.post(
            "/api/v2/auth/register", {**account, "full_name": "P"}, content_type="application/json"
        ).status_code
        == 201
    )
    token = client.post("/api/v2/auth/login", account, content_type="application/json").json()[
        "access_token"
    ]

    outcomes = [call(client, endpoint, token) for endpoint in ENDPOINTS]
    table = format_table(outcomes)
    parity_report.extend(table)

    # The claimed parity is what v2 does.
    assert {o.endpoint.v1: o.parity for o in outcomes} == {e.v1: e.claimed for e in ENDPOINTS}
    # Every intentional difference is in docs/migration.md, each differing key named.
    documented = _doc_section(MIGRATION_DOC, "### v1 endpoints in v2")
    rows = {
        match.group(1): line
        for line in documented.splitlines()
        if (match := re.match(r"\| `([^`]+)` \|", line))
    }
    for outcome in outcomes:
        if outcome.parity != DIFFERENT:
            continue
        row = rows.get(outcome.endpoint.v1)
        assert row is not None, f"docs/migration.md lists no {outcome.endpoint.v1}"
        reason = row.rstrip(" |").rsplit("|", 1)[-1].strip()
        assert reason, outcome.endpoint.v1
        for finding in outcome.findings:
            key = finding.split(":", 1)[0]
            if finding.endswith(": missing") or " != " in finding:
                assert f"`{key}`" in row, f"{outcome.endpoint.v1}: `{key}` not named in {row}"
    # docs/verification.md carries this very table.
    assert "\n".join(table) in _doc_section(VERIFICATION_DOC, "## v1 parity")
