"""Every HTTP adapter under provider faults: errors are classified, bad records skipped."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from apps.providers.adapters.contract import AdapterError, FetchResult
from apps.providers.adapters.registry import default_registry
from apps.providers.adapters.replay import replay_credentials

from .conftest import client_for, json_response, recorded_handler, recording


@dataclass(frozen=True)
class Spec:
    """How to break one adapter's main recording."""

    name: str
    file: str
    record: Callable[[Any], dict[str, Any]]  # the record to corrupt (mutable, in place)
    remove_record: Callable[[Any], None]  # the same record, removed
    drop_field: Callable[[dict[str, Any]], None]  # a required field disappears
    set_price: Callable[[dict[str, Any], float], None]  # price in US dollars
    #: The response after a top-level schema change (the list key renamed or gone).
    break_top_level: Callable[[Any], Any]


def _without(payload: dict[str, Any], key: str) -> dict[str, Any]:
    payload.pop(key)
    return payload


def _lambda_first_key(payload: Any) -> str:
    return next(iter(payload["data"]))


def _td_first_key(payload: Any) -> str:
    return next(iter(payload["hostnodes"]))


def _td_set_price(record: dict[str, Any], dollars: float) -> None:
    next(iter(record["specs"]["gpu"].values()))["price"] = dollars


SPECS = [
    Spec(
        "vastai",
        "offers.json",
        lambda p: p["offers"][0],
        lambda p: p["offers"].pop(0),
        lambda r: r.pop("gpu_name"),
        lambda r, v: r.__setitem__("dph_total", v),
        lambda p: _without(p, "offers"),
    ),
    Spec(
        "runpod",
        "offers.json",
        lambda p: p["data"]["gpuTypes"][0],
        lambda p: p["data"]["gpuTypes"].pop(0),
        lambda r: r.pop("displayName"),
        lambda r, v: r.__setitem__("securePrice", v),
        lambda p: {"data": _without(p["data"], "gpuTypes")},
    ),
    Spec(
        "lambda",
        "offers.json",
        lambda p: p["data"][_lambda_first_key(p)],
        lambda p: p["data"].pop(_lambda_first_key(p)),
        lambda r: r["instance_type"].pop("specs"),
        lambda r, v: r["instance_type"].__setitem__("price_cents_per_hour", v * 100),
        lambda p: _without(p, "data"),
    ),
    Spec(
        "verda",
        "instance_types.json",
        lambda p: p[0],
        lambda p: p.pop(0),
        lambda r: r.pop("gpu"),
        lambda r, v: r.__setitem__("price_per_hour", str(v)),
        lambda p: {"instance_types": p},  # the bare list got wrapped
    ),
    Spec(
        "vultr",
        "offers.json",
        lambda p: p["plans"][1],
        lambda p: p["plans"].pop(1),
        lambda r: r.pop("gpu_type"),
        lambda r, v: r.__setitem__("hourly_cost", v),
        lambda p: _without(p, "plans"),
    ),
    Spec(
        "cloudrift",
        "offers.json",
        lambda p: p["data"]["instance_types"][0]["variants"][0],
        lambda p: p["data"]["instance_types"][0]["variants"].pop(0),
        lambda r: r.pop("gpu_count"),
        lambda r, v: r.__setitem__("cost_per_hour", v * 100),
        lambda p: {"data": _without(p["data"], "instance_types")},
    ),
    Spec(
        "tensordock",
        "offers.json",
        lambda p: p["hostnodes"][_td_first_key(p)],
        lambda p: p["hostnodes"].pop(_td_first_key(p)),
        lambda r: r.pop("specs"),
        _td_set_price,
        lambda p: _without(p, "hostnodes"),
    ),
    Spec(
        "shadeform",
        "offers.json",
        lambda p: p["instance_types"][0],
        lambda p: p["instance_types"].pop(0),
        lambda r: r.pop("configuration"),
        lambda r, v: r.__setitem__("hourly_price", v * 100),
        lambda p: _without(p, "instance_types"),
    ),
]
IDS = [spec.name for spec in SPECS]


async def fetch_with(spec: Spec, respond: Callable[[httpx.Request], httpx.Response]) -> FetchResult:
    handler = recorded_handler({(spec.name, spec.file): respond})
    async with client_for(handler) as client:
        adapter = default_registry.get_adapter(spec.name)(client)
        return await adapter.fetch_offers(replay_credentials(spec.name))


async def fetch_payload(spec: Spec, payload: Any) -> FetchResult:
    return await fetch_with(spec, json_response(payload))


async def fetch_error(
    spec: Spec, respond: Callable[[httpx.Request], httpx.Response]
) -> AdapterError:
    with pytest.raises(AdapterError) as caught:
        await fetch_with(spec, respond)
    return caught.value


@pytest.mark.asyncio
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_http_500_is_retryable(spec: Spec) -> None:
    error = await fetch_error(spec, lambda r: httpx.Response(500, text="upstream exploded"))

    assert error.retryable is True
    assert error.kind == "server"
    assert error.status_code == 500
    assert error.provider == spec.name


@pytest.mark.asyncio
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_timeout_is_retryable(spec: Spec) -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    error = await fetch_error(spec, time_out)

    assert (error.retryable, error.kind) == (True, "timeout")


@pytest.mark.asyncio
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_connection_failure_is_retryable(spec: Spec) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    error = await fetch_error(spec, refuse)

    assert (error.retryable, error.kind) == (True, "network")


@pytest.mark.asyncio
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_html_body_is_not_retryable(spec: Spec) -> None:
    html = "<!DOCTYPE html><html><body>Cloudflare: checking your browser</body></html>"
    error = await fetch_error(
        spec, lambda r: httpx.Response(200, text=html, headers={"content-type": "text/html"})
    )

    assert (error.retryable, error.kind) == (False, "bad_payload")


@pytest.mark.asyncio
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_truncated_json_is_not_retryable(spec: Spec) -> None:
    body = json.dumps(recording(spec.name, spec.file))
    truncated = body[: len(body) // 2]
    error = await fetch_error(
        spec,
        lambda r: httpx.Response(
            200, content=truncated.encode(), headers={"content-type": "application/json"}
        ),
    )

    assert (error.retryable, error.kind) == (False, "bad_payload")


@pytest.mark.asyncio
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_missing_top_level_key_is_not_retryable(spec: Spec) -> None:
    payload = spec.break_top_level(recording(spec.name, spec.file))

    with pytest.raises(AdapterError) as caught:
        await fetch_payload(spec, payload)

    assert (caught.value.retryable, caught.value.kind) == (False, "bad_payload")


@pytest.mark.asyncio
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_http_4xx_is_not_retryable(spec: Spec) -> None:
    error = await fetch_error(spec, lambda r: httpx.Response(404, json={"error": "gone"}))

    assert (error.retryable, error.kind, error.status_code) == (False, "client", 404)


async def _expect_only_that_record_skipped(spec: Spec, broken: Any) -> None:
    without = recording(spec.name, spec.file)
    spec.remove_record(without)
    expected = await fetch_payload(spec, without)

    result = await fetch_payload(spec, broken)

    assert result.skipped == 1
    assert len(result.errors) == 1
    assert result.offers == expected.offers
    assert len(result.offers) > 0


@pytest.mark.asyncio
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_record_missing_a_field_is_skipped_and_counted(spec: Spec) -> None:
    payload = recording(spec.name, spec.file)
    spec.drop_field(spec.record(payload))

    await _expect_only_that_record_skipped(spec, payload)


@pytest.mark.asyncio
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@pytest.mark.parametrize("dollars", [-1.0, 10_000_000.0], ids=["negative", "absurd"])
async def test_record_with_bad_price_is_skipped_and_counted(spec: Spec, dollars: float) -> None:
    payload = recording(spec.name, spec.file)
    spec.set_price(spec.record(payload), dollars)

    await _expect_only_that_record_skipped(spec, payload)


@pytest.mark.asyncio
async def test_ten_thousand_vast_bundles_parse() -> None:
    template = recording("vastai")["offers"]
    bundles = []
    for index in range(10_000):
        bundle = copy.copy(template[index % len(template)])
        bundle["id"] = 30_000_000 + index
        bundles.append(bundle)

    result = await fetch_payload(SPECS[0], {"offers": bundles})

    assert len(result.offers) == 10_000
    assert result.skipped == 0
    assert result.offers[-1].external_id == "30009999"


@pytest.mark.asyncio
async def test_errors_list_is_bounded_when_every_record_is_bad() -> None:
    result = await fetch_payload(SPECS[0], {"offers": [{"id": n} for n in range(500)]})

    assert result.offers == ()
    assert result.skipped == 500
    assert len(result.errors) == 20
    assert result.errors[0] == "0: missing field 'gpu_name'"
