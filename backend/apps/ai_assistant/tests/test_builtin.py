"""The builtin backend end to end on the demo market (recordings replayed through the adapters).

No language model: parse, estimate, search, rank, price per token, a templated answer. The
offers it recommends must exist in the listing, hold the estimated memory and respect the
budget, and every figure must come from a tool call the response lists.
"""

from __future__ import annotations

import math
import re
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from apps.ai_assistant.backends.base import ChatRequest
from apps.ai_assistant.backends.builtin import _compose
from apps.ai_assistant.models import ChatMessage, ChatSession
from apps.ai_assistant.parser import parse_workload
from apps.ai_assistant.tests.conftest import Account, Api, stream
from apps.ai_assistant.tool_inputs import ToolCaller

DONE_WHEN = "I need to serve Llama 3 70B in FP8 with 32k context for under $10 an hour"

pytestmark = pytest.mark.usefixtures("market")


def _estimate(body: dict[str, Any]) -> dict[str, Any]:
    calls = [call for call in body["tool_calls"] if call["name"] == "estimate_workload"]
    assert len(calls) == 1
    assert calls[0]["ok"]
    return calls[0]["arguments"]


def _assert_offers_fit(body: dict[str, Any], min_vram_gb: float, max_price: float) -> None:
    client = Client()
    assert body["recommendations"], body["reply"]
    for offer in body["recommendations"]:
        assert offer["gpu_memory_gb"] * offer["gpu_count"] >= min_vram_gb
        assert offer["total_vram_gb"] == offer["gpu_memory_gb"] * offer["gpu_count"]
        assert offer["price_per_hour"] < max_price
        listed = client.get(f"/api/v2/providers/offers/{offer['id']}")
        assert listed.status_code == 200
        assert listed.json()["price_per_hour"] == offer["price_per_hour"]
        assert listed.json()["gpu_count"] * listed.json()["gpu_memory_gb"] >= min_vram_gb


def test_a_70b_fp8_question_gets_offers_that_hold_the_estimate(api: Api, account: Account) -> None:
    response = api.post("/chat", {"message": DONE_WHEN}, account)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["backend"] == "builtin"
    assert body["model"] is None
    assert _estimate(body) == {
        "workload_type": "inference",
        "model_name": "Llama 3 70B",
        "params_billion": 70.0,
        "precision": "fp8",
        "context_length": 32768,
    }
    # The memory the estimate asked for is in the reply, and every recommendation holds it.
    min_vram = float(body["reply"].split("needs about ")[1].split(" GB")[0])
    _assert_offers_fit(body, min_vram, max_price=10.0)
    recommended = [call for call in body["tool_calls"] if call["name"] == "recommend_offers"]
    assert [offer["id"] for offer in body["recommendations"]] == recommended[-1]["offer_ids"]
    assert "$" in body["reply"]
    assert "per million output tokens" in body["reply"]
    assert body["parsed_workload"]["fields"]["budget"]["text"] == "under $10 an hour"
    assert body["parsed_workload"]["quality"] == "medium"
    # The 32k context is sized: fp8 weights (1 byte per parameter) plus a 32,768-token fp16 KV
    # cache (80 layers x 2 x 8 KV heads x 128 x 2 bytes per token) at the least.
    assert min_vram >= 70.55 + 80 * 2 * 8 * 128 * 2 * 32768 / 1e9
    assert "not modelled" not in body["reply"]
    _assert_options_are_listed_offers(body["reply"])


def _assert_options_are_listed_offers(reply: str) -> None:
    """Each "Cheapest GPU options" entry is an offer one can rent: that GPU count, that price."""
    [line] = [text for text in reply.splitlines() if text.startswith("Cheapest GPU options")]
    options = re.findall(r"(\d+)x (.+?) \(from \$([\d,.]+)/h", line)
    assert options
    client = Client()
    for count, gpu, price in options:
        query = urlencode({"gpu": gpu, "gpu_count_min": count, "per_page": 100})
        items = client.get(f"/api/v2/providers?{query}").json()["items"]
        assert any(
            item["gpu_count"] == int(count) and f"{item['price_per_hour']:,.2f}" == price
            for item in items
        ), (gpu, count, price)


def _searches(body: dict[str, Any]) -> list[dict[str, Any]]:
    searches = [call["arguments"] for call in body["tool_calls"] if call["name"] == "search_offers"]
    assert searches
    return searches


@pytest.mark.parametrize("spot_words", ["", ", no spot please", ", spot is fine"])
def test_spot_capable_offers_are_searched_and_quoted_at_their_on_demand_price(
    api: Api, account: Account, spot_words: str
) -> None:
    # `spot: false` in the listing means "no spot option": it would leave out every Vast.ai
    # offer, though each can be rented on-demand at its price_per_hour.
    body = api.post("/chat", {"message": DONE_WHEN + spot_words}, account).json()
    assert all("spot" not in arguments for arguments in _searches(body))
    min_vram = float(body["reply"].split("needs about ")[1].split(" GB")[0])
    _assert_offers_fit(body, min_vram, max_price=10.0)

    client = Client()
    found = {
        offer_id
        for call in body["tool_calls"]
        if call["name"] == "search_offers"
        for offer_id in call["offer_ids"]
    }
    listed = [client.get(f"/api/v2/providers/offers/{offer_id}").json() for offer_id in found]
    holding = [item for item in listed if item["gpu_count"] * item["gpu_memory_gb"] >= min_vram]
    cheapest = min(holding, key=lambda item: (item["price_per_hour"], item["id"]))
    # The cheapest on-demand offer that holds the workload can also run as spot, at another
    # price; it is recommended and quoted at its on-demand price.
    assert cheapest["spot"] is True
    assert cheapest["spot_price_per_hour"] not in (None, cheapest["price_per_hour"])
    assert cheapest["id"] in {offer["id"] for offer in body["recommendations"]}
    assert f": ${cheapest['price_per_hour']:,.2f}/h for " in body["reply"]
    assert f"${cheapest['spot_price_per_hour']:,.2f}/h" not in body["reply"]
    assert "Prices are current on-demand hourly prices" in body["reply"]


def test_a_spot_filter_the_client_sets_is_applied_as_the_listing_reads_it(
    api: Api, account: Account
) -> None:
    request = {"message": DONE_WHEN, "context": {"filters": {"spot": False}}}
    body = api.post("/chat", request, account).json()
    assert all(arguments["spot"] is False for arguments in _searches(body))
    assert all(offer["spot"] is False for offer in body["recommendations"])
    assert "without a spot option" in body["reply"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("async_db")
async def test_the_same_answer_streams_as_server_sent_events(account: Account) -> None:
    response, events = await stream("/chat/stream", {"message": DONE_WHEN}, account)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["X-Accel-Buffering"] == "no"  # nginx passes each event on at once
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done"
    assert set(kinds[:-1]) == {"delta"}
    assert len(kinds) > 2
    done = events[-1][1]
    assert "".join(data["text"] for kind, data in events[:-1]) == done["reply"]
    min_vram = float(done["reply"].split("needs about ")[1].split(" GB")[0])
    await sync_to_async(_assert_offers_fit)(done, min_vram, 10.0)
    stored = await sync_to_async(list)(
        ChatMessage.objects.filter(session_id=done["session_id"])
        .order_by("id")
        .values_list("role", "content")
    )
    assert stored == [("user", DONE_WHEN), ("assistant", done["reply"])]


def test_a_missing_model_gets_a_question_and_no_offers(api: Api, account: Account) -> None:
    body = api.post("/chat", {"message": "I want to serve something under $3/hour"}, account).json()
    assert body["reply"].endswith("?")
    assert "Which model" in body["reply"]
    assert body["recommendations"] == []
    assert body["tool_calls"] == []
    assert body["parsed_workload"]["missing"] == ["model"]


def test_an_answer_to_the_question_keeps_the_first_message(api: Api, account: Account) -> None:
    first = api.post("/chat", {"message": "serve a model in fp8 under $6/hour"}, account).json()
    assert first["reply"].endswith("?")
    second = api.post(
        "/chat", {"message": "Qwen2 72B", "session_id": first["session_id"]}, account
    ).json()
    assert _estimate(second)["precision"] == "fp8"
    assert "Carried over from your earlier message" in second["reply"]
    min_vram = float(second["reply"].split("needs about ")[1].split(" GB")[0])
    _assert_offers_fit(second, min_vram, max_price=6.0)


def test_a_registry_model_without_a_size_in_the_question_is_sized(
    api: Api, account: Account
) -> None:
    body = api.post("/chat", {"message": "serve qwen2.5-72b-instruct"}, account).json()
    [estimate] = [call for call in body["tool_calls"] if call["name"] == "estimate_workload"]
    assert estimate["ok"] is True
    assert body["recommendations"]
    min_vram = float(body["reply"].split("needs about ")[1].split(" GB")[0])
    assert min_vram >= 72.71 * 2  # Qwen2.5 72B's 72.71B parameters in fp16
    for offer in body["recommendations"]:
        assert offer["total_vram_gb"] >= min_vram - 0.1


def test_exclusions_region_and_budget_are_applied(api: Api, account: Account) -> None:
    message = "serve Mixtral 8x7B in Germany, no consumer cards, under $6/hour"
    body = api.post("/chat", {"message": message}, account).json()
    searches = _searches(body)
    assert all(arguments["countries"] == ["DE"] for arguments in searches)
    assert all(arguments["max_price"] == 6.0 for arguments in searches)
    assert not any(arguments.get("gpu", "").startswith("RTX 3") for arguments in searches)
    for offer in body["recommendations"]:
        assert offer["region"].endswith("DE") or offer["region"] in ("fra", "FRA")
        assert offer["price_per_hour"] < 6.0
        assert not offer["gpu"].startswith(("RTX 3", "RTX 4", "RTX 5"))


def test_the_conversation_is_stored_and_readable_by_its_owner_only(
    api: Api, account: Account, make_account: Any
) -> None:
    body = api.post("/chat", {"message": DONE_WHEN}, account).json()
    session = ChatSession.objects.get(id=body["session_id"])
    assert session.user_id == account.user.pk
    assert session.title == DONE_WHEN
    history = api.get(f"/sessions/{body['session_id']}/history?limit=10", account).json()
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]
    assert history["messages"][1]["recommendations"] == body["recommendations"]
    other = make_account()
    response = api.get(f"/sessions/{body['session_id']}/history", other)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    reply = api.post("/chat", {"message": "hello", "session_id": body["session_id"]}, other)
    assert reply.status_code == 404
    assert ChatMessage.objects.filter(session_id=body["session_id"]).count() == 2


def _listing(**filters: Any) -> list[dict[str, Any]]:
    query = urlencode({"availability": "available", "per_page": 100, **filters})
    response = Client().get(f"/api/v2/providers?{query}")
    assert response.status_code == 200, response.content
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _min_vram(body: dict[str, Any]) -> float:
    return float(body["reply"].split("needs about ")[1].split(" GB")[0])


def test_a_continent_is_searched_as_the_listing_macro_region(api: Api, account: Account) -> None:
    # Europe's 32 countries were over the `countries` limit of 30: every search failed and
    # the answer said no offer held it, while the listing's region=Europe has many.
    body = api.post(
        "/chat", {"message": "I want to run Llama 3 70B in Europe under $3/h"}, account
    ).json()
    assert all(call["ok"] for call in body["tool_calls"]), body["tool_calls"]
    assert all(
        arguments["region"] == "Europe" and "countries" not in arguments
        for arguments in _searches(body)
    )
    min_vram = _min_vram(body)
    listed = _listing(
        region="Europe", gpu_memory_total_min=math.ceil(min_vram), max_price=3, sort="price"
    )
    assert listed
    assert all(item["macro_region"] == "Europe" for item in listed)
    assert len(body["recommendations"]) == 3
    listed_ids = {item["id"] for item in listed}
    assert {offer["id"] for offer in body["recommendations"]} <= listed_ids
    found = {
        i
        for call in body["tool_calls"]
        if call["name"] == "search_offers"
        for i in call["offer_ids"]
    }
    assert listed[0]["id"] in found
    assert "in Europe" in body["reply"]
    _assert_offers_fit(body, min_vram, max_price=3.0)


def test_a_search_that_fails_is_said_and_the_options_are_labelled_estimates() -> None:
    # The chat API validates `context.filters` as the tool does; a request built here skips it,
    # as the 32 countries of "Europe" once did, so every search fails.
    message = "serve Llama 3 70B"
    answer = _compose(
        ChatRequest(
            message=message,
            parsed=parse_workload(message),
            session_id=uuid.uuid4(),
            caller=ToolCaller(),
            context={"filters": {"provider": "x" * 101}},
        )
    )
    assert answer.offers == []
    assert "Note: The offer search failed: invalid arguments: provider:" in answer.text
    assert "Cheapest GPU options" not in answer.text
    assert "estimated at the cheapest price per GPU times the GPUs needed" in answer.text


def test_a_cheap_request_lists_real_offers_and_recommends_by_price(
    api: Api, account: Account
) -> None:
    body = api.post("/chat", {"message": "I need a cheap GPU for a 70B model"}, account).json()
    reply = body["reply"]
    assert reply.startswith("A 70B model in fp16 needs about ")
    min_vram = _min_vram(body)
    _assert_options_are_listed_offers(reply)
    [line] = [text for text in reply.splitlines() if text.startswith("Cheapest GPU options")]
    prices = [float(price) for price in re.findall(r"from \$([\d.]+)/h", line)]
    assert prices == sorted(prices)
    # One MI300X holds a 70B model in fp16; it used to be left out, its estimated tier being
    # dearer than six tiers (16x RTX 3060, 8x RTX A5000, ...) that no offer sells.
    assert "1x MI300X (from $" in line
    holding = _listing(gpu_memory_total_min=math.ceil(min_vram), sort="price")
    recommended = [offer["price_per_hour"] for offer in body["recommendations"]]
    assert recommended == sorted(recommended)
    assert body["recommendations"][0]["price_per_hour"] == holding[0]["price_per_hour"]
    assert "You asked for cheap: these are the cheapest offers, by price." in reply
    _assert_offers_fit(body, min_vram, max_price=1_000.0)


def _quoted_costs(reply: str) -> list[float]:
    """The $/M tokens of each numbered offer line, in order."""
    return [
        float(cost.replace(",", ""))
        for cost in re.findall(r"about \$([\d,.]+) per million output tokens", reply)
    ]


@pytest.mark.parametrize(
    ("message", "model_id", "precision"),
    [
        ("serve deepseek-v3 in fp8 in the EU", "deepseek-v3", "fp8"),
        ("serve mixtral 8x7b at fp16 in the US", "mixtral-8x7b", "fp16"),
        ("serve Llama 3 70B in FP8 under $10 an hour", "llama-3-70b", "fp8"),
    ],
)
def test_the_token_cost_of_a_registry_model_is_the_listings(
    api: Api, account: Account, message: str, model_id: str, precision: str
) -> None:
    # A mixture of experts priced as a dense model of its total size (671b, 46.7b) cost 4x
    # the listing's figure for the same offer, model and precision.
    body = api.post("/chat", {"message": message}, account).json()
    costs = _quoted_costs(body["reply"])
    assert body["recommendations"], body["reply"]
    assert len(costs) == len(body["recommendations"])
    for offer, cost in zip(body["recommendations"], costs, strict=True):
        listed = _listing(gpu=offer["gpu"], model=model_id, precision=precision)
        [item] = [item for item in listed if item["id"] == offer["id"]]
        assert item["cost_basis"]["model"] == model_id
        assert (offer["id"], round(item["cost_per_million_tokens"], 2)) == (offer["id"], cost)
    priced = [call for call in body["tool_calls"] if call["name"] == "cost_per_token"]
    assert {call["arguments"]["model_size"] for call in priced} == {model_id}


def test_a_model_known_only_by_its_size_is_priced_by_its_size(api: Api, account: Account) -> None:
    body = api.post("/chat", {"message": "serve a 13B model in fp16"}, account).json()
    priced = [call for call in body["tool_calls"] if call["name"] == "cost_per_token"]
    assert priced
    assert {call["arguments"]["model_size"] for call in priced} == {"13b"}


def test_training_without_tokens_or_hours_asks_for_them_in_plain_words(
    api: Api, account: Account
) -> None:
    message = "fine-tune llama 3 8b with a budget of $500 in total"
    body = api.post("/chat", {"message": message}, account).json()
    assert body["reply"] == (
        "To size how to fine-tune llama 3 8b I need the amount of work and the time it may "
        "take. So far I have: a budget of $500 in total. How many training tokens (dataset "
        "tokens \u00d7 epochs), and in how many hours should it finish?"
    )
    assert body["tool_calls"] == []
    second = api.post(
        "/chat", {"message": "50M tokens", "session_id": body["session_id"]}, account
    ).json()
    assert second["reply"].endswith("In how many hours should it finish?")
    assert "duration_hours" not in second["reply"]
    third = api.post(
        "/chat", {"message": "in 6 hours", "session_id": body["session_id"]}, account
    ).json()
    assert _estimate(third)["quantity"] == 50_000_000
    assert _estimate(third)["duration_hours"] == 6


def test_answers_name_places_and_no_api_fields(api: Api, account: Account) -> None:
    body = api.post("/chat", {"message": DONE_WHEN}, account).json()
    reply = body["reply"]
    assert "`" not in reply
    assert "recommendations" not in reply
    for offer in body["recommendations"]:
        [item] = [item for item in _listing(gpu=offer["gpu"]) if item["id"] == offer["id"]]
        parts = [item[key] for key in ("city", "state", "country") if item[key]]
        place = ", ".join(parts) or item["region"]
        assert f" at {offer['provider']} ({place}): " in reply
        assert offer["location"] == place
    assert any(offer["location"] != offer["region"] for offer in body["recommendations"])


def _composed(message: str) -> Any:
    return _compose(
        ChatRequest(
            message=message,
            parsed=parse_workload(message),
            session_id=uuid.uuid4(),
            caller=ToolCaller(),
        )
    )


def test_the_options_of_a_deadline_have_the_gpus_it_needs() -> None:
    # One RTX 3060 holds SDXL but takes far longer than 3 hours for 10,000 images: the
    # options line offered it while the searches asked for 7 to 10 GPUs.
    answer = _composed("generate 10,000 images with SDXL in 3 hours")
    [estimate] = [outcome for outcome in answer.outcomes if outcome.name == "estimate_workload"]
    assert estimate.result is not None
    needed = {tier["gpu_model"]: tier["gpus_needed"] for tier in estimate.result["tiers"]}
    assert max(needed.values()) > 1
    [line] = [text for text in answer.text.splitlines() if text.startswith("Cheapest GPU")]
    options = re.findall(r"(\d+)x (.+?) \(from \$", line)
    assert options
    for count, gpu in options:
        assert int(count) >= needed[gpu], (gpu, count, needed[gpu])
    for offer in answer.offers:
        assert offer["gpu_count"] >= needed[offer["gpu"]]


def test_a_gpu_without_the_precision_is_said_to_fall_back() -> None:
    # fp8 on a V100 (Volta: no fp8 tensor cores) was recommended without a word.
    answer = _composed("serve Llama 3 8B in fp8 on a V100")
    assert answer.offers
    for gpu in {offer["gpu"] for offer in answer.offers}:
        assert gpu.startswith("V100")
        assert (
            f"Note: On {gpu}, fp8 falls back (no fp8 tensor cores: weight-only fp8, matmuls in "
            "fp16); its $/M tokens are priced so." in answer.text
        )
    hopper = _composed("serve Llama 3 8B in fp8 on an H100")
    assert hopper.offers
    assert "falls back" not in hopper.text
