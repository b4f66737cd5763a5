"""The `openai` backend against a real loopback server speaking the chat-completions protocol.

The official SDK makes real HTTP requests; the server answers from a script (text, tool
calls, streams, errors, delays) and keeps what it received, so the tests check both what we
send (tools, history, tool results) and what we make of the answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from prometheus_client import REGISTRY

from apps.ai_assistant.models import ChatMessage, ChatSession
from apps.ai_assistant.tests.conftest import (
    TOOL_NAMES,
    Account,
    Api,
    ScriptedServer,
    chunk,
    completion,
    stream,
    tool_call,
)


@pytest.fixture
def use_openai(settings: Any) -> Callable[[ScriptedServer], None]:
    def configure(server: ScriptedServer, *, timeout: float = 10.0) -> None:
        settings.AI_BACKEND = "openai"
        settings.AI_BASE_URL = f"{server.url}/v1"
        settings.AI_API_KEY = "sk-test"
        settings.AI_MODEL = "test-model"
        settings.AI_TIMEOUT_SECONDS = timeout

    return configure


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _nothing_stored() -> None:
    assert ChatSession.objects.count() == 0
    assert ChatMessage.objects.count() == 0


def _bad_gateway(response: Any, reason: str) -> None:
    assert response.status_code == 502, response.content
    error = response.json()["error"]
    assert error["code"] == "BAD_GATEWAY"
    assert error["details"] == {"backend": "openai", "reason": reason}
    assert response.json()["detail"] == error["message"]


def test_a_plain_answer_and_what_the_server_receives(
    api: Api, account: Account, scripted_server: Any, use_openai: Any
) -> None:
    server = scripted_server(completion("Rent an H100."))
    use_openai(server)
    before = _count("gpubroker_ai_chat_requests_total", backend="openai", outcome="ok")
    response = api.post("/chat", {"message": "What should I rent for Llama 3 8B?"}, account)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reply"] == "Rent an H100."
    assert body["backend"] == "openai"
    assert body["model"] == "test-model"
    assert body["recommendations"] == []
    assert body["tool_calls"] == []
    assert body["parsed_workload"]["fields"]["model"]["text"] == "Llama 3 8B"
    [request] = server.received
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["model"] == "test-model"
    assert request.body["tool_choice"] == "auto"
    assert [t["function"]["name"] for t in request.body["tools"]] == TOOL_NAMES
    schema = request.body["tools"][0]["function"]["parameters"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["max_price"]["anyOf"][0]["type"] == "number"
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
    assert request.body["messages"][1]["content"] == "What should I rent for Llama 3 8B?"
    assert _count("gpubroker_ai_chat_requests_total", backend="openai", outcome="ok") == before + 1
    assert ChatMessage.objects.filter(session_id=body["session_id"]).count() == 2


@pytest.mark.usefixtures("market")
def test_recommendations_are_the_offers_a_tool_returned_not_the_model_text(
    api: Api, account: Account, scripted_server: Any, use_openai: Any
) -> None:
    server = scripted_server(
        completion(tool_calls=[tool_call("search_offers", {"gpu": "H100", "limit": 3})]),
        completion("The cheapest H100 costs $0.01/h."),
    )
    use_openai(server)
    body = api.post("/chat", {"message": "cheapest H100?"}, account).json()
    assert body["reply"] == "The cheapest H100 costs $0.01/h."
    [call] = body["tool_calls"]
    assert call["name"] == "search_offers"
    assert call["ok"] is True
    assert call["arguments"] == {"gpu": "H100", "limit": 3}
    assert [offer["id"] for offer in body["recommendations"]] == call["offer_ids"]
    assert len(call["offer_ids"]) == 3
    # The tool result went back to the model as a tool message, with the same offers.
    followup = server.received[1].body["messages"]
    assert followup[-2]["role"] == "assistant"
    assert followup[-2]["tool_calls"][0]["function"]["name"] == "search_offers"
    assert followup[-1]["role"] == "tool"
    assert followup[-1]["tool_call_id"] == "call_1"
    result = json.loads(followup[-1]["content"])
    assert [offer["id"] for offer in result["result"]["offers"]] == call["offer_ids"]
    for offer in body["recommendations"]:
        assert "H100" in offer["gpu"]
        listed = api.client.get(f"/api/v2/providers/offers/{offer['id']}").json()
        assert offer["price_per_hour"] == listed["price_per_hour"] > 0.01


def test_the_last_ten_turns_go_to_the_model(
    api: Api, account: Account, scripted_server: Any, use_openai: Any
) -> None:
    server = scripted_server(completion("ok"))
    use_openai(server)
    session = ChatSession.objects.create(user=account.user, title="long")
    for turn in range(12):
        ChatMessage.objects.create(session=session, role="user", content=f"question {turn}")
        ChatMessage.objects.create(session=session, role="assistant", content=f"answer {turn}")
    response = api.post("/chat", {"message": "next", "session_id": str(session.id)}, account)
    assert response.status_code == 200
    messages = server.received[0].body["messages"]
    assert len(messages) == 1 + 20 + 1
    assert messages[1] == {"role": "user", "content": "question 2"}
    assert messages[-2] == {"role": "assistant", "content": "answer 11"}
    assert messages[-1] == {"role": "user", "content": "next"}


def test_an_unknown_tool_goes_back_as_a_tool_error_and_the_model_answers(
    api: Api, account: Account, scripted_server: Any, use_openai: Any
) -> None:
    server = scripted_server(
        completion(tool_calls=[tool_call("delete_everything", {})]),
        completion("Sorry, I cannot do that."),
    )
    use_openai(server)
    before = _count("gpubroker_ai_tool_calls_total", tool="unknown", outcome="error")
    response = api.post("/chat", {"message": "hi"}, account)
    assert response.status_code == 200
    body = response.json()
    assert body["reply"] == "Sorry, I cannot do that."
    assert body["tool_calls"][0]["ok"] is False
    assert body["tool_calls"][0]["error"].startswith("unknown tool 'delete_everything'")
    sent = json.loads(server.received[1].body["messages"][-1]["content"])
    assert sent == {"ok": False, "error": body["tool_calls"][0]["error"]}
    assert _count("gpubroker_ai_tool_calls_total", tool="unknown", outcome="error") == before + 1


def test_arguments_of_the_wrong_type_go_back_as_a_tool_error(
    api: Api, account: Account, scripted_server: Any, use_openai: Any
) -> None:
    server = scripted_server(
        completion(
            tool_calls=[
                tool_call("search_offers", {"limit": "ten", "max_price": "cheap"}, "call_a"),
                tool_call("get_gpu_specs", "{not json", "call_b"),
            ]
        ),
        completion("Let me try again later."),
    )
    use_openai(server)
    body = api.post("/chat", {"message": "hi"}, account).json()
    assert body["reply"] == "Let me try again later."
    errors = [call["error"] for call in body["tool_calls"]]
    assert errors[0].startswith("invalid arguments: ")
    assert "limit: Input should be a valid integer" in errors[0]
    assert "max_price: Input should be a valid number" in errors[0]
    assert errors[1].startswith("invalid arguments: arguments: Invalid JSON")
    tool_messages = [m for m in server.received[1].body["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_a", "call_b"]


def test_a_model_that_never_stops_calling_tools_is_a_502_and_stores_nothing(
    api: Api, account: Account, scripted_server: Any, use_openai: Any
) -> None:
    server = scripted_server(completion(tool_calls=[tool_call("get_gpu_specs", {"gpu": "H100"})]))
    use_openai(server)
    before = _count("gpubroker_ai_chat_requests_total", backend="openai", outcome="error")
    response = api.post("/chat", {"message": "loop forever"}, account)
    _bad_gateway(response, "tool_loop")
    assert len(server.received) == 6  # five tool rounds, then one request that must answer
    assert [r.body["tool_choice"] for r in server.received] == ["auto"] * 5 + ["none"]
    assert _count("gpubroker_ai_chat_requests_total", backend="openai", outcome="error") == (
        before + 1
    )
    _nothing_stored()


def test_a_backend_timeout_is_a_502_and_the_session_is_unchanged(
    api: Api, account: Account, scripted_server: Any, use_openai: Any
) -> None:
    server = scripted_server(completion("first"), {"delay": 3, **completion("too late")})
    use_openai(server, timeout=0.5)
    first = api.post("/chat", {"message": "one"}, account).json()
    before = _count("gpubroker_ai_chat_requests_total", backend="openai", outcome="timeout")
    response = api.post("/chat", {"message": "two", "session_id": first["session_id"]}, account)
    _bad_gateway(response, "timeout")
    assert _count("gpubroker_ai_chat_requests_total", backend="openai", outcome="timeout") == (
        before + 1
    )
    stored = ChatMessage.objects.filter(session_id=first["session_id"])
    assert [m.content for m in stored.order_by("id")] == ["one", "first"]


def test_a_refused_connection_is_a_502(
    api: Api, account: Account, closed_port: int, settings: Any
) -> None:
    settings.AI_BACKEND = "openai"
    settings.AI_BASE_URL = f"http://127.0.0.1:{closed_port}/v1"
    settings.AI_MODEL = "test-model"
    _bad_gateway(api.post("/chat", {"message": "hello"}, account), "unavailable")
    _nothing_stored()


def test_a_5xx_is_a_502_without_retries(
    api: Api, account: Account, scripted_server: Any, use_openai: Any
) -> None:
    server = scripted_server({"status": 503, "json": {"error": {"message": "overloaded"}}})
    use_openai(server)
    response = api.post("/chat", {"message": "hello"}, account)
    _bad_gateway(response, "unavailable")
    assert "HTTP 503" in response.json()["error"]["message"]
    assert len(server.received) == 1
    _nothing_stored()


@pytest.mark.parametrize(
    "reply",
    [
        {"raw": b"{this is not json"},
        {"json": {"id": "x", "object": "chat.completion", "choices": []}},
        completion(content=""),
    ],
    ids=["malformed-json", "no-choices", "empty-answer"],
)
def test_an_unreadable_answer_is_a_502(
    api: Api, account: Account, scripted_server: Any, use_openai: Any, reply: dict[str, Any]
) -> None:
    use_openai(scripted_server(reply))
    _bad_gateway(api.post("/chat", {"message": "hello"}, account), "bad_response")
    _nothing_stored()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("async_db")
async def test_streaming_forwards_deltas_and_runs_streamed_tool_calls(
    account: Account, scripted_server: Any, use_openai: Any
) -> None:
    arguments = json.dumps({"gpu": "H100 SXM"})
    server = scripted_server(
        {
            "sse": [
                chunk({"role": "assistant", "content": None}),
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_s",
                                "type": "function",
                                "function": {"name": "get_gpu_specs", "arguments": ""},
                            }
                        ]
                    }
                ),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[:8]}}]}),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[8:]}}]}),
                chunk({}, finish="tool_calls"),
            ]
        },
        {
            "sse": [
                chunk({"role": "assistant", "content": "An H100 SXM "}),
                chunk({"content": "has 80 GB."}),
                chunk({}, finish="stop"),
            ]
        },
    )
    use_openai(server)
    response, events = await stream("/chat/stream", {"message": "H100 memory?"}, account)
    assert response.status_code == 200
    assert events[:-1] == [("delta", {"text": "An H100 SXM "}), ("delta", {"text": "has 80 GB."})]
    kind, done = events[-1]
    assert kind == "done"
    assert done["reply"] == "An H100 SXM has 80 GB."
    assert [(c["name"], c["arguments"], c["ok"]) for c in done["tool_calls"]] == [
        ("get_gpu_specs", {"gpu": "H100 SXM"}, True)
    ]
    assert server.received[0].body["stream"] is True
    tool_message = server.received[1].body["messages"][-1]
    assert json.loads(tool_message["content"])["result"]["vram_gb"] == 80
    count = await sync_to_async(ChatMessage.objects.filter(session_id=done["session_id"]).count)()
    assert count == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("async_db")
async def test_a_stream_that_breaks_midway_ends_with_an_error_event_and_stores_nothing(
    account: Account, scripted_server: Any, use_openai: Any
) -> None:
    body = f"data: {json.dumps(chunk({'content': 'Half an '}))}\n\ndata: {{broken\n\n".encode()
    use_openai(scripted_server({"raw": body, "content_type": "text/event-stream"}))
    response, events = await stream("/chat/stream", {"message": "hello"}, account)
    assert response.status_code == 200
    assert events[0] == ("delta", {"text": "Half an "})
    kind, error = events[-1]
    assert kind == "error"
    assert error["error"]["code"] == "BAD_GATEWAY"
    assert error["error"]["details"] == {"backend": "openai", "reason": "bad_response"}
    assert await sync_to_async(ChatMessage.objects.count)() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("async_db")
async def test_a_stream_whose_backend_fails_at_once_is_a_plain_502(
    account: Account, closed_port: int, settings: Any
) -> None:
    settings.AI_BACKEND = "openai"
    settings.AI_BASE_URL = f"http://127.0.0.1:{closed_port}/v1"
    settings.AI_MODEL = "test-model"
    response, events = await stream("/chat/stream", {"message": "hello"}, account)
    assert events == []
    _bad_gateway(response, "unavailable")


def test_health_probes_the_server_for_the_model(
    api: Api, scripted_server: Any, use_openai: Any, closed_port: int, settings: Any
) -> None:
    listed = {
        "object": "list",
        "data": [{"id": "test-model", "object": "model", "created": 0, "owned_by": "me"}],
    }
    use_openai(scripted_server({"json": listed}))
    body = api.get("/health").json()
    assert (body["backend"], body["status"], body["model"]) == ("openai", "ok", "test-model")
    assert body["latency_ms"] >= 0
    use_openai(scripted_server({"json": {"object": "list", "data": []}}))
    assert api.get("/health").json()["status"] == "degraded"
    settings.AI_HEALTH_TIMEOUT_SECONDS = 0.3
    use_openai(scripted_server({"delay": 2, "json": listed}))
    slow = api.get("/health").json()
    assert slow["status"] == "down"
    assert slow["latency_ms"] < 1500
    settings.AI_BASE_URL = f"http://127.0.0.1:{closed_port}/v1"
    assert api.get("/health").json()["status"] == "down"
