"""The `somaagent` backend against a real loopback server speaking v1's agent protocol."""

from __future__ import annotations

from typing import Any

import pytest

from apps.ai_assistant.models import ChatMessage, ChatSession
from apps.ai_assistant.tests.conftest import Account, Api, Received, ScriptedServer
from apps.providers.models import GPUOffer


@pytest.fixture
def use_agent(settings: Any) -> Any:
    def configure(server: ScriptedServer | None = None, *, url: str = "", timeout: float = 10.0):
        settings.AI_BACKEND = "somaagent"
        settings.SOMA_AGENT_URL = server.url if server else url
        settings.AI_TIMEOUT_SECONDS = timeout

    return configure


def test_the_message_history_session_and_tenant_reach_the_agent(
    api: Api, account: Account, scripted_server: Any, use_agent: Any
) -> None:
    server = scripted_server({"json": {"content": "first answer"}}, {"json": {"reply": "second"}})
    use_agent(server)
    first = api.post("/chat", {"message": "hello agent"}, account).json()
    assert first["reply"] == "first answer"
    assert first["backend"] == "somaagent"
    second = api.post(
        "/chat",
        {
            "message": "and then?",
            "session_id": first["session_id"],
            "context": {"filters": {"region": "DE"}},
        },
        account,
    ).json()
    assert second["reply"] == "second"  # v1 agents answer `reply` or `content`
    request = server.received[1]
    assert request.path == "/v1/llm/invoke"
    tenant = str(account.user.tenant_id)
    assert request.body["tenant"] == tenant
    assert request.headers["x-tenant-id"] == tenant
    assert request.body["session_id"] == first["session_id"]
    assert request.body["messages"] == [
        {"role": "system", "content": 'Client context: {"filters": {"region": "DE"}}'},
        {"role": "user", "content": "hello agent"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "and then?"},
    ]
    assert ChatMessage.objects.filter(session_id=first["session_id"]).count() == 4


def test_offers_the_agent_names_come_from_our_catalogue(
    api: Api, account: Account, scripted_server: Any, use_agent: Any, market: None
) -> None:
    offer = GPUOffer.objects.filter(gpu_model="H100 SXM").order_by("price_per_hour").first()
    assert offer is not None

    def answer(request: Received) -> dict[str, Any]:
        return {
            "json": {
                "content": "Take this one.",
                "recommendations": [
                    {"offer_id": str(offer.id), "price_per_hour": 0.0001},
                    {"id": "00000000-0000-0000-0000-000000000000"},
                    {"id": "not a uuid"},
                ],
            }
        }

    use_agent(scripted_server(answer))
    body = api.post("/chat", {"message": "which H100?"}, account).json()
    [recommended] = body["recommendations"]
    assert recommended["id"] == str(offer.id)
    assert recommended["price_per_hour"] == float(offer.price_per_hour)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ({"status": 500, "json": {"detail": "boom"}}, "unavailable"),
        ({"raw": b"<html>gateway</html>"}, "bad_response"),
        ({"json": {"answer": "wrong key"}}, "bad_response"),
        ({"json": ["not", "an", "object"]}, "bad_response"),
        ({"delay": 3, "json": {"content": "late"}}, "timeout"),
    ],
    ids=["5xx", "html", "no-content", "not-an-object", "timeout"],
)
def test_agent_faults_are_a_502_and_store_nothing(
    api: Api,
    account: Account,
    scripted_server: Any,
    use_agent: Any,
    reply: dict[str, Any],
    reason: str,
) -> None:
    use_agent(scripted_server(reply), timeout=0.5)
    response = api.post("/chat", {"message": "hello"}, account)
    assert response.status_code == 502
    assert response.json()["error"]["details"] == {"backend": "somaagent", "reason": reason}
    assert ChatSession.objects.count() == 0


def test_a_refused_connection_is_a_502(
    api: Api, account: Account, use_agent: Any, closed_port: int
) -> None:
    use_agent(url=f"http://127.0.0.1:{closed_port}")
    response = api.post("/chat", {"message": "hello"}, account)
    assert response.status_code == 502
    assert response.json()["error"]["details"]["reason"] == "unavailable"


def test_health_tools_and_history_pass_the_agent_through(
    api: Api, account: Account, scripted_server: Any, use_agent: Any
) -> None:
    def route(request: Received) -> dict[str, Any]:
        if request.path == "/v1/health":
            return {"json": {"status": "healthy"}}
        if request.path == "/v1/tools":
            return {"json": {"tools": [{"name": "web_search"}]}}
        if request.path.startswith("/v1/sessions/"):
            return {"json": {"messages": [{"role": "user", "content": "remembered"}]}}
        return {"json": {"content": "hi"}}

    server = scripted_server(route)
    use_agent(server)
    health = api.get("/health").json()
    assert health["backend"] == "somaagent"
    assert health["status"] == "ok"
    assert health["agent_configured"] is True
    tools = api.get("/tools").json()
    assert tools["agent_tools"] == {"tools": [{"name": "web_search"}]}
    assert len(tools["tools"]) == 6
    session_id = api.post("/chat", {"message": "hello"}, account).json()["session_id"]
    history = api.get(f"/sessions/{session_id}/history?limit=5", account).json()
    assert history["agent_history"] == {"messages": [{"role": "user", "content": "remembered"}]}
    assert [m["content"] for m in history["messages"]] == ["hello", "hi"]
    assert server.received[-1].path == f"/v1/sessions/{session_id}/history?limit=5"
    assert server.received[-1].headers["x-tenant-id"] == str(account.user.tenant_id)


def test_health_reports_an_unhealthy_or_absent_agent(
    api: Api, scripted_server: Any, use_agent: Any, closed_port: int
) -> None:
    use_agent(scripted_server({"json": {"status": "degraded"}}))
    body = api.get("/health").json()
    assert body["status"] == "degraded"
    assert body["detail"] == "the agent reports 'degraded'"
    use_agent(url=f"http://127.0.0.1:{closed_port}")
    assert api.get("/health").json()["status"] == "down"
