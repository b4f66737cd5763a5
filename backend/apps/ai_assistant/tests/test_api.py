"""The /ai endpoints' contract: validation, auth, ownership, limits, tools, health, metrics."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from prometheus_client import REGISTRY

from apps.ai_assistant.models import ChatMessage, ChatSession
from apps.ai_assistant.tests.conftest import TOOL_NAMES, Account, Api, stream
from apps.auth_app.models import Plan


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] == code
    assert body["detail"] == body["error"]["message"]
    return body


@pytest.mark.parametrize(
    "message", ["", "   \n ", "x" * 4001], ids=["empty", "blank", "4001-chars"]
)
def test_a_message_outside_1_to_4000_characters_is_a_422(
    api: Api, account: Account, message: str
) -> None:
    for path in ("/chat", "/chat/stream"):
        body = _error(api.post(path, {"message": message}, account), 422, "VALIDATION_ERROR")
        assert "message" in body["error"]["details"]["fields"]
    assert ChatSession.objects.count() == 0


def test_a_4000_character_message_is_answered(api: Api, account: Account) -> None:
    response = api.post("/chat", {"message": "x" * 4000}, account)
    assert response.status_code == 200
    assert ChatMessage.objects.get(role="user").content == "x" * 4000


@pytest.mark.parametrize(
    "body",
    [
        {"message": "hi", "session_id": "not-a-uuid"},
        {"message": 12},
        {"message": "hi", "context": {"filters": {"max_price": -1}}},
        {"message": "hi", "context": "nope"},
    ],
)
def test_malformed_chat_bodies_are_a_422(api: Api, account: Account, body: Any) -> None:
    _error(api.post("/chat", body, account), 422, "VALIDATION_ERROR")


def test_chat_needs_a_token(api: Api) -> None:
    for path in ("/chat", "/chat/stream"):
        _error(api.post(path, {"message": "hi"}), 401, "UNAUTHORIZED")
    _error(api.get("/sessions/00000000-0000-0000-0000-000000000000/history"), 401, "UNAUTHORIZED")


def test_an_unknown_session_is_a_404(api: Api, account: Account) -> None:
    missing = "5b0a4f8e-8f0e-4c3e-9c53-1d3c0f9f1a11"
    _error(api.post("/chat", {"message": "hi", "session_id": missing}, account), 404, "NOT_FOUND")
    _error(api.get(f"/sessions/{missing}/history", account), 404, "NOT_FOUND")
    assert ChatSession.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("async_db")
async def test_a_stream_for_another_users_session_is_a_plain_404(
    make_account: Any,
) -> None:
    from asgiref.sync import sync_to_async

    owner, other = await sync_to_async(make_account)(), await sync_to_async(make_account)()
    _, events = await stream("/chat/stream", {"message": "hello"}, owner)
    session_id = events[-1][1]["session_id"]
    response, events = await stream(
        "/chat/stream", {"message": "mine now", "session_id": session_id}, other
    )
    assert events == []
    _error(response, 404, "NOT_FOUND")


def test_history_returns_the_last_messages_oldest_first(api: Api, account: Account) -> None:
    session_id = api.post("/chat", {"message": "first"}, account).json()["session_id"]
    for text in ("second", "third"):
        api.post("/chat", {"message": text, "session_id": session_id}, account)
    body = api.get(f"/sessions/{session_id}/history?limit=3", account).json()
    assert [m["role"] for m in body["messages"]] == ["assistant", "user", "assistant"]
    assert body["messages"][1]["content"] == "third"
    assert body["title"] == "first"
    for limit in ("0", "201", "many"):
        _error(
            api.get(f"/sessions/{session_id}/history?limit={limit}", account),
            422,
            "VALIDATION_ERROR",
        )


def test_the_chat_limit_is_per_plan_per_minute(api: Api, make_account: Any, settings: Any) -> None:
    settings.AI_CHAT_RATE_LIMIT_PER_MINUTE = {"free": 2, "pro": 4, "enterprise": 8}
    free, pro = make_account(), make_account(plan=Plan.PRO)
    labels = {"backend": "builtin", "outcome": "rate_limited"}
    before = REGISTRY.get_sample_value("gpubroker_ai_chat_requests_total", labels) or 0.0
    statuses = [api.post("/chat", {"message": "hi"}, free).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = api.post("/chat/stream", {"message": "hi"}, free)
    body = _error(refused, 429, "RATE_LIMITED")
    assert body["error"]["details"] == {"limit_per_minute": 2}
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Limit"] == "2"
    assert [api.post("/chat", {"message": "hi"}, pro).status_code for _ in range(5)] == [
        200,
        200,
        200,
        200,
        429,
    ]
    assert REGISTRY.get_sample_value("gpubroker_ai_chat_requests_total", labels) == before + 3
    assert ChatMessage.objects.filter(role="user").count() == 6


def test_parse_workload_takes_an_optional_token(api: Api, account: Account) -> None:
    text = "fine-tune llama 3 8b on 1B tokens for 3 hours in Germany"
    anonymous = api.post("/parse-workload", {"text": text})
    assert anonymous.status_code == 200
    body = anonymous.json()
    assert body["workload_type"] == "fine_tuning"
    assert body["duration"] == 3.0
    assert body["region"] == "Germany"
    assert body["quantity"] == 1e9
    assert body["fields"]["model"] == {
        "value": {
            "name": "llama 3 8b",
            "family": "Llama",
            "params_billion": 8.0,
            "active_params_billion": None,
        },
        "start": 10,
        "end": 20,
        "text": "llama 3 8b",
    }
    assert body["missing"] == []
    assert api.post("/parse-workload", {"text": text}, account).json() == body
    bad_token = Client().post(
        "/api/v2/ai/parse-workload",
        {"text": text},
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer nope",
    )
    _error(bad_token, 401, "UNAUTHORIZED")
    _error(api.post("/parse-workload", {"text": ""}), 422, "VALIDATION_ERROR")


def test_tools_are_listed_with_their_json_schemas(api: Api) -> None:
    body = api.get("/tools").json()
    assert body["backend"] == "builtin"
    assert [tool["name"] for tool in body["tools"]] == TOOL_NAMES
    for tool in body["tools"]:
        assert tool["description"]
        assert tool["input_schema"]["type"] == "object"
        assert tool["input_schema"]["additionalProperties"] is False
    recommend = body["tools"][2]["input_schema"]
    assert recommend["required"] == ["offer_ids"]
    assert recommend["properties"]["offer_ids"]["items"] == {"format": "uuid", "type": "string"}
    assert body["agent_tools"] is None


@pytest.mark.usefixtures("market")
def test_health_of_the_builtin_backend_with_a_market(api: Api) -> None:
    body = api.get("/health").json()
    assert body["backend"] == "builtin"
    assert body["status"] == "ok"
    assert body["model"] is None
    assert body["agent_configured"] is False
    assert 0 <= body["latency_ms"] < 2000


def test_health_of_the_builtin_backend_without_offers(api: Api, db: None) -> None:
    body = api.get("/health").json()
    assert body["status"] == "degraded"
    assert body["detail"] == "no available offers to recommend"


def test_a_misconfigured_backend_is_reported_everywhere(
    api: Api, account: Account, settings: Any
) -> None:
    settings.AI_BACKEND = "openai"
    settings.AI_MODEL = ""
    health = api.get("/health").json()
    assert health["status"] == "down"
    assert health["detail"] == "AI_BACKEND=openai needs AI_MODEL (the model name the server serves)"
    _error(api.post("/chat", {"message": "hi"}, account), 503, "SERVICE_UNAVAILABLE")
    settings.AI_BACKEND = "gpt"
    with pytest.raises(SystemCheckError, match="AI_BACKEND must be one of builtin, openai"):
        call_command("check")


def test_metrics_are_exported(api: Api, account: Account) -> None:
    api.post("/chat", {"message": "hello"}, account)
    text = Client().get("/metrics").content.decode()
    assert 'gpubroker_ai_chat_requests_total{backend="builtin",outcome="ok"}' in text
    assert 'gpubroker_ai_chat_duration_seconds_count{backend="builtin"}' in text
    assert "# TYPE gpubroker_ai_tool_calls_total counter" in text
